//! The render process's side: starting workers, sending them tiles, and
//! telling the user what happened when one dies.

use super::protocol::{Done, Evaluate, Frame, Reply};
use super::shared::SharedTiles;
use crate::PythonError;
use crate::policy::NodeState;
use crossbeam_channel::{Receiver, Sender, unbounded};
use std::io;
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tessera_core::{Buffer, NodeError, TileCtx};
use tessera_process::{Channel, Launch, Options, Received, Spawned, describe_exit, wait_or_kill};

/// One worker process per render thread. A render thread takes an idle
/// worker for each tile of a Python node and gives it back after, so with
/// as many workers as threads none ever waits for one.
pub struct ProcessPool {
    idle: Receiver<Slot>,
    give_back: Sender<Slot>,
    launch: Launch,
    cancel: Arc<AtomicBool>,
    spin: Duration,
}

enum Slot {
    Running(Box<Worker>),
    /// A worker that died: the next user of the slot starts a new one, so
    /// that the tiles before a failed one still render.
    Dead,
}

struct Worker {
    child: Child,
    channel: Channel,
    shared: SharedTiles,
    /// How long to wait for a reply before blocking (see [`spin_time`]).
    spin: Duration,
}

/// How long a render thread waits for its worker's reply, and a worker for
/// its next request, before blocking: a blocked process's processor goes
/// idle, and waking an idle processor costs up to 0.1 ms on a virtual
/// machine, per hand-over, twice a tile. Waiting uses a processor, so only
/// where every render thread and every worker can have one of their own.
fn spin_time(workers: usize) -> Duration {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if 2 * workers <= cores {
        Duration::from_micros(300)
    } else {
        Duration::ZERO
    }
}

/// Why a wait on a worker ended without a reply.
enum Lost {
    Cancelled,
    /// It exited or was killed (and is not waited for yet).
    Died,
    Broken(io::Error),
}

impl ProcessPool {
    /// Starts `count` workers and waits until each has loaded the scene.
    pub fn start(
        launch: Launch,
        count: usize,
        cancel: Arc<AtomicBool>,
    ) -> Result<ProcessPool, PythonError> {
        let (give_back, idle) = unbounded();
        let pool = ProcessPool {
            idle,
            give_back,
            launch,
            cancel,
            spin: spin_time(count),
        };
        // Every worker loads the scene at once; then each is waited for.
        let mut starting = Vec::with_capacity(count);
        for _ in 0..count {
            starting.push(pool.spawn().map_err(|e| pool.start_error(&e.to_string()))?);
        }
        for mut worker in starting {
            pool.wait_ready(&mut worker)?;
            let _ = pool.give_back.send(Slot::Running(Box::new(worker)));
        }
        Ok(pool)
    }

    fn start_error(&self, why: &str) -> PythonError {
        PythonError::Workers(format!(
            "cannot start a Python worker process ({}): {why}",
            self.launch.program.display()
        ))
    }

    fn spawn(&self) -> io::Result<Worker> {
        let shared = SharedTiles::create()?;
        // numpy's BLAS gets one thread in a worker as in the render
        // process (tessera._limit_library_threads, run in every interpreter).
        let launch = &self.launch;
        let options = Options {
            // Ctrl-C reaches the render process, which stops the workers.
            own_group: true,
            no_stdin: true,
        };
        let Spawned { child, channel } =
            tessera_process::spawn(launch, &[shared.raw_fd()], options)?;
        channel.poll_cancel()?;
        Ok(Worker {
            child,
            channel,
            shared,
            spin: self.spin,
        })
    }

    fn wait_ready(&self, worker: &mut Worker) -> Result<(), PythonError> {
        match worker.receive(&self.cancel) {
            Ok(Reply::Ready) => Ok(()),
            Ok(Reply::SetupFailed(message)) => Err(PythonError::Workers(format!(
                "a Python worker process could not load the scene:\n{message}"
            ))),
            Ok(Reply::Done(_)) => Err(self.start_error("it replied before it was asked")),
            Err(Lost::Cancelled) => Err(PythonError::Workers(
                "cancelled while the Python worker processes started".into(),
            )),
            Err(Lost::Died) => {
                let how = worker.stop().map_or("ended".to_string(), describe_exit);
                Err(self.start_error(&format!("it {how} while loading the scene")))
            }
            Err(Lost::Broken(e)) => Err(self.start_error(&e.to_string())),
        }
    }

    /// An idle worker, started anew if the slot's worker died.
    fn take(&self) -> Result<Worker, String> {
        let slot = self
            .idle
            .recv()
            .map_err(|_| "the Python worker processes are gone".to_string())?;
        match slot {
            Slot::Running(worker) => Ok(*worker),
            Slot::Dead => {
                let started = self.spawn().map_err(|e| self.start_error(&e.to_string()));
                let ready = started.and_then(|mut worker| {
                    self.wait_ready(&mut worker)?;
                    Ok(worker)
                });
                ready.map_err(|e| {
                    let _ = self.give_back.send(Slot::Dead);
                    e.to_string()
                })
            }
        }
    }

