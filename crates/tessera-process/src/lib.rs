//! The processes Tessera starts and watches, one model for all of them: the
//! Python worker processes of `--python-workers processes`, and the
//! supervised render that the `tessera` command runs its work in.
//!
//! A parent starts a child with [`spawn`]: the child gets a Unix socket
//! (and any other descriptors the parent hands it, such as shared memory),
//! named in `TESSERA_CHILD_FDS`; it dies with the parent (Linux's
//! parent-death signal); and, when asked, it has its own process group, so
//! that Ctrl-C at the terminal reaches only the parent, which decides what
//! to stop. Messages go both ways over the socket as JSON lines
//! ([`Channel`]); a child that dies is seen as the socket closing, and
//! [`describe_exit`] says how it ended. The child finds its end with
//! [`inherited`].

mod channel;

pub use channel::{Channel, Received};

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};
use std::time::{Duration, Instant};

/// A program to start as a child, with its arguments and the environment
/// variables it needs beyond the parent's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    /// The folder to start it in (relative paths in `args` are from it);
    /// None: the parent's current folder.
    pub dir: Option<PathBuf>,
    /// What it reads on its standard input, instead of the parent's (or
    /// nothing, under [`Options::no_stdin`]): a scene the parent read from
    /// its own standard input.
    pub input: Option<Arc<str>>,
}

/// The variable naming a child's inherited descriptors: the socket first,
/// then the others, comma-separated.
const FDS_VARIABLE: &str = "TESSERA_CHILD_FDS";

/// How to start a child.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Its own process group: Ctrl-C at the terminal does not reach it.
    pub own_group: bool,
    /// Standard input closed (nodes must not wait on the terminal).
    pub no_stdin: bool,
}

/// A running child and the parent's end of its socket.
pub struct Spawned {
    pub child: Child,
    pub channel: Channel,
}

/// Starts `launch` as a child that inherits a new socket and `extra`
/// descriptors (which must stay open until this returns).
pub fn spawn(launch: &Launch, extra: &[RawFd], options: Options) -> io::Result<Spawned> {
    let (ours, theirs) = UnixStream::pair()?;
    let mut inherited = vec![theirs.as_raw_fd()];
    inherited.extend_from_slice(extra);
    let names: Vec<String> = inherited.iter().map(|fd| fd.to_string()).collect();
    let mut command = Command::new(&launch.program);
    command
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .env(FDS_VARIABLE, names.join(","));
    if launch.input.is_some() {
        command.stdin(Stdio::piped());
    } else if options.no_stdin {
        command.stdin(Stdio::null());
    }
    if let Some(dir) = &launch.dir {
        command.current_dir(dir);
    }
    let parent = std::process::id() as libc::pid_t;
    let own_group = options.own_group;
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (fcntl, setpgid, prctl, getppid), on descriptors this process owns;
    // `inherited` is moved in, not allocated there.
    unsafe {
        command.pre_exec(move || {
            for &fd in &inherited {
                // Kept across exec: these descriptors only (std opens every
                // descriptor close-on-exec).
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            // Killed with the parent, even if the parent is killed outright
            // while the child is busy (it would only see its socket close
            // when it next reads).
            group_and_parent_death(own_group, libc::SIGKILL, parent)
        });
    }
    let mut child = command.spawn()?;
    drop(theirs);
    if let Some(input) = &launch.input {
        feed_input(&mut child, input.clone());
    }
    Ok(Spawned {
        child,
        channel: Channel::new(ours)?,
    })
}

/// Writes `input` to `child`'s standard input (piped) and closes it, from a
/// thread of its own: a child that reads only part of it, or none, never
/// holds up the parent.
pub fn feed_input(child: &mut Child, input: Arc<str>) {
    if let Some(mut stdin) = child.stdin.take() {
        let _ = std::thread::Builder::new()
            .name("tessera-input".into())
            .spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(input.as_bytes());
            });
    }
}

/// Starts `command`'s process in a process group of its own, and has it
/// sent SIGTERM when this process ends, even killed outright: a child
/// that stops cleanly on SIGTERM (a `tessera render`) then does.
pub fn own_group_stopped_with_parent(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (setpgid, prctl, getppid).
    unsafe {
        command.pre_exec(move || group_and_parent_death(true, libc::SIGTERM, parent));
    }
}

