//! One render's Python side: seeding, the switch interval, the workers'
//! thread states, and the `ordered` policy's dedicated Python thread.

use crate::PythonError;
use crate::call::Calls;
use crate::policy::NodeState;
use crate::processes::ProcessPool;
use crate::runtime::{PythonRuntime, Routes};
use crate::threads::{ThreadState, enter_thread, leave_thread};
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use pyo3::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use tessera_core::{Buffer, FrameInfo, NodeError, Rect, SampleFailures, TileCtx};
use tessera_render::RenderHooks;

/// One node's samples of one tile, for the ordered thread to compute.
pub(crate) struct Job {
    tile: usize,
    sequence: usize,
    node: Arc<crate::call::NodeCore>,
    instance: Arc<Py<PyAny>>,
    frame: FrameInfo,
    rect: Rect,
    node_id: String,
    node_hash: u32,
    inputs: Vec<Buffer>,
    outputs: Vec<Buffer>,
    reply: Sender<JobDone>,
}

struct JobDone {
    outputs: Vec<Buffer>,
    failures: Vec<(i32, i32, u32)>,
    result: Result<(), NodeError>,
}

pub(crate) enum Message {
    Job(Box<Job>),
    /// No node will evaluate any part of this tile any more.
    TileFinished(usize),
}

/// Where `ordered` calls go while a render is on.
#[derive(Clone)]
pub(crate) enum Route {
    /// To the ordered thread's inbox.
    Thread(Sender<Message>),
    /// Run by the one render worker itself: it claims tiles in order and
    /// runs a tile's nodes in plan order, which is the canonical order, and
    /// a hand-off per tile to another thread would only cost time.
    Inline,
}

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
    pub processes: Option<tessera_process::Launch>,
    /// Set from outside to stop the render: a worker process busy with a
    /// tile is then killed rather than waited for.
    pub cancel: Arc<AtomicBool>,
}

/// The Python side of one render. Create it after compiling and before
/// rendering; pass it to the renderer as its hooks; drop it after (which
/// ends the ordered thread and the worker processes).
pub struct RenderSession {
    runtime: PythonRuntime,
    ordered: Option<Sender<Message>>,
    thread: Option<JoinHandle<()>>,
}

impl PythonRuntime {
    /// Prepares Python for a render of this runtime's scene: seeds `random`
    /// from the scene seed, sets the switch interval when given, starts the
    /// ordered thread (with one worker, `ordered` calls run on the worker)
    /// and, when asked for, the worker processes.
    pub fn begin_render(&self, setup: RenderSetup) -> Result<Arc<RenderSession>, PythonError> {
        crate::start()?;
        prepare_interpreter(setup.seed, setup.switch_interval)?;
        let processes = match setup.processes {
            Some(launch) if self.has_process_nodes() => Some(Arc::new(ProcessPool::start(
                launch,
                setup.threads,
                setup.cancel,
            )?)),
            _ => None,
        };
        let mut session = RenderSession {
            runtime: self.clone(),
            ordered: None,
            thread: None,
        };
        let ordered = if setup.threads == 1 {
            Route::Inline
        } else {
            let (sender, receiver) = unbounded();
            session.thread = Some(
                std::thread::Builder::new()
                    .name("tessera-python".into())
                    .stack_size(crate::STACK_SIZE)
                    .spawn(move || run_ordered(receiver))
                    .map_err(|e| PythonError::Thread(e.to_string()))?,
            );
            session.ordered = Some(sender.clone());
            Route::Thread(sender)
        };
        self.set_routes(Some(Routes { ordered, processes }));
        Ok(Arc::new(session))
    }
}

/// Seeds `random` (and numpy's legacy global generator, when numpy is
/// imported) and sets the switch interval when given.
pub(crate) fn prepare_interpreter(
    seed: u32,
    switch_interval: Option<f64>,
) -> Result<(), PythonError> {
    Python::attach(|py| -> PyResult<()> {
        py.import("random")?.call_method1("seed", (seed,))?;
        let modules = py.import("sys")?.getattr("modules")?;
        if modules.contains("numpy")? {
            py.import("numpy.random")?.call_method1("seed", (seed,))?;
        }
        if let Some(interval) = switch_interval {
            py.import("sys")?
                .call_method1("setswitchinterval", (interval,))?;
        }
        Ok(())
    })
    .map_err(|e| PythonError::Prepare(e.to_string()))
}

