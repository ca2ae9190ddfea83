//! A node type made of a spec and a build function.

use std::sync::Arc;
use tessera_core::{BuildArgs, BuildError, Node, NodeKind, NodeSpec};

type BuildFn = Box<dyn Fn(&BuildArgs) -> Result<Box<dyn Node>, BuildError> + Send + Sync>;

struct Kind {
    spec: NodeSpec,
    build: BuildFn,
}

impl NodeKind for Kind {
    fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    fn build(&self, args: &BuildArgs) -> Result<Box<dyn Node>, BuildError> {
        (self.build)(args)
    }
}

/// A node type from its spec and a function building an instance.
pub fn kind(
    spec: NodeSpec,
    build: impl Fn(&BuildArgs) -> Result<Box<dyn Node>, BuildError> + Send + Sync + 'static,
) -> Arc<dyn NodeKind> {
    Arc::new(Kind {
        spec,
        build: Box::new(build),
    })
}
