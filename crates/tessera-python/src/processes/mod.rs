//! Python nodes in worker processes (`--python-workers processes`): one
//! interpreter per process, so Python work scales with cores where threads
//! of one interpreter take turns at its GIL.
//!
//! The render process starts one worker per render thread computing with
//! [`tessera_process::spawn`], running a [`tessera_process::Launch`] (the
//! `tessera` binary's hidden `python-worker` command). Each worker has:
//! - the socket every Tessera child has, carrying its tiles in order, one
//!   JSON line each ([`protocol`]);
//! - two lanes, each a memfd that both processes map
//!   ([`shared::SharedTiles`]), holding a tile's input planes and then its
//!   output planes (pixels cross the boundary as whole planes, never sample
//!   by sample: the worker copies the inputs out, and the node writes its
//!   outputs there), and a socket for that tile's reply. While the
//!   worker computes one lane's tile, the other lane's is already sent, so it
//!   never waits for the render process between tiles.
//!
//! A worker (crate::worker) loads the same scene (importing its scripts and running each
//! Python node's `setup()` itself) and says it is ready. Then it serves
//! render after render until the socket closes: each begins with the
//! render's seed and switch interval (new instances for nodes that kept
//! state, as in the render process), then its tiles, then an end. A pool
//! lives in the scene's [`crate::PythonRuntime`], so a range of frames (or
//! a package `Scene` rendered again) starts its workers once. Workers have their own process group, so Ctrl-C
//! reaches only the render process, which kills them; they die with the
//! render process.

mod pool;
pub(crate) mod protocol;
pub(crate) mod shared;

pub(crate) use pool::LANES_PER_WORKER;
pub use pool::ProcessPool;

/// Where a scene's Python nodes run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PythonWorkers {
    /// On the render threads, in this process's interpreter.
    #[default]
    Threads,
    /// In worker processes with an interpreter each, one per render thread
    /// (nodes under `ordered` that keep state stay in this process).
    Processes,
}

impl PythonWorkers {
    pub const ALL: [PythonWorkers; 2] = [PythonWorkers::Threads, PythonWorkers::Processes];

    pub fn name(self) -> &'static str {
        match self {
            PythonWorkers::Threads => "threads",
            PythonWorkers::Processes => "processes",
        }
    }

    pub fn parse(name: &str) -> Option<PythonWorkers> {
        PythonWorkers::ALL.into_iter().find(|w| w.name() == name)
    }
}
