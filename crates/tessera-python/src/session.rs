//! One render's Python side: seeding, the switch interval, the render
//! threads' Python thread states, and the worker processes.

use crate::PythonError;
use crate::processes::ProcessPool;
use crate::processes::protocol::Begin;
use crate::runtime::PythonRuntime;
use crate::threads::{enter_thread, leave_thread};
use pyo3::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tessera_render::RenderHooks;

/// How to prepare Python for one render.
pub struct RenderSetup {
    /// The scene's seed: `random` (and numpy's legacy global generator) are
    /// seeded from it.
    pub seed: u32,
    /// Seconds, for `sys.setswitchinterval`; None keeps Python's own.
    pub switch_interval: Option<f64>,
    /// The render's worker threads, as the renderer will start them
    /// ([`tessera_render::worker_count`]).
    pub threads: usize,
    /// How to start worker processes for Python nodes (`--python-workers
    /// processes`): one per render thread. None: Python runs in this process.
    /// The workers of the runtime's last render serve this one too when
    /// they were started the same way for as many threads.
    pub processes: Option<tessera_process::Launch>,
    /// Set from outside to stop the render: a worker process busy with a
    /// tile is then killed rather than waited for.
    pub cancel: Arc<AtomicBool>,
}

/// The Python side of one render. Create it after compiling and before
/// rendering; pass it to the renderer as its hooks; [`RenderSession::end`]
/// it after. The worker processes stay for the runtime's next render, and
/// end with the runtime (or when a render needs others).
pub struct RenderSession {
    runtime: PythonRuntime,
    /// Until the render ends, the runtime's turn ([`PythonRuntime::take_turn`]).
    turn: AtomicBool,
}

impl PythonRuntime {
    /// Prepares Python for a render of this runtime's scene: seeds `random`
    /// from the scene seed, sets the switch interval when given and, when
    /// asked for, has the worker processes do the same (starting them, when
    /// the last render's do not fit). A render of this runtime going on
    /// in another thread is waited for first: renders of one scene take
    /// turns.
    pub fn begin_render(&self, setup: RenderSetup) -> Result<Arc<RenderSession>, PythonError> {
        crate::start()?;
        self.take_turn()?;
        if let Err(error) = self.prepare_render(setup) {
            self.end_turn();
            return Err(error);
        }
        Ok(Arc::new(RenderSession {
            runtime: self.clone(),
            turn: AtomicBool::new(true),
        }))
    }

    fn prepare_render(&self, setup: RenderSetup) -> Result<(), PythonError> {
        let begin = Begin::new(setup.seed, setup.switch_interval);
        self.prepare_interpreter(&begin)?;
        let kept = self.processes();
        let processes = match setup.processes {
            Some(launch) if self.has_process_nodes() => match kept {
                Some(pool) if pool.serves(&launch, setup.threads) => {
                    let begun = pool.begin(begin, setup.cancel);
                    if let Err(error) = begun {
                        self.set_processes(None);
                        return Err(error);
                    }
                    Some(pool)
                }
                _ => {
                    // The last render's workers end before others start.
                    drop(kept);
                    self.set_processes(None);
                    Some(Arc::new(ProcessPool::start(
                        launch,
                        setup.threads,
                        begin,
                        setup.cancel,
                        self.job_children(),
                    )?))
                }
            },
            _ => None,
        };
        self.set_processes(processes);
        Ok(())
    }
}

impl PythonRuntime {
    /// Prepares this process's interpreter for a render, in the render
    /// process and in each worker alike: the nodes that kept state get new
    /// instances, then [`seed_and_switch`].
    pub(crate) fn prepare_interpreter(&self, begin: &Begin) -> Result<(), PythonError> {
        // The nodes set up again draw what they drew as the scene loaded.
        Python::attach(|py| {
            crate::api::seed_random(py, begin.seed)
                .map_err(|e| PythonError::Prepare(e.to_string()))?;
            self.renew_nodes(py)
        })?;
        seed_and_switch(begin.seed, begin.switch_interval())
    }
}

/// Seeds `random` (and numpy's legacy global generator, now or when a node
/// imports it) and sets the switch interval when given.
fn seed_and_switch(seed: u32, switch_interval: Option<f64>) -> Result<(), PythonError> {
    Python::attach(|py| -> PyResult<()> {
        crate::api::seed_random(py, seed)?;
        if let Some(interval) = switch_interval {
            py.import("sys")?
                .call_method1("setswitchinterval", (interval,))?;
        }
        Ok(())
    })
    .map_err(|e| PythonError::Prepare(e.to_string()))
}

impl RenderSession {
    /// Ends the render: what the nodes printed without a newline is
    /// written out (by the worker processes, and here), and the workers
    /// wait for the runtime's next render. (The render's threads may hold
    /// the session a while after the render returns: this is not left to
    /// its drop.)
    pub fn end(&self) {
        if let Some(pool) = self.runtime.processes() {
            pool.end();
        }
        crate::flush_output();
        if self.turn.swap(false, Ordering::SeqCst) {
            self.runtime.end_turn();
        }
    }
}

impl Drop for RenderSession {
    /// A render that did not end (a panic unwinding) gives up its turn.
    fn drop(&mut self) {
        if self.turn.swap(false, Ordering::SeqCst) {
            self.runtime.end_turn();
        }
    }
}

impl RenderHooks for RenderSession {
    fn worker_started(&self, _index: usize) {
        enter_thread();
    }

    fn worker_exiting(&self, _index: usize) {
        leave_thread();
    }
}