    /// Evaluates `node` over the tile in a worker process.
    pub fn evaluate(
        &self,
        node: &NodeState,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let at_tile = |message: String| {
            let (x, y, _) = ctx.locate(0);
            NodeError::new(message).at_pixel(x, y)
        };
        let mut worker = self.take().map_err(at_tile)?;
        match worker.evaluate(ctx, inputs, outputs, &self.cancel) {
            Ok(done) => {
                let _ = self.give_back.send(Slot::Running(Box::new(worker)));
                for &(x, y, s) in &done.failed_samples {
                    ctx.failures.record(x, y, s);
                }
                node.core.absorb_painted(done.painted, done.first_painted);
                done.error.map_or(Ok(()), |e| Err(e.into()))
            }
            Err(lost) => {
                let status = worker.stop();
                let _ = self.give_back.send(Slot::Dead);
                Err(at_tile(match lost {
                    Lost::Cancelled => "stopped: the render was cancelled".to_string(),
                    Lost::Died => format!(
                        "the Python worker process running {}.{} (pid {}) {} in tile {}; \
                         a node must not end its process (os._exit, a crash in a C extension); \
                         its last words, if any, are above",
                        node.core.class_name,
                        node.core.method_name(),
                        worker.child.id(),
                        status.map_or("ended".to_string(), describe_exit),
                        ctx.tile_index
                    ),
                    Lost::Broken(e) => format!(
                        "lost touch with the Python worker process (pid {}) in tile {}: {e}",
                        worker.child.id(),
                        ctx.tile_index
                    ),
                }))
            }
        }
    }
}

impl Worker {
    fn evaluate(
        &mut self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
        cancel: &AtomicBool,
    ) -> Result<Done, Lost> {
        let floats: usize = inputs
            .iter()
            .map(|b| b.data().len())
            .chain(outputs.iter().map(|b| b.data().len()))
            .sum();
        self.shared.reserve(floats).map_err(Lost::Broken)?;
        let memory = self.shared.floats();
        let mut at = 0;
        for input in inputs {
            memory[at..at + input.data().len()].copy_from_slice(input.data());
            at += input.data().len();
        }
        let request = Evaluate {
            node: ctx.node_id.to_string(),
            node_hash: ctx.node_hash,
            tile: ctx.tile_index,
            rect: (ctx.rect.x, ctx.rect.y, ctx.rect.width, ctx.rect.height),
            frame: Frame::from(ctx.frame),
            inputs: inputs.iter().map(|b| (b.channels(), b.len())).collect(),
            outputs: outputs.iter().map(|b| (b.channels(), b.len())).collect(),
            shared_bytes: self.shared.len(),
            spin_us: self.spin.as_micros() as u64,
        };
        if let Err(e) = self.channel.send(&request) {
            // A worker that died is seen as a broken pipe here.
            return Err(self.lost(e));
        }
        let done = match self.receive(cancel)? {
            Reply::Done(done) => done,
            other => {
                return Err(Lost::Broken(io::Error::other(format!(
                    "unexpected reply {other:?}"
                ))));
            }
        };
        if done.error.is_none() {
            let memory = self.shared.floats();
            for output in outputs.iter_mut() {
                let data = output.data_mut();
                data.copy_from_slice(&memory[at..at + data.len()]);
                at += data.len();
            }
        }
        Ok(done)
    }

    fn receive(&mut self, cancel: &AtomicBool) -> Result<Reply, Lost> {
        self.channel.spin_for(self.spin);
        match self.channel.receive(cancel) {
            Ok(Received::Message(reply)) => Ok(reply),
            Ok(Received::Cancelled) => Err(Lost::Cancelled),
            Ok(Received::Closed) => Err(self.ended()),
            Err(e) => Err(self.lost(e)),
        }
    }

    /// Why talking to the worker failed: its death, if it died.
    fn lost(&mut self, error: io::Error) -> Lost {
        if error.kind() == io::ErrorKind::BrokenPipe {
            return self.ended();
        }
        match tessera_process::exits_within(&self.child, Duration::ZERO) {
            true => Lost::Died,
            false => Lost::Broken(error),
        }
    }

    /// The worker closed its end: it is exiting. Waits a moment for it to
    /// be gone (not reaping it), so that its status is its own, not the
    /// kill that [`Worker::stop`] sends its group.
    fn ended(&mut self) -> Lost {
        tessera_process::exits_within(&self.child, Duration::from_secs(2));
        Lost::Died
    }

    /// Kills the worker (if it still runs), and what a node in it forked,
    /// and waits for it: its status.
    fn stop(&mut self) -> Option<ExitStatus> {
        tessera_process::kill_group(&self.child);
        self.child.wait().ok()
    }

    /// Lets the worker finish (it exits when its socket closes), killing it
    /// if it takes longer than `grace`.
    fn finish(self, grace: Duration) {
        let Worker {
            mut child,
            channel,
            shared,
            ..
        } = self;
        // Closing the socket is what tells the worker to finish.
        drop((channel, shared));
        wait_or_kill(&mut child, grace);
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        // The render is over: every worker is idle. Each flushes its
        // output and exits when its socket closes.
        while let Ok(slot) = self.idle.try_recv() {
            if let Slot::Running(worker) = slot {
                worker.finish(Duration::from_secs(5));
            }
        }
    }
}
