//! A node type made of a spec and a build function.

use std::sync::Arc;
use tessera_core::{BuildArgs, BuildError, InputSpec, Node, NodeKind, NodeSpec, Value, ValueType};

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

/// The values a string input may name: its names go into the spec's
/// `choices` (so the compiler rejects others, with a did-you-mean), and a
/// built node picks its value from the same table.
pub struct Choices<T: 'static>(pub &'static [(&'static str, T)]);

impl<T: Copy> Choices<T> {
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|(name, _)| *name).collect()
    }

    /// A string input naming one of these values; `default` must be one.
    pub fn input(&self, name: &str, default: &str, doc: &str) -> InputSpec {
        debug_assert!(self.names().contains(&default), "{default} is not a choice");
        InputSpec::fixed(name, ValueType::String, Value::String(default.into()), doc)
            .choices(&self.names())
    }

    /// The value that input `input` names. The compiler has checked the
    /// name; a node built some other way gets an error, not a panic.
    pub fn pick(&self, args: &BuildArgs, input: &str) -> Result<T, BuildError> {
        let name = args.string(input);
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                BuildError::at_input(
                    input,
                    format!("{name:?} is not one of {}", self.names().join(", ")),
                )
            })
    }
}
