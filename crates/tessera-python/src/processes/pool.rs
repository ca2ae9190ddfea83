//! The render process's side: starting workers, sending them tiles, and
//! telling the user what happened when one dies.

use super::protocol::{Begin, Done, Evaluate, Frame, Reply, Request};
use super::shared::SharedTiles;
use crate::PythonError;
use crate::policy::{NodeState, lock};
use crossbeam_channel::{Receiver, Sender, unbounded};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tessera_core::{Buffer, NodeError, TileCtx};
use tessera_process::{
    Channel, JobChildren, Launch, Options, Received, Spawned, StopSignal, describe_exit,
    wait_or_kill,
};

/// How many tiles a worker process holds at once: the one it computes and
/// the next, so that it does not wait for the render process between
/// tiles. (Four did no better where writing the image did not hold up the
/// render threads feeding the worker: docs/performance.md.) The render
/// runs as many threads per core it computes on
/// ([`tessera_core::Node::tiles_elsewhere`]), one per lane.
pub(crate) const LANES_PER_WORKER: usize = 2;

/// The descriptors the render process holds per worker: its socket (two
/// ends of a clone), and per lane a reply socket (two), a memfd and the
/// link's copy of it; with the worker's ends of its sockets while it
/// starts.
const DESCRIPTORS_PER_WORKER: usize = 2 + LANES_PER_WORKER * 4 + 1 + LANES_PER_WORKER;

/// How many times a tile is sent again after the worker it waited on died
/// computing another tile (or could not be sent it), before the pool gives
/// up on starting workers.
const RESENDS: usize = 3;

/// One worker process per render thread computing, each fed through
/// [`LANES_PER_WORKER`] lanes. A render thread takes an idle lane for each
/// tile of a Python node and gives it back after; with as many lanes as
/// render threads, none ever waits for one.
///
/// A pool serves render after render of its scene ([`ProcessPool::begin`]
/// to [`ProcessPool::end`]): a range of frames starts its workers once.
pub struct ProcessPool {
    workers: Vec<WorkerLink>,
    idle: Receiver<Lane>,
    give_back: Sender<Lane>,
    starter: Starter,
    render: Mutex<RenderOn>,
    /// The threads the workers' nodes left running, as of the last render's
    /// end.
    lingering: Mutex<Vec<String>>,
    /// The process that started the workers. A copy of the pool that a fork
    /// made (a script's `multiprocessing` pool after a render) is not
    /// theirs: it neither uses them nor stops them.
    owner: u32,
}