/// In a child between fork and exec: its own process group if asked, and
/// `signal` when its parent ends. Linux sends it when the spawning thread
/// ends, so spawn from a thread that outlives the child.
///
/// A group of its own is never the terminal's foreground group: under
/// `stty tostop` the terminal would stop the child (SIGTTOU) at the first
/// line it (or a node) writes, and the render would hang. It ignores
/// SIGTTOU, so its writes go through, as its parent's do.
fn group_and_parent_death(
    own_group: bool,
    signal: libc::c_int,
    parent: libc::pid_t,
) -> io::Result<()> {
    // SAFETY: setpgid, signal, prctl and getppid are async-signal-safe and
    // touch no memory of this process.
    unsafe {
        if own_group {
            if libc::setpgid(0, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, signal) == -1 {
            return Err(io::Error::last_os_error());
        }
        if libc::getppid() != parent {
            // The parent died before the signal was asked for.
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
    }
    Ok(())
}

/// The child's side: its socket and the other descriptors its parent
/// handed it, or None when this process was not started by [`spawn`].
///
/// Call it once: the descriptors are adopted by what it returns.
pub fn inherited() -> Option<(Channel, Vec<RawFd>)> {
    let value = std::env::var(FDS_VARIABLE).ok()?;
    let fds: Vec<RawFd> = value
        .split(',')
        .map(|fd| fd.parse().ok())
        .collect::<Option<_>>()?;
    let valid = |fd: RawFd| {
        // SAFETY: F_GETFD only queries the descriptor.
        unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
    };
    let (&socket, extra) = fds.split_first()?;
    if !fds.iter().all(|&fd| valid(fd)) {
        return None;
    }
    // Grandchildren (a worker's, a node's `os.system`) must not inherit
    // them, nor take the variable for theirs.
    for &fd in &fds {
        // SAFETY: sets a flag of a descriptor checked valid above.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: removing a variable while other threads read the environment
    // is a data race; children call this first thing, before any thread.
    unsafe { std::env::remove_var(FDS_VARIABLE) };
    // SAFETY: the parent passed this socket to this process for this
    // connection alone, and nothing else adopts it.
    let stream = unsafe { UnixStream::from_raw_fd(socket) };
    let channel = Channel::new(stream).ok()?;
    Some((channel, extra.to_vec()))
}

/// Raises this process's soft limit on open descriptors to `needed` (as far
/// as the hard limit allows) when it is lower: children and their sockets
/// and shared memory take several each, and a common soft limit of 1024
/// runs out at about a hundred workers.
pub fn allow_descriptors(needed: u64) -> io::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limit into the struct given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == -1 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur >= needed as libc::rlim_t {
        return Ok(());
    }
    limit.rlim_cur = (needed as libc::rlim_t).min(limit.rlim_max);
    // SAFETY: setrlimit reads the struct given; a soft limit up to the hard
    // one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Kills every process of the group `child` leads (a child started with
/// [`Options::own_group`]): the child, if it still runs, and whatever it or
/// a node in it forked. Call it before waiting for the child: until then
/// the child's pid, and so its group's id, cannot be reused.
pub fn kill_group(child: &Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // A negative pid names the group the child leads.
        signal(-pid, libc::SIGKILL);
    }
}

/// Sends `signal` to `pid` (a process, or with a minus sign, a group).
fn signal(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(pid, signal) };
}

/// Sets `flag` when `child` exits, from a thread of its own, without
/// waiting for it (reaping it): its pid stays reserved, so that
/// [`kill_group`] can still reach what it leaves behind. A parent reading
/// the child's socket learns of its exit this way even while a process the
/// child forked keeps the socket open.
pub fn flag_exit(child: &Child, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let pid = child.id();
    let _ = std::thread::Builder::new()
        .name("tessera-child-exit".into())
        .spawn(move || {
            exited_unreaped(pid, true);
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
}

/// Blocks until `child` exits, without reaping it: its pid stays its own,
/// and safe to signal, until it is waited for.
pub fn await_exit(child: &Child) {
    exited_unreaped(child.id(), true);
}

/// Whether child `pid` has exited, without reaping it: now, or (`block`)
/// once it has. An error (no such child) counts as exited.
fn exited_unreaped(pid: libc::id_t, block: bool) -> bool {
    let flags = libc::WEXITED | libc::WNOWAIT | if block { 0 } else { libc::WNOHANG };
    loop {
        // SAFETY: waitid writes the siginfo it is given; WNOWAIT leaves the
        // child to be waited for by its owner.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let found = unsafe { libc::waitid(libc::P_PID, pid, &mut info, flags) };
        if found != 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        // SAFETY: si_pid is valid to read in a siginfo filled by waitid
        // (0 under WNOHANG while the child runs).
        return found != 0 || unsafe { info.si_pid() } != 0;
    }
}

/// A signal asking a process to stop, which Tessera stops for as cleanly
/// as for Ctrl-C: the work is cancelled, no file is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT: Ctrl-C at the terminal.
    Interrupt,
    /// SIGTERM: `kill`, `timeout(1)`, a service manager or a CI runner.
    Terminate,
    /// SIGHUP: the terminal closed.
    HangUp,
}

impl StopSignal {
    pub const ALL: [StopSignal; 3] = [
        StopSignal::Interrupt,
        StopSignal::Terminate,
        StopSignal::HangUp,
    ];

    fn number(self) -> libc::c_int {
        match self {
            StopSignal::Interrupt => libc::SIGINT,
            StopSignal::Terminate => libc::SIGTERM,
            StopSignal::HangUp => libc::SIGHUP,
        }
    }

    /// The exit code of a process it stopped, as a shell reports one that
    /// the signal killed: 128 + its number (130, 143, 129).
    pub fn exit_code(self) -> u8 {
        128 + self.number() as u8
    }

    /// The stop signal whose exit code `code` is, if any.
    pub fn from_exit_code(code: u8) -> Option<StopSignal> {
        (StopSignal::ALL.into_iter()).find(|stop| stop.exit_code() == code)
    }

    /// What stopped the process, in words.
    pub fn describe(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "interrupted (Ctrl-C)",
            StopSignal::Terminate => "terminated (SIGTERM)",
            StopSignal::HangUp => "hung up (SIGHUP: the terminal closed)",
        }
    }
}

/// Calls `handler` on a thread of its own for every one of `stops` this
/// process receives, which then no longer end it; but for a SIGHUP it was
/// started ignoring (`nohup`), which it goes on ignoring. (A shell's
/// background job starts ignoring SIGINT too; `kill -INT` still stops
/// Tessera there, as the tests do.) Should a node close the descriptors the
/// signals arrive through (`os.closerange`), the thread ends quietly
/// (signal-hook's own iterator panics) and the signals end the process
/// again, as by default.
pub fn on_stop_signals(
    stops: &'static [StopSignal],
    mut handler: impl FnMut(StopSignal) + Send + 'static,
) -> io::Result<()> {
    use signal_hook::iterator::backend::SignalDelivery;
    use signal_hook::iterator::exfiltrator::SignalOnly;
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    let numbers: Vec<libc::c_int> = (stops.iter().map(|s| s.number()))
        .filter(|&number| number != libc::SIGHUP || !is_ignored(number))
        .collect();
    let mut delivery = SignalDelivery::with_pipe(read, write, SignalOnly, numbers.clone())?;
    std::thread::Builder::new()
        .name("tessera-signals".into())
        .spawn(move || {
            while let Ok(Some(pending)) = delivery.poll_pending(&mut wait_for_a_signal) {
                for number in pending {
                    if let Some(&stop) = stops.iter().find(|s| s.number() == number) {
                        handler(stop);
                    }
                }
            }
            // Nothing closes the delivery: it ends only when its descriptors
            // were closed under it (a node's `os.closerange`), and closing
            // them again could close whatever has their numbers now (a debug
            // build's standard library aborts on it).
            std::mem::forget(delivery);
            for number in numbers {
                // SAFETY: restoring a signal's default disposition installs
                // no handler.
                unsafe { libc::signal(number, libc::SIG_DFL) };
            }
        })?;
    Ok(())
}

/// The children a process passes the terminal's job control on to (Ctrl-Z,
/// then `fg` or `bg`): each leads a process group of its own, which the
/// terminal's signals do not reach. Read in a signal handler, so without
/// locks: a fixed number of slots, each a pid or 0.
pub struct JobChildren {
    slots: Box<[AtomicU32]>,
    /// Handlers passing a signal on now: [`JobChildren::remove`] waits for
    /// them, so that no pid is signalled once its child may be reaped.
    passing: AtomicUsize,
}

impl JobChildren {
    /// Room for `capacity` children at once; more are not reached.
    pub fn new(capacity: usize) -> Arc<JobChildren> {
        Arc::new(JobChildren {
            slots: (0..capacity).map(|_| Default::default()).collect(),
            passing: Default::default(),
        })
    }

    /// Adds a child (started in a process group of its own).
    pub fn add(&self, pid: u32) {
        let free = |slot: &AtomicU32| slot.compare_exchange(0, pid, SeqCst, SeqCst).is_ok();
        let _ = self.slots.iter().any(free);
    }

    /// Takes a child off, before it is waited for: once this returns, no
    /// signal is passed on to its pid.
    pub fn remove(&self, pid: u32) {
        for slot in self.slots.iter() {
            let _ = slot.compare_exchange(pid, 0, SeqCst, SeqCst);
        }
        // A handler on another thread may have read the pid just before;
        // one on this thread has finished, having interrupted this one.
        while self.passing.load(SeqCst) > 0 {
            std::hint::spin_loop();
        }
    }

    /// Sends `signal` to every child's group. Async-signal-safe.
    fn pass_on(&self, signal: libc::c_int) {
        self.passing.fetch_add(1, SeqCst);
        for slot in self.slots.iter() {
            let pid = slot.load(SeqCst);
            if let Ok(pid @ 1..) = libc::pid_t::try_from(pid) {
                // SAFETY: kill is async-signal-safe and has no memory effects.
                unsafe { libc::kill(-pid, signal) };
            }
        }
        self.passing.fetch_sub(1, SeqCst);
    }
}

/// Passes the terminal's job control on to `children`, for the rest of the
/// process's life: a SIGTSTP (Ctrl-Z) stops their groups, then this
/// process, as SIGTSTP alone would have (not in an orphaned process group,
/// where the kernel discards it); a SIGCONT (`fg`, `bg`) continues them.
/// Done in the signal handler itself, which leaves the narrowest window for
/// a SIGCONT sent right after the SIGTSTP: one that lands in it leaves this
/// process stopped, and the next SIGCONT (`fg`) continues it and its
/// children. Children left stopped while this process runs get SIGCONT
/// again ([`keep_children_running_with_this_process`]). A SIGTSTP the
/// process was started ignoring stays ignored.
pub fn pass_on_job_control(children: Arc<JobChildren>) -> io::Result<()> {
    if is_ignored(libc::SIGTSTP) {
        return Ok(());
    }
    let events = Arc::new(JobEvents::default());
    let (stopping, suspended) = (children.clone(), events.clone());
    // SAFETY: the action makes only async-signal-safe calls (sigaction,
    // pthread_sigmask, getpid, getppid, getpgid, getsid, gettid, tgkill,
    // kill, raise, open, read, close) and atomic operations.
    unsafe {
        signal_hook::low_level::register(libc::SIGTSTP, move || suspend(&stopping, &suspended))
    }?;
    let (continuing, continued) = (children.clone(), events.clone());
    // SAFETY: as above (kill and atomic operations).
    unsafe {
        signal_hook::low_level::register(libc::SIGCONT, move || {
            continued.resumes.fetch_add(1, SeqCst);
            continuing.pass_on(libc::SIGCONT);
        })
    }?;
    std::thread::Builder::new()
        .name("tessera-jobs".into())
        .spawn(move || keep_children_running_with_this_process(&children, &events))?;
    Ok(())
}

/// The job-control signals this process handled, counted.
#[derive(Default)]
struct JobEvents {
    suspends: AtomicU64,
    resumes: AtomicU64,
}

/// While this thread runs, this process runs, and its children should too.
/// A child can be left stopped: one that lost its SIGCONT inside its own
/// handler's window, or every child when this process did not stop after
/// passing the stop on (the kernel discarded its stop: an orphaned group
/// that the handler took for a normal one, or the first process of a pid
/// namespace, which ignores its own stop). So after each SIGTSTP or
/// SIGCONT, once 100 ms have passed since the last SIGTSTP, the children
/// are sent SIGCONT every 50 ms for a second (a running process ignores it).
fn keep_children_running_with_this_process(children: &JobChildren, events: &JobEvents) {
    let (mut suspends, mut resumes) = (0, 0);
    let (mut last_suspend, mut last_event) = (None, None);
    for tick in 0u64.. {
        std::thread::sleep(Duration::from_millis(50));
        let (now_suspends, now_resumes) =
            (events.suspends.load(SeqCst), events.resumes.load(SeqCst));
        if now_suspends != suspends {
            (suspends, last_suspend, last_event) = (now_suspends, Some(tick), Some(tick));
        }
        if now_resumes != resumes {
            (resumes, last_event) = (now_resumes, Some(tick));
        }
        let settled = last_suspend.is_none_or(|at| tick >= at + 2);
        let recent = last_event.is_some_and(|at| tick <= at + 20);
        if settled && recent {
            children.pass_on(libc::SIGCONT);
        }
    }
}

/// What a SIGTSTP does, in its handler: nothing in an orphaned process
/// group (as the kernel would discard it); otherwise the children are
/// stopped, then this process's stop is made pending, and the process stops
/// when the handler returns. In that order, a SIGCONT that comes meanwhile
/// can leave this process stopped (and another SIGCONT, `fg`, continues
/// everything), while children left stopped behind a process that runs on
/// are continued ([`keep_children_running_with_this_process`]).
/// Async-signal-safe.
fn suspend(children: &JobChildren, events: &JobEvents) {
    if own_group_orphaned() {
        return;
    }
    events.suspends.fetch_add(1, SeqCst);
    children.pass_on(libc::SIGTSTP);
    if !stop_pending_on_this_thread() {
        // SIGTTIN is ignored, caught or blocked here: stopped at once.
        // SAFETY: raise is async-signal-safe.
        unsafe { libc::raise(libc::SIGSTOP) };
    }
}

/// Whether this process's group is orphaned: no member has a parent in
/// another group of the same session, so nobody would continue it, and the
/// kernel discards a stop signal with its default action there. Judged by
/// this process's line of ancestors: the first one outside its group
/// decides (another session: orphaned); one that cannot be read (outside
/// this pid namespace) counts as not. Async-signal-safe: /proc is read into
/// a buffer on the stack.
fn own_group_orphaned() -> bool {
    // SAFETY: these calls only read the process's ids.
    let (group, session, mut ancestor) =
        unsafe { (libc::getpgrp(), libc::getsid(0), libc::getppid()) };
    // A chain of processes in one group deeper than this is not expected.
    for _ in 0..64 {
        let Some((its_parent, its_group, its_session)) = stat_ids(ancestor) else {
            return false;
        };
        if its_session != session {
            return true;
        }
        if its_group != group {
            return false;
        }
        if its_parent <= 0 {
            // Outside this pid namespace: unknown. Taken as not orphaned;
            // if the kernel thinks otherwise, the children are continued
            // ([`keep_children_running_with_this_process`]).
            return false;
        }
        ancestor = its_parent;
    }
    false
}

/// A process's parent, group and session, from /proc/PID/stat; None if it
/// cannot be read. Async-signal-safe (open, read, close; no allocation).
fn stat_ids(pid: libc::pid_t) -> Option<(libc::pid_t, libc::pid_t, libc::pid_t)> {
    // Formatting into a slice on the stack allocates nothing; the last
    // byte stays 0, ending the path for open.
    let mut path = [0u8; 32];
    let mut unwritten = &mut path[..31];
    std::io::Write::write_fmt(&mut unwritten, format_args!("/proc/{pid}/stat")).ok()?;
    let mut text = [0u8; 1024];
    // SAFETY: `path` is NUL-terminated (zeroed past its text); open, read
    // and close are async-signal-safe, and read writes within `text`.
    let read = unsafe {
        let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let read = libc::read(fd, text.as_mut_ptr().cast(), text.len());
        libc::close(fd);
        usize::try_from(read).ok()?
    };
    // "PID (COMMAND) STATE PPID PGRP SESSION ...": the command may hold
    // spaces and parentheses, so the fields start after its last ')'.
    let text = &text[..read];
    let after = text.iter().rposition(|&b| b == b')')? + 1;
    let mut fields = text[after..]
        .split(|&b| b == b' ')
        .filter(|field| !field.is_empty())
        .skip(1);
    let mut number = || -> Option<libc::pid_t> {
        let field = fields.next()?;
        let mut value: libc::pid_t = 0;
        for &b in field {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value
                .checked_mul(10)?
                .checked_add(libc::pid_t::from(b - b'0'))?;
        }
        Some(value)
    };
    Some((number()?, number()?, number()?))
}

/// Makes a stop pending for this thread, delivered when the running signal
/// handler returns (its mask is restored then): a SIGTTIN, whose default
/// action stops the process as SIGTSTP's does, blocked until then. The
/// kernel discards a pending stop when a SIGCONT comes, so a `fg` right after
/// the Ctrl-Z is never lost. False if SIGTTIN does not have its default
/// action here, or this thread blocked it already. Async-signal-safe.
fn stop_pending_on_this_thread() -> bool {
    // SAFETY: sigaction only reads SIGTTIN's disposition; pthread_sigmask on
    // a set built on the stack, and tgkill of this thread, touch no shared
    // memory.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGTTIN, std::ptr::null(), &mut current) != 0
            || current.sa_sigaction != libc::SIG_DFL
        {
            return false;
        }
        let mut stop: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut stop);
        libc::sigaddset(&mut stop, libc::SIGTTIN);
        let mut before: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &stop, &mut before);
        if libc::sigismember(&before, libc::SIGTTIN) == 1 {
            // Blocked already: it would stay pending after the handler.
            return false;
        }
        libc::syscall(
            libc::SYS_tgkill,
            libc::getpid(),
            libc::gettid(),
            libc::SIGTTIN,
        );
        true
    }
}

