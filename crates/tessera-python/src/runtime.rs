//! One scene's Python side, owned by whoever loads the scene: its scripts'
//! modules, the Python nodes built for it and, while it renders, where
//! their calls go. Two scenes loaded in one process each have their own, so
//! a second render inherits nothing from the first.

use crate::PythonError;
use crate::errors::{ExceptionReport, is_interrupt};
use crate::policy::{NodeState, lock};
use crate::processes::ProcessPool;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::ThreadId;
use tessera_process::JobChildren;

/// What [`PythonRuntime::seed_as_the_scene_loads`] seeds before.
#[derive(Clone, Copy)]
pub(crate) enum LoadStage {
    Import = 0,
    Setup = 1,
}

/// A cheap handle: clones share one runtime. Give it to
/// [`crate::python_kind`] when building the registry, then call
/// [`PythonRuntime::begin_render`] for each render of the compiled plan.
#[derive(Clone, Default)]
pub struct PythonRuntime {
    shared: Arc<Shared>,
}

/// Numbers runtimes, for the names of their scripts' modules.
static RUNTIMES: AtomicU64 = AtomicU64::new(0);

struct Shared {
    /// The prefix of the `sys.modules` names of this runtime's scripts.
    namespace: String,
    /// The scene's Python nodes by id: a worker process finds the node a
    /// request names here.
    nodes: Mutex<Vec<(String, Arc<NodeState>)>>,
    /// The worker processes of the last render under `--python-workers
    /// processes`, kept for the next; None when it ran in process.
    processes: Mutex<Option<Arc<ProcessPool>>>,
    /// Renders begun with this runtime.
    renders: AtomicU64,
    /// The process whose render of this runtime is on, if one is. Renders
    /// of one scene take turns: each gives the nodes that kept state new
    /// instances, reseeds `random` and prepares the workers, which another
    /// render going on would see halfway. (A fork made during a render has
    /// its parent's pid here: that render is not its own.)
    /// With the thread that began it, which waits for it.
    rendering: Mutex<Option<(u32, ThreadId)>>,
    turn_over: Condvar,
    /// Whether Ctrl-C (a KeyboardInterrupt) ended a script's import or a
    /// node's setup(), which reach the caller as a scene's error
    /// ([`PythonRuntime::take_interrupt`]).
    interrupted: AtomicBool,
    /// The scene's seed, for `random` as the scene loads
    /// ([`PythonRuntime::seed_as_the_scene_loads`]); whether it was
    /// seeded before the first import, and before the first setup().
    load_seed: Mutex<Option<u32>>,
    seeded: [AtomicBool; 2],
    /// The worker processes ([`PythonRuntime::job_children`]).
    job_children: Arc<JobChildren>,
}

/// How many worker processes at once the terminal's job control reaches:
/// far more than there are processors.
const JOB_CHILDREN: usize = 1024;

impl Default for Shared {
    fn default() -> Shared {
        let number = RUNTIMES.fetch_add(1, Ordering::Relaxed);
        Shared {
            namespace: format!("tessera_script_{number}_"),
            nodes: Mutex::default(),
            processes: Mutex::default(),
            renders: AtomicU64::new(0),
            rendering: Mutex::new(None),
            turn_over: Condvar::new(),
            interrupted: AtomicBool::new(false),
            load_seed: Mutex::new(None),
            seeded: Default::default(),
            job_children: JobChildren::new(JOB_CHILDREN),
        }
    }
}

impl Drop for Shared {
    /// Forgets the scripts' modules, so that they go with the runtime (their
    /// state included) once nothing else holds them.
    fn drop(&mut self) {
        if !crate::is_started() {
            return;
        }
        Python::attach(|py| {
            let forget = || -> PyResult<()> {
                let modules = py
                    .import("sys")?
                    .getattr("modules")?
                    .cast_into::<PyDict>()?;
                for name in modules.keys() {
                    if name.extract::<String>()?.starts_with(&self.namespace) {
                        modules.del_item(name)?;
                    }
                }
                Ok(())
            };
            // Nothing a scene can do makes this fail; were it to, the
            // modules would only stay until the process ends.
            let _ = forget();
        });
    }
}

impl PythonRuntime {
    /// The prefix of the `sys.modules` names of this runtime's scripts.
    pub(crate) fn script_namespace(&self) -> String {
        self.shared.namespace.clone()
    }

    /// Records a node built for this scene.
    pub(crate) fn add_node(&self, id: &str, state: Arc<NodeState>) {
        lock(&self.shared.nodes).push((id.to_string(), state));
    }

