//! The Node trait, how nodes are built, and their errors.

use crate::{Buffer, NodeSpec, TileCtx, Value, ValueType};
use std::path::Path;
use std::sync::Arc;

/// A node instance, ready to evaluate tiles. Built once per scene node by its
/// [`NodeKind`]; called from many threads at once.
pub trait Node: Send + Sync {
    /// Pixels the node reads beyond its tile on every side (a blur radius).
    fn halo(&self) -> u32 {
        0
    }

    /// Evaluates one tile: `inputs` holds the node's varying inputs in spec
    /// order, each covering `ctx.rect` grown by [`Node::halo`]; `outputs`
    /// holds one buffer per output covering `ctx.rect`, to be filled.
    fn eval_tile(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError>;

    /// What to tell the user once the render is over (samples a node failed
    /// on and painted, say), if anything.
    fn report(&self) -> Option<String> {
        None
    }

    /// The files the node reads (a texture, a script), so that a render
    /// never writes its image over one of them, and a render farm ships
    /// them with the scene.
    fn files_read(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    /// How many tiles at a time the node hands to another process per core
    /// the render computes on, where its evaluations mostly wait for that
    /// process (a Python node in a worker process); 0, the default, where
    /// they compute on the calling thread. The renderer then runs that many
    /// threads per core, each waiting inside [`TileCtx::while_waiting`], so
    /// that the other process has its next tiles queued while the render
    /// process is busy elsewhere.
    ///
    /// [`TileCtx::while_waiting`]: crate::TileCtx::while_waiting
    fn tiles_elsewhere(&self) -> usize {
        0
    }

    /// How the renderer must schedule the node's evaluations.
    fn evaluation(&self) -> Evaluation {
        Evaluation::Tiled
    }

    /// Whether the node may record samples it failed on
    /// ([`TileCtx::record_failure`]) for the renderer to paint, rather than
    /// fail: the image then keeps every RGBA channel, for the paint.
    ///
    /// [`TileCtx::record_failure`]: crate::TileCtx::record_failure
    fn paints_failures(&self) -> bool {
        false
    }
}

/// How a node's evaluations are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluation {
    /// Tile by tile, on any thread, in any order: the node's pixels do not
    /// depend on which pixels it is asked for together, or when.
    Tiled,
    /// Once, on one thread, over the whole image grown by the node's margin
    /// (rows from the top, each from the left), before anything reads it:
    /// the node's pixels depend on the order of its calls (a Python node
    /// keeping state, under `ordered`), and this order is the one that
    /// depends neither on the tile size nor on the thread count.
    WholeImage,
}

/// A node type: its spec, and how to build an instance from a scene node.
pub trait NodeKind: Send + Sync {
    fn spec(&self) -> &NodeSpec;

    fn build(&self, args: &BuildArgs) -> Result<Box<dyn Node>, BuildError>;

    /// For a kind whose sockets depend on constants of the node itself (a
    /// Python node's `script` and `class`, named in
    /// [`NodeSpec::specialised_by`]): the concrete kind for those values.
    /// The compiler calls it before it looks at any other input.
    fn specialise(
        &self,
        constants: &[(String, Value)],
        base_dir: &Path,
    ) -> Result<Arc<dyn NodeKind>, BuildError> {
        let _ = (constants, base_dir);
        Err(BuildError {
            input: None,
            message: format!(
                "node type `{}` cannot be specialised",
                self.spec().type_name
            ),
        })
    }
}

/// What a node instance is built from.
#[derive(Debug)]
pub struct BuildArgs<'a> {
    pub node_id: &'a str,
    /// The resolved type of a generic node.
    pub generic: Option<ValueType>,
    /// Every uniform input, by name, the scene's value or the default.
    pub uniforms: &'a [(String, Value)],
    /// The scene file's directory: relative paths start here.
    pub base_dir: &'a Path,
}

impl BuildArgs<'_> {
    /// The uniform input `name`. Panics if the spec has no such uniform
    /// input: the compiler fills every one, so that is a bug in the node.
    pub fn uniform(&self, name: &str) -> &Value {
        self.uniforms
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("node spec has no uniform input {name:?}"))
    }

    pub fn integer(&self, name: &str) -> i64 {
        self.uniform(name).as_i64().expect("integer input")
    }

    pub fn boolean(&self, name: &str) -> bool {
        self.uniform(name).as_bool().expect("boolean input")
    }

    pub fn string(&self, name: &str) -> &str {
        self.uniform(name).as_str().expect("string input")
    }

    pub fn generic_type(&self) -> ValueType {
        self.generic
            .expect("generic node built without a resolved type")
    }
}

/// A node could not be built from its inputs (a missing image file, say).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct BuildError {
    /// The input to blame, so the error can point at its value in the scene.
    pub input: Option<String>,
    pub message: String,
}

impl BuildError {
    pub fn new(message: impl Into<String>) -> BuildError {
        BuildError {
            input: None,
            message: message.into(),
        }
    }

    pub fn at_input(input: &str, message: impl Into<String>) -> BuildError {
        BuildError {
            input: Some(input.to_string()),
            message: message.into(),
        }
    }
}

/// A node failed while evaluating a tile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct NodeError {
    pub message: String,
    /// The pixel being evaluated, when known.
    pub pixel: Option<(i32, i32)>,
    /// More lines (a traceback), printed after the message.
    pub detail: Option<String>,
    /// The line of a node's script that failed, for nodes written in a
    /// script (the message names it too; this is for programs).
    pub script_line: Option<ScriptLine>,
}

/// A line of a node's script: the file as the user named it, and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptLine {
    pub script: String,
    pub line: u32,
}

impl NodeError {
    pub fn new(message: impl Into<String>) -> NodeError {
        NodeError {
            message: message.into(),
            pixel: None,
            detail: None,
            script_line: None,
        }
    }

    pub fn at_pixel(mut self, x: i32, y: i32) -> NodeError {
        self.pixel = Some((x, y));
        self
    }
}