/// Whether `signal` is ignored (SIG_IGN) in this process.
fn is_ignored(signal: libc::c_int) -> bool {
    // SAFETY: sigaction with no new action only reads the current one into
    // `current`.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// Blocks until the signal handler writes a byte to `read`: whether one
/// came (false at the end of the stream).
fn wait_for_a_signal(read: &mut std::os::unix::net::UnixStream) -> io::Result<bool> {
    use std::io::Read;
    loop {
        match read.read(&mut [0u8]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result.map(|n| n > 0),
        }
    }
}

/// Sends `stop` to process `pid` (a child not yet waited for), as the
/// terminal or `kill` would have.
pub fn send_stop(pid: u32, stop: StopSignal) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        signal(pid, stop.number());
    }
}

/// Makes writing past the file size limit (`ulimit -f`) fail with an error
/// (EFBIG, "File too large") instead of killing this process with SIGXFSZ,
/// so that the writer can say so and clean up.
pub fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
}

/// Asks glibc's allocator to keep the memory a tile frees for the next
/// tile, in a process that renders (the `tessera` command, a worker).
/// glibc maps blocks of 128 KB or more (an RGBA tile of 64 x 64 in float64)
/// one by one, and shrinks a heap whenever a few hundred KB at its top are
/// free: a numpy node's temporaries went back to the kernel after every
/// tile and were faulted in afresh for the next. One worker rendered
/// `scripts/bench/tile_numpy_1024.toml` at 4096 x 4096 in 1.25 s (0.9 s
/// of it in the kernel) where the same node in process took 0.45 s, and in
/// process at tile 128 it took 1.2 s against 0.5 s. Blocks up to 4 MiB now
/// come from the heap, and up to 16 MiB free at its top stay there: as
/// fast as larger thresholds at tiles of 64 to 256, where 32 and 64 MiB
/// raised the peak memory of a four-frame render by 45 MB
/// (docs/performance.md). Thresholds the user set in the environment
/// (`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`, `GLIBC_TUNABLES`)
/// are theirs, and left alone.
pub fn keep_freed_memory() {
    #[cfg(target_env = "gnu")]
    {
        let set_by_user = ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"]
            .iter()
            .any(|name| std::env::var_os(name).is_some())
            || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc."));
        if set_by_user {
            return;
        }
        const LARGEST_HEAP_BLOCK: libc::c_int = 4 << 20;
        const KEPT_AT_THE_TOP: libc::c_int = 16 << 20;
        // SAFETY: mallopt only sets the allocator's thresholds; a value it
        // does not take is refused (it returns 0), never undefined.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, LARGEST_HEAP_BLOCK);
            libc::mallopt(libc::M_TRIM_THRESHOLD, KEPT_AT_THE_TOP);
        }
    }
}