    /// The node built with scene id `id`.
    pub(crate) fn node(&self, id: &str) -> Option<Arc<NodeState>> {
        lock(&self.shared.nodes)
            .iter()
            .find(|(node, _)| node == id)
            .map(|(_, state)| state.clone())
    }

    /// Before a render: every node's failures forgotten, and every node
    /// keeping state that a render called given a new instance, set up
    /// again (a frame of a range starts as `--frame N` alone).
    pub(crate) fn renew_nodes(&self, py: Python) -> Result<(), PythonError> {
        let render = self.shared.renders.fetch_add(1, Ordering::Relaxed);
        for (id, state) in lock(&self.shared.nodes).iter() {
            state.renew(py, render).map_err(|e| {
                if is_interrupt(py, &e) {
                    self.note_interrupt();
                }
                let report = ExceptionReport::new(py, &e, &state.core.path);
                PythonError::Setup(format!(
                    "node `{id}`: a new instance for the next frame failed to set up: {}\n{}",
                    report.summary, report.traceback
                ))
            })?;
        }
        Ok(())
    }

    /// The scene's seed, to seed `random` with as its scripts import and
    /// its nodes set up (before it compiles).
    pub fn set_load_seed(&self, seed: u32) {
        *lock(&self.shared.load_seed) = Some(seed);
        for seeded in &self.shared.seeded {
            seeded.store(false, Ordering::SeqCst);
        }
    }

    /// Seeds `random` (numpy's legacy generator too) with the scene's seed
    /// once before the scene's first script imports, and once before its
    /// first node's setup(), as before each render's setups and calls: a
    /// table a module or a setup() draws is the same on every run, and a
    /// frame's setup() draws what the same frame rendered alone draws.
    pub(crate) fn seed_as_the_scene_loads(&self, py: Python, stage: LoadStage) -> PyResult<()> {
        let Some(seed) = *lock(&self.shared.load_seed) else {
            return Ok(());
        };
        if self.shared.seeded[stage as usize].swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        crate::api::seed_random(py, seed)
    }

    /// Notes that Ctrl-C ended an import or a setup().
    pub(crate) fn note_interrupt(&self) {
        self.shared.interrupted.store(true, Ordering::SeqCst);
    }

    /// Whether Ctrl-C (a KeyboardInterrupt) ended a script's import or a
    /// node's setup() since this was last asked: the scene error (or the
    /// render's failure to set up a node) that followed is then the
    /// caller's KeyboardInterrupt (the Python package's).
    pub fn take_interrupt(&self) -> bool {
        self.shared.interrupted.swap(false, Ordering::SeqCst)
    }

    /// Waits until no other render of this runtime is on, and starts one;
    /// [`PythonError::Reentered`] on the thread of the render that is on.
    pub(crate) fn take_turn(&self) -> Result<(), PythonError> {
        let (this, thread) = (std::process::id(), std::thread::current().id());
        let mut rendering = lock(&self.shared.rendering);
        while let Some((pid, on)) = *rendering
            && pid == this
        {
            if on == thread {
                return Err(PythonError::Reentered);
            }
            rendering = (self.shared.turn_over.wait(rendering)).unwrap_or_else(|e| e.into_inner());
        }
        *rendering = Some((this, thread));
        Ok(())
    }

    /// Ends the render [`PythonRuntime::take_turn`] started.
    pub(crate) fn end_turn(&self) {
        *lock(&self.shared.rendering) = None;
        self.shared.turn_over.notify_one();
    }

    /// Whether any node of the scene may run in a worker process.
    pub(crate) fn has_process_nodes(&self) -> bool {
        lock(&self.shared.nodes)
            .iter()
            .any(|(_, state)| state.runs_in_processes())
    }

    pub(crate) fn processes(&self) -> Option<Arc<ProcessPool>> {
        lock(&self.shared.processes).clone()
    }

    /// Threads that nodes left running, which Tessera never waits for: in
    /// this process, and in the worker processes as their last render
    /// ended.
    pub fn lingering_threads(&self) -> Vec<String> {
        let mut threads = crate::lingering_threads();
        if let Some(pool) = self.processes() {
            threads.extend(pool.lingering_threads());
        }
        threads
    }

    /// The worker processes of this runtime's renders, as they start and
    /// end: for [`tessera_process::pass_on_job_control`], since they run in
    /// process groups of their own, which the terminal's Ctrl-Z does not
    /// reach.
    pub fn job_children(&self) -> Arc<JobChildren> {
        self.shared.job_children.clone()
    }

    /// Sets the worker processes of the render beginning; the ones replaced
    /// end once no call uses them any more.
    pub(crate) fn set_processes(&self, processes: Option<Arc<ProcessPool>>) {
        *lock(&self.shared.processes) = processes;
    }
}
