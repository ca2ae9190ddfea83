//! Python nodes for Tessera, and the only crate that uses pyo3.
//!
//! - [`start`] starts one embedded CPython, once: the interpreter the binary
//!   was built against, or the active virtual environment's.
//! - [`python_kind`] is the `python` node type: its `script` and `class`
//!   choose a class deriving from `tessera.Node`, whose declared sockets
//!   become the node's inputs and outputs (the compiler sees them before
//!   rendering, through `NodeKind::specialise`). [`pynode_kind`] is the
//!   `pynode` type: a Blender 2.4x PyNode script, loaded as Blender loaded
//!   it, with the `Blender` package that only such scripts can import
//!   (python/pynode.py, python/blender/; docs/blender-pynodes.md).
//! - [`PythonRuntime`] is one scene's Python state; its `begin_render`
//!   prepares a render: seeds `random`, sets the switch interval, gives
//!   every render worker one persistent Python thread state (so taking the
//!   GIL per call is cheap) and, under `--python-workers processes`, starts
//!   the worker processes ([`PythonWorkers`]; a worker serves through a
//!   [`WorkerConnection`]).
//!
//! The modules depend one way: the Python-facing API (`api`, `context`,
//! `arrays`, `errors`) and the interpreter (`interpreter`, `threads`);
//! loading scripts (`script`); calling nodes (`call`); scheduling by policy
//! (`policy`, `processes`, `runtime`, `session`); the node type and the
//! worker's side (`node`, `settings`, `worker`).
//! - [`Policy`]: how a node's calls are scheduled (docs/determinism.md).
//!
//! Every Python call takes the GIL for that call only, on the worker that
//! renders the tile; nothing here waits on rayon, a channel or a lock while
//! holding the GIL.

mod api;
mod arrays;
mod call;
mod context;
mod errors;
mod interpreter;
mod node;
mod policy;
mod processes;
mod runtime;
mod script;
mod session;
mod settings;
mod threads;
mod worker;

pub use call::OnError;
pub use interpreter::{PythonInfo, adopt, flush_output, is_started, lingering_threads, start};
pub use node::{RunOptions, ScriptAccess, pynode_kind, python_kind};
pub use policy::Policy;
pub use processes::PythonWorkers;
pub use runtime::PythonRuntime;
pub use script::{ScriptNode, describe_script};
pub use session::{RenderSession, RenderSetup};
pub use settings::{PythonSettings, SWITCH_INTERVAL_EXPECTED, SWITCH_INTERVALS, python_settings};
pub use threads::interrupt;
pub use worker::WorkerConnection;

/// Why Python could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PythonError {
    #[error("could not start Python ({executable}): {message}")]
    Start { executable: String, message: String },
    /// A script failed to load, or declares its node wrongly.
    #[error("{0}")]
    Script(String),
    /// Ctrl-C (a KeyboardInterrupt) ended a script's import: its report,
    /// as [`PythonError::Script`]'s.
    #[error("{0}")]
    Interrupted(String),
    /// A script has no class of the name asked for.
    #[error("{0}")]
    NoClass(String),
    #[error("preparing Python for the render: {0}")]
    Prepare(String),
    /// The worker processes of `--python-workers processes` could not start.
    #[error("{0}")]
    Workers(String),
    /// A node's new instance for a later frame failed to set up (at the
    /// first, the same failure is a scene error), or a worker process could
    /// not load the scene.
    #[error("{0}")]
    Setup(String),
    /// A worker process ended or crashed while it loaded the scene (a
    /// script's import or a node's `setup()` ending its process, below
    /// Python): a node's failure, as the same in the render process is.
    #[error("{0}")]
    WorkerDied(String),
    /// A render begun on the thread that a render of the same scene waits
    /// on (from its progress callback): it would wait for itself.
    #[error(
        "this scene is rendering on this thread already (a render from its progress callback would wait for itself): render it after that render returns, or render another Scene.load of its file"
    )]
    Reentered,
}