/// "exited with code 5", "was killed by signal 11 (SIGSEGV, a
/// segmentation fault)".
pub fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    let signal = status.signal().unwrap_or_default();
    let name = match signal {
        libc::SIGSEGV => " (SIGSEGV, a segmentation fault)",
        libc::SIGABRT => " (SIGABRT, an abort)",
        libc::SIGBUS => " (SIGBUS, a bus error)",
        libc::SIGFPE => " (SIGFPE, an arithmetic error)",
        libc::SIGILL => " (SIGILL, an illegal instruction)",
        libc::SIGKILL => " (SIGKILL: killed, perhaps for lack of memory)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGXFSZ => " (SIGXFSZ, the file size limit)",
        _ => "",
    };
    format!("was killed by signal {signal}{name}")
}

/// Waits up to `grace` for `child` to exit by itself; then kills its
/// group (see [`kill_group`]: the child if it still runs, and whatever it
/// left behind) and waits for it. Its status (None if it could not be
/// waited for).
pub fn wait_or_kill(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    exits_within(child, grace);
    kill_group(child);
    child.wait().ok()
}

/// Waits up to `grace` for `child` to exit, without reaping it (its pid,
/// and its group's id, stay reserved until it is waited for); whether it
/// did.
pub fn exits_within(child: &Child, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    loop {
        if has_exited(child) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Whether `child` has exited, without waiting for it (its pid stays
/// reserved until it is).
fn has_exited(child: &Child) -> bool {
    exited_unreaped(child.id(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_signal_exits_with_the_code_a_shell_gives_a_process_it_killed() {
        let codes = StopSignal::ALL.map(StopSignal::exit_code);
        assert_eq!(codes, [130, 143, 129]);
        for stop in StopSignal::ALL {
            assert_eq!(StopSignal::from_exit_code(stop.exit_code()), Some(stop));
        }
        assert_eq!(StopSignal::from_exit_code(124), None);
    }

    fn descriptor_limits() -> (u64, u64) {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        (limit.rlim_cur, limit.rlim_max)
    }

    #[test]
    fn the_descriptor_limit_is_raised_to_what_is_needed_and_never_lowered() {
        let (soft, hard) = descriptor_limits();
        allow_descriptors(soft / 2).unwrap();
        assert_eq!(descriptor_limits().0, soft);
        let wanted = (soft + 10).min(hard);
        allow_descriptors(wanted).unwrap();
        assert_eq!(descriptor_limits().0, wanted.max(soft));
    }
    use std::process::Command;

    #[test]
    fn exits_are_told_in_words() {
        let status = |script: &str| Command::new("sh").args(["-c", script]).status().unwrap();
        assert_eq!(describe_exit(status("exit 5")), "exited with code 5");
        assert_eq!(
            describe_exit(status("kill -SEGV $$")),
            "was killed by signal 11 (SIGSEGV, a segmentation fault)"
        );
    }

    #[test]
    fn a_process_ids_are_read_from_proc_as_libc_gives_them() {
        // SAFETY: these calls only read the process's ids.
        let (parent, group, session) =
            unsafe { (libc::getppid(), libc::getpgrp(), libc::getsid(0)) };
        assert_eq!(
            stat_ids(std::process::id() as libc::pid_t),
            Some((parent, group, session))
        );
        assert_eq!(stat_ids(0), None);
    }

    #[test]
    fn a_child_gets_its_socket_and_its_death_closes_it() {
        let launch = Launch {
            program: "sh".into(),
            // Writes a JSON line to the inherited socket, then exits 3.
            args: vec![
                "-c".into(),
                "fd=${TESSERA_CHILD_FDS%%,*}; echo '\"hello\"' >&$fd; exit 3".into(),
            ],
            env: Vec::new(),
            dir: None,
            input: None,
        };
        let mut spawned = spawn(&launch, &[], Options::default()).unwrap();
        let never = std::sync::atomic::AtomicBool::new(false);
        match spawned.channel.receive::<String>(&never).unwrap() {
            Received::Message(text) => assert_eq!(text, "hello"),
            _ => panic!("no message"),
        }
        assert!(matches!(
            spawned.channel.receive::<String>(&never).unwrap(),
            Received::Closed
        ));
        let status = wait_or_kill(&mut spawned.child, Duration::from_secs(5)).unwrap();
        assert_eq!(describe_exit(status), "exited with code 3");
    }
}