/// Starts the pool's worker processes, every one from a thread that lives
/// as long as the pool: a worker's parent-death signal
/// ([`tessera_process::spawn`]) follows the thread that started it, and a
/// render's threads, or the caller's, may end before the pool, which
/// serves later renders, does.
struct Starter {
    launch: Launch,
    jobs: Option<Sender<StartJob>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A worker to start: the descriptors it inherits (open until the answer
/// comes), and where the answer goes.
struct StartJob {
    fds: Vec<RawFd>,
    options: Options,
    answer: Sender<io::Result<Spawned>>,
}

impl Starter {
    fn new(launch: Launch) -> io::Result<Starter> {
        let (jobs, received) = unbounded::<StartJob>();
        let program = launch.clone();
        let thread = std::thread::Builder::new()
            .name("tessera-spawn".into())
            .spawn(move || {
                for job in received {
                    let _ =
                        (job.answer).send(tessera_process::spawn(&program, &job.fds, job.options));
                }
            })?;
        Ok(Starter {
            launch,
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    fn spawn(&self, fds: Vec<RawFd>, options: Options) -> io::Result<Spawned> {
        let gone = || io::Error::other("the thread that starts worker processes is gone");
        let (answer, answered) = crossbeam_channel::bounded(1);
        let job = StartJob {
            fds,
            options,
            answer,
        };
        (self.jobs.as_ref().ok_or_else(gone)?.send(job)).map_err(|_| gone())?;
        answered.recv().map_err(|_| gone())?
    }
}

impl Drop for Starter {
    fn drop(&mut self) {
        // Its workers have ended (the pool's drop): the thread may go.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The render the pool serves now: how a worker prepares for it (one
/// started during it too), and what cancels it.
struct RenderOn {
    begin: Begin,
    cancel: Arc<AtomicBool>,
}

/// One tile at a time's way to a worker: shared memory for its planes.
/// The tile goes over the worker's socket, in order with the other lanes'
/// tiles; its reply comes back on the lane's own socket.
struct Lane {
    worker: usize,
    index: usize,
    shared: SharedTiles,
}

/// A worker process and what its lanes share. The process is started
/// again after it dies, so that tiles after a failed one still render (the
/// lowest failing tile is the one reported).
struct WorkerLink {
    /// Each lane's shared memory, handed to every process of this link.
    memories: Vec<OwnedFd>,
    state: Mutex<LinkState>,
}

struct LinkState {
    /// None before the first start and after the process died.
    process: Option<Process>,
    /// Counts processes started: a reply comes from the one its tile went to.
    generation: u64,
    /// The next request's number: counted over every process of the link,
    /// so that a lane's memory never shows a number of another process's.
    next_request: u64,
    /// The worker processes, each from its start until just before it is
    /// waited for, for the terminal's job control (the runtime's: passed on
    /// by the command that renders).
    job_children: Arc<JobChildren>,
    /// How each process of this link that died ended, by generation.
    ended: Vec<(u64, u32, Death)>,
    /// The process interrupted for a cancel (its generation), and until
    /// when its lanes wait for its answers.
    interrupted: Option<(u64, Instant)>,
}

struct Process {
    child: Child,
    /// Tiles to the worker (and, as it starts, its word that it is ready).
    channel: Channel,
    /// Each lane's socket for its replies; taken by the render thread
    /// waiting on it.
    replies: Vec<Option<Channel>>,
}

#[derive(Clone)]
enum Death {
    /// It exited or was killed: its status, if it could be had.
    Exited(Option<ExitStatus>),
    /// It closed its connection but did not exit (a node closing
    /// descriptors it did not open), and was killed.
    Closed,
    /// A socket failed otherwise.
    Broken(String),
}

/// A tile sent: the process it went to, its number, and the socket its
/// reply comes on.
struct Sent {
    generation: u64,
    request: u64,
    replies: Channel,
}

/// Why a tile got no reply.
enum Lost {
    /// The render was cancelled while the tile's worker computed it.
    Cancelled,
    /// The render was cancelled before the tile's worker started it: it
    /// waited behind a tile that ran on, or was not handed over at all.
    CancelledBeforeStart,
    /// Its worker died computing it.
    Died { pid: u32, how: Death },
    /// Its worker died before it got to this tile (computing another): the
    /// tile is to be sent again.
    NotRun,
    /// No worker could be started.
    Start(PythonError),
    /// This process failed to hand the tile over.
    Failed(String),
}

impl ProcessPool {
    /// Starts `count` workers, waits until each has loaded the scene, and
    /// begins a render in each ([`ProcessPool::begin`]).
    pub fn start(
        launch: Launch,
        count: usize,
        begin: Begin,
        cancel: Arc<AtomicBool>,
        job_children: Arc<JobChildren>,
    ) -> Result<ProcessPool, PythonError> {
        // Beyond what the process has open already (the scene, the image,
        // Python's own); where the limit cannot be raised, starting a worker
        // says so.
        let _ = tessera_process::allow_descriptors((count * DESCRIPTORS_PER_WORKER + 256) as u64);
        let (give_back, idle) = unbounded();
        let mut workers = Vec::with_capacity(count);
        let mut lanes = Vec::with_capacity(count * LANES_PER_WORKER);
        for worker in 0..count {
            let mut memories = Vec::with_capacity(LANES_PER_WORKER);
            for index in 0..LANES_PER_WORKER {
                let shared = SharedTiles::create().map_err(|e| start_error(&launch, &e))?;
                memories.push(shared.duplicate().map_err(|e| start_error(&launch, &e))?);
                lanes.push(Lane {
                    worker,
                    index,
                    shared,
                });
            }
            workers.push(WorkerLink {
                memories,
                state: Mutex::new(LinkState {
                    process: None,
                    generation: 0,
                    next_request: 0,
                    job_children: job_children.clone(),
                    ended: Vec::new(),
                    interrupted: None,
                }),
            });
        }
        // A lane of every worker before a second lane of any: fewer tiles
        // at once than lanes still spread over every worker.
        lanes.sort_by_key(|lane| (lane.index, lane.worker));
        for lane in lanes {
            let _ = give_back.send(lane);
        }
        let starter = Starter::new(launch).map_err(|e| PythonError::Workers(e.to_string()))?;
        let pool = ProcessPool {
            workers,
            idle,
            give_back,
            starter,
            lingering: Mutex::default(),
            owner: std::process::id(),
            render: Mutex::new(RenderOn {
                begin,
                cancel: cancel.clone(),
            }),
        };
        // Every worker loads the scene at once; then each is waited for.
        let mut starting = Vec::with_capacity(count);
        for link in &pool.workers {
            starting.push(link.spawn(&pool.starter, &job_children)?);
        }
        for (link, started) in pool.workers.iter().zip(starting) {
            let launch = &pool.starter.launch;
            let process = started.wait_ready(launch, &cancel, &job_children)?;
            link.state().install(process);
        }
        pool.begin(begin, cancel)?;
        Ok(pool)
    }

    /// Whether this pool's workers are those a render with `launch` and
    /// `count` render threads computing would start.
    pub fn serves(&self, launch: &Launch, count: usize) -> bool {
        self.owner == std::process::id()
            && self.starter.launch == *launch
            && self.workers.len() == count
    }

    /// Begins a render: every worker prepares its interpreter for it
    /// (`begin`), all at once. A worker that died since the last render is
    /// started again when a tile needs it.
    pub fn begin(&self, begin: Begin, cancel: Arc<AtomicBool>) -> Result<(), PythonError> {
        *lock(&self.render) = RenderOn {
            begin,
            cancel: cancel.clone(),
        };
        let mut result = Ok(());
        for link in self.ask_every_worker(Request::Begin(begin)) {
            // Every worker asked is heard (or stopped) before this returns.
            result = result.and(link.answered(&cancel).map(drop));
        }
        result
    }

    /// Ends the render: every worker writes out what its nodes printed,
    /// and waits for the next render. (After a cancelled render, one that
    /// does not answer at once is stopped.)
    pub fn end(&self) {
        let cancel = self.cancel();
        let mut lingering = Vec::new();
        for link in self.ask_every_worker(Request::End) {
            // A worker that could not answer is stopped: the next tile
            // that needs it starts it again.
            lingering.extend(link.answered(&cancel).unwrap_or_default());
        }
        *lock(&self.lingering) = lingering;
    }

    /// The threads the workers' nodes left running when the last render
    /// ended, each with its worker's pid.
    pub fn lingering_threads(&self) -> Vec<String> {
        lock(&self.lingering).clone()
    }

    /// Sends `request` to every worker that runs (burying one whose socket
    /// failed); gives the links of those sent it.
    fn ask_every_worker(&self, request: Request<&Evaluate>) -> Vec<&WorkerLink> {
        let mut asked = Vec::with_capacity(self.workers.len());
        for link in &self.workers {
            let mut state = link.state();
            if let Some(process) = state.process.as_mut() {
                match process.channel.send(&request) {
                    Ok(()) => asked.push(link),
                    Err(error) => state.bury(error),
                }
            }
        }
        asked
    }

    /// What cancels the render on now.
    fn cancel(&self) -> Arc<AtomicBool> {
        lock(&self.render).cancel.clone()
    }

    /// Evaluates `node` over the tile in a worker process.
    pub fn evaluate(
        &self,
        node: &NodeState,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        // What the worker's death or a cancel cost: the tile, not a pixel
        // (the render names the tile).
        let mut lane = (self.idle.recv())
            .map_err(|_| NodeError::new("the Python worker processes are gone"))?;
        let result = self.evaluate_in(&mut lane, ctx, inputs, outputs);
        let worker = lane.worker;
        let _ = self.give_back.send(lane);
        match result {
            // Not a failure of the node, nor the tile that was running when
            // the render stopped (which a cancelled render reports): the
            // render writes nothing now, so these samples are never used.
            Err(Lost::CancelledBeforeStart) => {
                for output in outputs.iter_mut() {
                    output.data_mut().fill(0.0);
                }
                Ok(())
            }
            Ok(done) => {
                for &(x, y, s) in &done.failed_samples {
                    ctx.failures.record(x, y, s);
                }
                node.core.absorb_painted(done.painted, done.first_painted);
                done.error.map_or(Ok(()), |e| Err(e.into()))
            }
            Err(lost) => Err(NodeError::new(match lost {
                Lost::Cancelled | Lost::CancelledBeforeStart => format!(
                    "its Python worker process did not stop within {} ms of the interrupt, and was killed",
                    INTERRUPT_GRACE.as_millis()
                ),
                Lost::Died {
                    pid,
                    how: Death::Exited(status),
                } => format!(
                    "the Python worker process running {}.{} (pid {pid}) {}; \
                     a node must not end its process (os._exit, a crash in a C extension); \
                     its last words, if any, are above",
                    node.core.class_name,
                    node.core.method_name(),
                    status.map_or("ended".to_string(), describe_exit),
                ),
                Lost::Died {
                    pid,
                    how: Death::Closed,
                } => format!(
                    "the Python worker process running {}.{} (pid {pid}) closed its connection to \
                     the render process but did not exit, and was killed; a node must not close \
                     descriptors it did not open",
                    node.core.class_name,
                    node.core.method_name(),
                ),
                Lost::Died {
                    pid,
                    how: Death::Broken(why),
                } => format!("lost touch with the Python worker process (pid {pid}): {why}"),
                Lost::NotRun => format!(
                    "the Python worker process {worker} died {} times before it got to this tile",
                    RESENDS + 1,
                ),
                Lost::Start(error) => error.to_string(),
                Lost::Failed(why) => why,
            })),
        }
    }

    /// Sends the tile through `lane` (again, if its worker died computing
    /// another tile) and waits for its outputs.
    fn evaluate_in(
        &self,
        lane: &mut Lane,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<Done, Lost> {
        let link = &self.workers[lane.worker];
        let (begin, cancel) = {
            let render = lock(&self.render);
            (render.begin, render.cancel.clone())
        };
        let at = lane.write_inputs(inputs, outputs)?;
        let mut request = Evaluate {
            node: ctx.node_id.to_string(),
            node_hash: ctx.node_hash,
            tile: ctx.tile_index,
            rect: (ctx.rect.x, ctx.rect.y, ctx.rect.width, ctx.rect.height),
            frame: Frame::from(ctx.frame),
            lane: lane.index,
            request: 0,
            inputs: inputs.iter().map(|b| (b.channels(), b.len())).collect(),
            outputs: outputs.iter().map(|b| (b.channels(), b.len())).collect(),
            shared_bytes: lane.shared.len(),
        };
        for _ in 0..=RESENDS {
            let reply = link
                .send(&mut request, &self.starter, begin, &cancel)
                .and_then(|sent| ctx.while_waiting(|| link.reply(sent, lane, &cancel)));
            match reply {
                Ok(Reply::Done(done)) => {
                    if done.error.is_none() {
                        lane.read_outputs(at, outputs);
                    }
                    return Ok(done);
                }
                Ok(other) => {
                    return Err(Lost::Failed(format!(
                        "a Python worker process replied {other:?} to a tile"
                    )));
                }
                Err(Lost::NotRun) => {}
                Err(lost) => return Err(lost),
            }
        }
        Err(Lost::NotRun)
    }
}

fn start_error(launch: &Launch, why: &dyn std::fmt::Display) -> PythonError {
    PythonError::Workers(format!(
        "cannot start a Python worker process ({}): {why}",
        launch.program.display()
    ))
}

impl Lane {
    /// Copies the inputs' planes into the shared memory, grown to hold the
    /// outputs' too; gives where the outputs' planes start.
    fn write_inputs(&mut self, inputs: &[&Buffer], outputs: &[Buffer]) -> Result<usize, Lost> {
        let floats: usize = (inputs.iter().map(|b| b.data().len()))
            .chain(outputs.iter().map(|b| b.data().len()))
            .sum();
        let failed =
            |e: io::Error| Lost::Failed(format!("cannot grow the shared tile memory: {e}"));
        self.shared.reserve(floats).map_err(failed)?;
        let memory = self.shared.floats();
        let mut at = 0;
        for input in inputs {
            memory[at..at + input.data().len()].copy_from_slice(input.data());
            at += input.data().len();
        }
        Ok(at)
    }

    fn read_outputs(&mut self, mut at: usize, outputs: &mut [Buffer]) {
        let memory = self.shared.floats();
        for output in outputs.iter_mut() {
            let data = output.data_mut();
            data.copy_from_slice(&memory[at..at + data.len()]);
            at += data.len();
        }
    }
}

/// Why a worker did not answer [`Request::Begin`] or [`Request::End`].
enum Unanswered {
    /// Preparing Python for the render failed: what the user is told.
    SetupFailed(String),
    /// A node's new instance for the render failed to set up: what the user
    /// is told, as in the render process.
    RenewFailed(String),
    Cancelled,
    /// It ended, or its socket failed.
    Gone(io::Error),
}

impl Unanswered {
    fn into_error(self) -> PythonError {
        match self {
            Unanswered::SetupFailed(message) => PythonError::Workers(format!(
                "a Python worker process could not prepare the render:\n{message}"
            )),
            Unanswered::RenewFailed(message) => PythonError::Setup(message),
            Unanswered::Cancelled => PythonError::Workers(
                "cancelled while the Python worker processes prepared the render".into(),
            ),
            Unanswered::Gone(error) => {
                PythonError::Workers(format!("a Python worker process ended: {error}"))
            }
        }
    }
}

impl Process {
    /// Waits on the worker's socket for its answer to a [`Request::Begin`]
    /// or [`Request::End`]: the threads its nodes left running, for an End.
    fn answer(&mut self, cancel: &AtomicBool) -> Result<Vec<String>, Unanswered> {
        match self.channel.receive::<Reply>(cancel) {
            Ok(Received::Message(Reply::Ready)) => Ok(Vec::new()),
            Ok(Received::Message(Reply::Ended { lingering })) => Ok(lingering),
            Ok(Received::Message(Reply::SetupFailed(message))) => {
                Err(Unanswered::SetupFailed(message))
            }
            Ok(Received::Message(Reply::RenewFailed(message))) => {
                Err(Unanswered::RenewFailed(message))
            }
            Ok(Received::Message(Reply::Done(_))) => Err(Unanswered::Gone(io::Error::other(
                "it answered a tile on its socket",
            ))),
            Ok(Received::Cancelled) => Err(Unanswered::Cancelled),
            Ok(Received::Closed) => Err(Unanswered::Gone(io::ErrorKind::BrokenPipe.into())),
            Err(error) => Err(Unanswered::Gone(error)),
        }
    }
}

/// A worker process started, not yet ready.
struct Starting {
    spawned: Spawned,
    replies: Vec<Channel>,
}

impl WorkerLink {
    fn state(&self) -> MutexGuard<'_, LinkState> {
        lock(&self.state)
    }

    /// Starts a worker process for the link, with a reply socket per lane
    /// (one of the `job_children` from now on).
    fn spawn(
        &self,
        starter: &Starter,
        job_children: &JobChildren,
    ) -> Result<Starting, PythonError> {
        let failed = |e: io::Error| start_error(&starter.launch, &e);
        let mut replies = Vec::with_capacity(self.memories.len());
        let mut theirs = Vec::with_capacity(self.memories.len());
        for _ in &self.memories {
            let (ours, their_end) = UnixStream::pair().map_err(failed)?;
            let ours = Channel::new(ours).map_err(failed)?;
            ours.poll_cancel().map_err(failed)?;
            replies.push(ours);
            theirs.push(their_end);
        }
        // Each lane's memory, then its reply socket.
        let fds: Vec<RawFd> = (self.memories.iter().zip(&theirs))
            .flat_map(|(memory, reply)| [memory.as_raw_fd(), reply.as_raw_fd()])
            .collect();
        let options = Options {
            // Ctrl-C reaches the render process, which stops the workers.
            own_group: true,
            no_stdin: true,
        };
        // numpy's BLAS gets one thread in a worker as in the render
        // process (tessera._limit_library_threads, run in every interpreter).
        let spawned = starter.spawn(fds, options).map_err(failed)?;
        spawned.channel.poll_cancel().map_err(failed)?;
        job_children.add(spawned.child.id());
        Ok(Starting { spawned, replies })
    }

    /// Sends `request` (numbering it), starting the link's process first
    /// if it died.
    fn send(
        &self,
        request: &mut Evaluate,
        starter: &Starter,
        begin: Begin,
        cancel: &AtomicBool,
    ) -> Result<Sent, Lost> {
        let mut state = self.state();
        // Once the render is cancelled no tile is handed over: nothing it
        // computed would be used, and a node downstream of a tile that never
        // ran would be computing on samples that are not its input's.
        if cancel.load(Ordering::Relaxed) {
            return Err(Lost::CancelledBeforeStart);
        }
        if state.process.is_none() {
            let restarted = self.restart(&mut state, starter, begin, cancel);
            if let Err(lost) = restarted {
                // A worker the cancel stopped from starting failed no tile.
                return Err(match cancel.load(Ordering::Relaxed) {
                    true => Lost::CancelledBeforeStart,
                    false => lost,
                });
            }
        }
        state.next_request += 1;
        request.request = state.next_request;
        let generation = state.generation;
        let process = state.process.as_mut().expect("started above");
        let replies = (process.replies[request.lane].take())
            .expect("a lane's reply socket is used by one thread at a time");
        // A worker that died is seen as its reply socket closing, by the
        // wait that follows: the tile was not started then.
        if let Err(error) = process.channel.send(&Request::Evaluate(&*request))
            && error.kind() != io::ErrorKind::BrokenPipe
        {
            state.bury(error);
            return Err(Lost::NotRun);
        }
        Ok(Sent {
            generation,
            request: request.request,
            replies,
        })
    }

    /// Starts the link's process again, during a render: loaded and
    /// prepared for the render as the others were at its start.
    fn restart(
        &self,
        state: &mut LinkState,
        starter: &Starter,
        begin: Begin,
        cancel: &AtomicBool,
    ) -> Result<(), Lost> {
        let launch = &starter.launch;
        let job_children = &state.job_children;
        let started = self.spawn(starter, job_children).map_err(Lost::Start)?;
        let ready = started.wait_ready(launch, cancel, job_children);
        let mut process = ready.map_err(Lost::Start)?;
        let asked = process.channel.send(&Request::<&Evaluate>::Begin(begin));
        let answered = asked
            .map_err(Unanswered::Gone)
            .and_then(|()| process.answer(cancel));
        state.install(process);
        match answered {
            Ok(_) => Ok(()),
            Err(Unanswered::Gone(error)) => {
                state.bury(error);
                Err(Lost::Start(start_error(
                    launch,
                    &"it ended while preparing the render",
                )))
            }
            Err(unanswered) => {
                state.bury(io::Error::other("it could not prepare the render"));
                Err(Lost::Start(unanswered.into_error()))
            }
        }
    }

    /// Waits for the worker's answer to a [`Request::Begin`] or
    /// [`Request::End`] (the threads its nodes left running, named with its
    /// pid). A worker that ended meanwhile is buried, to be started again
    /// when a tile needs it; one that was cancelled before it answered is
    /// stopped, so that its answer is never read as another's.
    fn answered(&self, cancel: &AtomicBool) -> Result<Vec<String>, PythonError> {
        let mut state = self.state();
        let Some(process) = state.process.as_mut() else {
            return Ok(Vec::new());
        };
        let pid = process.child.id();
        match process.answer(cancel) {
            Ok(lingering) => Ok((lingering.into_iter())
                .map(|thread| format!("{thread} (in worker process {pid})"))
                .collect()),
            Err(Unanswered::Gone(error)) => {
                state.bury(error);
                Ok(Vec::new())
            }
            Err(Unanswered::Cancelled) => {
                state.bury(io::Error::other("the render was cancelled"));
                Err(Unanswered::Cancelled.into_error())
            }
            Err(failed) => Err(failed.into_error()),
        }
    }

    /// Waits for the reply to a tile sent through `lane`.
    fn reply(&self, sent: Sent, lane: &Lane, cancel: &AtomicBool) -> Result<Reply, Lost> {
        let Sent {
            generation,
            request,
            mut replies,
        } = sent;
        let received = match replies
            .receive_past_strays::<Reply>(|| !cancel.load(Ordering::Relaxed))
        {
            Ok(Received::Cancelled) => return self.cancelled(generation, request, replies, lane),
            received => received,
        };
        let mut state = self.state();
        let current = state.generation == generation && state.process.is_some();
        match received {
            Ok(Received::Message(reply)) => {
                if let Some(process) = state.process.as_mut().filter(|_| current) {
                    process.replies[lane.index] = Some(replies);
                }
                Ok(reply)
            }
            // The worker stopped by the cancel of a tile in another lane.
            _ if cancel.load(Ordering::Relaxed) => {
                if current {
                    state.bury(io::Error::other("the render was cancelled"));
                }
                Err(Lost::CancelledBeforeStart)
            }
            Ok(Received::Closed) | Err(_) if lane.shared.started() != Some(request) => {
                if current {
                    state.bury(io::Error::from(io::ErrorKind::BrokenPipe));
                }
                Err(Lost::NotRun)
            }
            Ok(Received::Closed | Received::Cancelled) => {
                if current {
                    state.bury(io::Error::from(io::ErrorKind::BrokenPipe));
                }
                Err(state.death(generation))
            }
            Err(error) => {
                if current {
                    state.bury(error);
                }
                Err(state.death(generation))
            }
        }
    }

    /// The render was cancelled while `lane` waited for the reply to
    /// `request`. As in process, the node running is interrupted
    /// (KeyboardInterrupt) and given a moment to answer, naming its pixel
    /// and line; a lane whose tile the worker had not started waits with it,
    /// so as not to stop it first. Then the worker is stopped: it may have
    /// tiles queued, or the interrupt pending.
    fn cancelled(
        &self,
        generation: u64,
        request: u64,
        mut replies: Channel,
        lane: &Lane,
    ) -> Result<Reply, Lost> {
        // Whether the worker had started this tile when the cancel came: one
        // started later is not a failure of the render.
        let started = lane.shared.started() == Some(request);
        let deadline = {
            let mut state = self.state();
            if state.generation != generation || state.process.is_none() {
                return Err(Lost::CancelledBeforeStart);
            }
            state.interrupt_once(generation)
        };
        let received = replies.receive_past_strays(|| {
            let state = self.state();
            Instant::now() < deadline && state.generation == generation && state.process.is_some()
        });
        let mut state = self.state();
        if state.generation == generation {
            state.bury(io::Error::other("the render was cancelled"));
        }
        match received {
            Ok(Received::Message(reply)) => Ok(reply),
            _ if started => Err(Lost::Cancelled),
            _ => Err(Lost::CancelledBeforeStart),
        }
    }

    /// Tells the process to finish: closing its sockets is what does it.
    /// Gives the process, to wait for.
    fn close(&self) -> Option<Child> {
        let mut state = self.state();
        let Process { child, .. } = state.process.take()?;
        state.forget(&child);
        Some(child)
    }
}

impl Starting {
    /// Waits until the process has loaded the scene; one that did not is
    /// taken off `job_children` and stopped.
    fn wait_ready(
        self,
        launch: &Launch,
        cancel: &AtomicBool,
        job_children: &JobChildren,
    ) -> Result<Process, PythonError> {
        let Starting {
            spawned: Spawned {
                mut child,
                mut channel,
            },
            replies,
        } = self;
        let failed = match channel.receive(cancel) {
            Ok(Received::Message(Reply::Ready)) => {
                return Ok(Process {
                    child,
                    channel,
                    replies: replies.into_iter().map(Some).collect(),
                });
            }
            // A script's import or a setup() that failed only there (a node
            // taking a resource the render process holds): a scene error,
            // as it would be in process.
            Ok(Received::Message(Reply::SetupFailed(message))) => PythonError::Setup(format!(
                "a Python worker process could not load the scene:\n{message}"
            )),
            Ok(Received::Message(Reply::Done(_) | Reply::RenewFailed(_) | Reply::Ended { .. })) => {
                start_error(launch, &"it replied before it was asked")
            }
            Ok(Received::Cancelled) => {
                PythonError::Workers("cancelled while the Python worker processes started".into())
            }
            Ok(Received::Closed) => {
                tessera_process::exits_within(&child, Duration::from_secs(2));
                job_children.remove(child.id());
                let how = stop(&mut child).map_or("ended".to_string(), describe_exit);
                return Err(PythonError::WorkerDied(format!(
                    "a Python worker process ({}, pid {}) {how} while loading the scene \
                     (importing its scripts, setting its nodes up): a script or a node's setup() \
                     must not end its process; no image written",
                    launch.program.display(),
                    child.id()
                )));
            }
            Err(e) => start_error(launch, &e),
        };
        job_children.remove(child.id());
        stop(&mut child);
        Err(failed)
    }
}

/// How long an interrupted worker has to answer before it is stopped:
/// well within the half second the supervising `tessera` gives the render
/// process to stop by itself.
const INTERRUPT_GRACE: Duration = Duration::from_millis(300);

impl LinkState {
    /// Interrupts the process of `generation` (once), as Ctrl-C interrupts
    /// the render process's own nodes; until when to wait for its answers.
    fn interrupt_once(&mut self, generation: u64) -> Instant {
        if let Some((interrupted, deadline)) = self.interrupted
            && interrupted == generation
        {
            return deadline;
        }
        if let Some(process) = &self.process {
            tessera_process::send_stop(process.child.id(), StopSignal::Interrupt);
        }
        let deadline = Instant::now() + INTERRUPT_GRACE;
        self.interrupted = Some((generation, deadline));
        deadline
    }

    fn install(&mut self, process: Process) {
        self.generation += 1;
        self.process = Some(process);
    }

    /// Records how the process ended (it closed a socket, or one failed:
    /// then it is stopped), and that it is gone.
    fn bury(&mut self, error: io::Error) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        self.forget(&process.child);
        let how = if error.kind() == io::ErrorKind::BrokenPipe
            || tessera_process::exits_within(&process.child, Duration::ZERO)
        {
            // Closing its end means it is exiting: its status is its own,
            // not the kill that `stop` sends its group.
            if tessera_process::exits_within(&process.child, Duration::from_secs(2)) {
                Death::Exited(stop(&mut process.child))
            } else {
                stop(&mut process.child);
                Death::Closed
            }
        } else {
            stop(&mut process.child);
            Death::Broken(error.to_string())
        };
        self.ended.push((self.generation, process.child.id(), how));
    }

    /// Takes `child` off the pool's job children, before it is waited for.
    fn forget(&self, child: &Child) {
        self.job_children.remove(child.id());
    }

    /// How the process of `generation` died, computing a tile.
    fn death(&self, generation: u64) -> Lost {
        let ended = (self.ended.iter()).find(|(g, _, _)| *g == generation);
        match ended {
            Some((_, pid, how)) => Lost::Died {
                pid: *pid,
                how: how.clone(),
            },
            None => Lost::Failed("a Python worker process ended unseen".into()),
        }
    }
}

/// Kills a process (if it still runs), and what a node in it forked, and
/// waits for it: its status.
fn stop(child: &mut Child) -> Option<ExitStatus> {
    tessera_process::kill_group(child);
    child.wait().ok()
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        if self.owner != std::process::id() {
            // A fork's copy: its descriptors close, the workers are left to
            // the process that started them, and the starting thread, which
            // a fork does not copy, is not joined.
            std::mem::forget(self.starter.thread.take());
            return;
        }
        // No render is on: no lane is in use. Each worker flushes its
        // output and exits when its sockets close; all are given one grace
        // period (a fork of this process holding copies of the sockets
        // keeps them from seeing it), then killed.
        let closed: Vec<Child> = self.workers.iter().filter_map(WorkerLink::close).collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        for mut child in closed {
            wait_or_kill(
                &mut child,
                deadline.saturating_duration_since(Instant::now()),
            );
        }
    }
}