impl Drop for RenderSession {
    fn drop(&mut self) {
        // The ordered thread ends when the last sender is gone; the worker
        // processes when the pool is dropped.
        drop(self.runtime.set_routes(None));
        self.ordered.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
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

    fn tile_finished(&self, index: usize) {
        if let Some(sender) = &self.ordered {
            let _ = sender.send(Message::TileFinished(index));
        }
    }
}

/// Runs a node's calls for a tile where `ordered` says: on the ordered
/// thread (waiting, without the GIL, for them to be done) or, with one
/// render worker, right here.
pub(crate) fn submit_ordered(
    node: &NodeState,
    route: Option<Route>,
    ctx: &TileCtx,
    inputs: &[&Buffer],
    outputs: &mut [Buffer],
) -> Result<(), NodeError> {
    let stopped = || {
        NodeError::new("the ordered Python thread is not running").at_pixel(ctx.rect.x, ctx.rect.y)
    };
    let sender = match route.ok_or_else(stopped)? {
        Route::Thread(sender) => sender,
        Route::Inline => {
            return node
                .core
                .evaluate(&node.instance, ctx, inputs, outputs, Calls::PerTile);
        }
    };
    let (reply, done) = bounded(1);
    let job = Job {
        tile: ctx.tile_index,
        sequence: node.sequence,
        node: node.core.clone(),
        instance: node.instance.clone(),
        frame: ctx.frame.clone(),
        rect: ctx.rect,
        node_id: ctx.node_id.to_string(),
        node_hash: ctx.node_hash,
        inputs: inputs.iter().map(|b| (*b).clone()).collect(),
        outputs: outputs
            .iter_mut()
            .map(|b| std::mem::replace(b, Buffer::new(b.channels(), 0)))
            .collect(),
        reply,
    };
    sender
        .send(Message::Job(Box::new(job)))
        .map_err(|_| stopped())?;
    let finished = done.recv().map_err(|_| stopped())?;
    for (output, computed) in outputs.iter_mut().zip(finished.outputs) {
        *output = computed;
    }
    for (x, y, s) in finished.failures {
        ctx.failures.record(x, y, s);
    }
    finished.result
}

/// The ordered thread: runs jobs in (tile, sequence) order. Jobs of later
/// tiles wait in a reorder buffer until every earlier tile is finished.
fn run_ordered(inbox: Receiver<Message>) {
    let _state = ThreadState::enter();
    let mut next_tile = 0;
    let mut pending: BTreeMap<(usize, usize), Box<Job>> = BTreeMap::new();
    let mut finished: BTreeSet<usize> = BTreeSet::new();
    loop {
        // Run what is due; a job of the current tile is due at once (its
        // worker sends the tile's jobs one after another, in sequence order).
        loop {
            if let Some(entry) = pending.first_entry()
                && entry.key().0 == next_tile
            {
                run_job(*entry.remove());
                continue;
            }
            if finished.remove(&next_tile) {
                next_tile += 1;
                continue;
            }
            break;
        }
        match inbox.recv() {
            Ok(Message::Job(job)) => {
                pending.insert((job.tile, job.sequence), job);
            }
            Ok(Message::TileFinished(tile)) => {
                finished.insert(tile);
            }
            Err(_) => return,
        }
    }
}

fn run_job(job: Job) {
    let Job {
        node,
        instance,
        frame,
        rect,
        tile,
        node_id,
        node_hash,
        inputs,
        mut outputs,
        reply,
        ..
    } = job;
    let failures = SampleFailures::default();
    let ctx = TileCtx {
        frame: &frame,
        rect,
        tile_index: tile,
        node_id: &node_id,
        node_hash,
        failures: &failures,
    };
    let input_refs: Vec<&Buffer> = inputs.iter().collect();
    let result = Python::attach(|py| {
        node.evaluate(&instance, &ctx, &input_refs, &mut outputs, Calls::Held(py))
    });
    crate::interpreter::exit_if_forked();
    let _ = reply.send(JobDone {
        outputs,
        failures: failures.take(),
        result,
    });
}
