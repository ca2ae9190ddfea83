//! The supervised command: `tessera render`, `tessera check` and `tessera
//! nodes --script` do their work in a child process (this same program,
//! with the same arguments) and watch it, so that nothing a scene's code
//! does to its process (exit, crash, abort, loop past `--timeout`, read the
//! terminal) gets past the promises of the README: a documented exit code,
//! a message, and either a complete image or none.
//!
//! The parent checks the output path, makes the temporary file beside it
//! and hands it to the child, which renders, encodes into it and reports
//! progress and its summary line over the socket every Tessera child has
//! (tessera-process). The parent alone renames the finished file into
//! place; a child that dies or is killed leaves no file. The child has its
//! own process group and no standard input: Ctrl-C reaches the parent,
//! which passes it on, and kills the child if it has not stopped a moment
//! later, as it does past `--timeout`.

use crate::failure::{EXIT_IO, EXIT_NODE_FAILED, EXIT_TIMEOUT, Failure};
use crate::terminal;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fs::File;
use std::io::IsTerminal;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::NamedTempFile;
use tessera_output::{ImageTarget, OutputError};
use tessera_process::{
    Channel, JobChildren, Launch, Options, Received, Spawned, StopSignal, describe_exit,
};

/// What a supervised child tells its parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum Report {
    Progress {
        done: usize,
        total: usize,
        /// The frame being rendered, in a range (`--frames`).
        frame: Option<i64>,
    },
    /// The image is encoded and synced into the temporary file; the line
    /// to print once it is in place (None under `--quiet`).
    Finished { summary: Option<String> },
    /// Frame `frame` of a range starts, to be encoded into this temporary
    /// file, which the child then renames into place: removed by the parent
    /// if the child ends before it says [`Report::Frame`].
    Temporary {
        path: std::path::PathBuf,
        frame: i64,
    },
    /// A frame of a range is written; its line to print (None under
    /// `--quiet`).
    Frame { summary: Option<String> },
    /// The child is about to exit with this code, having said why (if it
    /// failed) on the terminal it shares with its parent. A child that
    /// exits without saying so was ended by something else.
    Exiting { code: u8 },
}

/// How long a child may take to stop by itself after Ctrl-C or its own
/// `--timeout` before it is killed.
pub const GRACE: Duration = Duration::from_millis(500);

/// The supervised child's side: where a render's progress and image go,
/// and how the work ended.
pub struct Supervisor {
    channel: Channel,
    /// The temporary file the parent made beside the target (a render's).
    file: Option<File>,
    reported: Instant,
    reported_frame: Option<i64>,
}

impl Supervisor {
    /// This process's supervisor, if it is a supervised child.
    pub fn inherited() -> Option<Supervisor> {
        let (channel, fds) = tessera_process::inherited()?;
        let file = match fds[..] {
            [] => None,
            // SAFETY: the parent handed this descriptor (its temporary
            // file) to this process alone, and nothing else adopts it.
            [fd] => Some(unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) }),
            _ => return None,
        };
        Some(Supervisor {
            channel,
            file,
            reported: Instant::now() - Duration::from_secs(1),
            reported_frame: None,
        })
    }

    /// Reports progress, a few times a second at most, and at once when a
    /// frame of a range starts or has all its tiles (`frame_done`).
    pub fn progress(&mut self, done: usize, total: usize, frame: Option<i64>, frame_done: bool) {
        let new_frame = frame != self.reported_frame;
        if new_frame || frame_done || self.reported.elapsed() >= Duration::from_millis(50) {
            self.reported = Instant::now();
            self.reported_frame = frame;
            let _ = self.channel.send(&Report::Progress { done, total, frame });
        }
    }

    /// The temporary file to encode the image into (handed over once).
    pub fn take_file(&mut self) -> Result<File, OutputError> {
        self.file.take().ok_or_else(|| OutputError::Io {
            path: "the output".into(),
            source: std::io::Error::other("the supervising tessera handed over no file"),
        })
    }

    pub fn finished(&mut self, summary: Option<String>) {
        let _ = self.channel.send(&Report::Finished { summary });
    }

    /// A temporary file beside `target` for `frame` of a range, announced
    /// to the parent (which removes it should this process end before the
    /// frame is renamed into place, and names the frame if it fails).
    pub fn frame_file(
        &mut self,
        target: &ImageTarget,
        frame: i64,
    ) -> Result<NamedTempFile, OutputError> {
        let temporary = target.temporary()?;
        let path = temporary.path().to_path_buf();
        let _ = self.channel.send(&Report::Temporary { path, frame });
        Ok(temporary)
    }

    /// A frame of a range is written: its line to print.
    pub fn frame_written(&mut self, summary: Option<String>) {
        let _ = self.channel.send(&Report::Frame { summary });
    }

    /// Tells the parent how the work ended, then passes `result` on.
    pub fn exiting(mut self, result: Result<(), Failure>) -> Result<(), Failure> {
        let code = result.as_ref().err().map_or(0, |failure| failure.code);
        let _ = self.channel.send(&Report::Exiting { code });
        result
    }
}

/// What the supervised child does.
#[derive(Clone, Copy)]
pub enum Work<'a> {
    /// Renders into a temporary file beside this target.
    Render(&'a ImageTarget),
    /// Renders a range of frames, each written by the child through a
    /// temporary file it announces ([`Supervisor::frame_file`]).
    Frames,
    /// Checks the scene: its exit is the verdict.
    Check,
    /// Imports a Python script and lists its node classes (`tessera nodes
    /// --script`): the listing comes as the summary, printed here.
    ListScript,
}

/// How long a child that closed its socket (or said it is exiting) has to
/// exit before it is killed.
const LINGER: Duration = Duration::from_secs(5);

/// Waits until `done` (checked every `step`), or for `duration` of the time
/// this process runs: time it spent stopped (Ctrl-Z) does not count, so that
/// a child whose deadline passed meanwhile still has its grace period, once
/// continued, to stop by itself.
fn wait_running(duration: Duration, every: Duration, done: impl Fn() -> bool) {
    let mut left = duration;
    while !left.is_zero() && !done() {
        let step = left.min(every);
        let started = Instant::now();
        std::thread::sleep(step);
        let slept = started.elapsed();
        // A step that took a second longer than asked: stopped meanwhile.
        let counted = if slept > step + Duration::from_secs(1) {
            step
        } else {
            slept
        };
        left = left.saturating_sub(counted);
    }
}

/// What the parent's threads (the reader, the Ctrl-C handler, the
/// deadline) share about one supervised child.
struct Watch {
    /// The child's pid, until it is waited for: a stop passed on to it never
    /// reaches a process that reused its pid.
    child: Mutex<Option<u32>>,
    /// The signal that asked the work to stop (its exit code), 0 if none.
    stopped_by: AtomicU8,
    /// The child is to be killed.
    killing: AtomicBool,
    /// The reader is to stop: the child is to be killed, or has exited.
    stop: Arc<AtomicBool>,
}

impl Watch {
    /// Calls `send` with the child's pid, unless it has been waited for.
    fn signal_child(&self, send: impl FnOnce(u32)) {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pid) = *child {
            send(pid);
        }
    }

    /// Has the child killed after `delay`, from a thread of its own.
    fn kill_after(self: &Arc<Watch>, delay: Duration) {
        let watch = self.clone();
        let _ = std::thread::Builder::new()
            .name("tessera-deadline".into())
            .spawn(move || {
                wait_running(delay, Duration::from_millis(50), || false);
                watch.killing.store(true, Ordering::SeqCst);
                watch.stop.store(true, Ordering::SeqCst);
            });
    }
}

/// Runs this same command in a supervised child and reports how it ended.
/// The child is killed at `deadline` if it is still running; `timeout` is
/// the `--timeout` that deadline comes from, for the message.
pub fn supervise(
    work: Work,
    scene: &Path,
    deadline: Option<Duration>,
    timeout: f64,
    quiet: bool,
) -> Result<(), Failure> {
    let output = match work {
        Work::Render(target) => Some(target),
        Work::Check | Work::ListScript | Work::Frames => None,
    };
    let writes = !matches!(work, Work::Check | Work::ListScript);
    let io =
        |e: std::io::Error| Failure::new(EXIT_IO, format!("error: cannot start the render: {e}"));
    let temporary = output
        .map(|target| target.temporary())
        .transpose()
        .map_err(|e| Failure::new(EXIT_IO, format!("error: {e}")))?;
    let from_stdin = tessera_scene::is_standard_input(scene);
    // A scene typed at the terminal is read here: the child, in a process
    // group of its own, would be stopped for reading the terminal
    // (SIGTTIN). From a pipe or a file, the child reads it itself, under
    // the deadline (a pipe nobody writes to is stopped by --timeout).
    let typed = from_stdin && std::io::stdin().is_terminal();
    let input = if typed {
        let source = tessera_session::read_scene(scene).map_err(crate::commands::load_failure)?;
        Some(Arc::from(source.text))
    } else {
        None
    };
    // Drawn here, on this terminal, while the child (its nodes, its
    // workers) prints to it: the child is told, so that each line it
    // prints first erases the bar's, and does not follow its text.
    let bar = crate::commands::progress_bar(quiet || !writes);
    let env = match bar.is_hidden() {
        true => Vec::new(),
        false => vec![(
            OsString::from(terminal::PROGRESS_BAR_VARIABLE),
            OsString::from("1"),
        )],
    };
    let launch = Launch {
        program: std::env::current_exe().map_err(io)?,
        args: std::env::args_os().skip(1).collect(),
        env,
        dir: None,
        input,
    };
    let extra: Vec<_> = temporary.iter().map(|t| t.as_file().as_raw_fd()).collect();
    let options = Options {
        own_group: true,
        // Nodes read nothing from the terminal; a scene read from standard
        // input (`tessera render /dev/stdin < scene.toml`) is the exception.
        no_stdin: !from_stdin,
    };
    let Spawned {
        mut child,
        mut channel,
    } = tessera_process::spawn(&launch, &extra, options).map_err(io)?;
    channel.poll_cancel().map_err(io)?;
    let watch = Arc::new(Watch {
        child: Mutex::new(Some(child.id())),
        stopped_by: AtomicU8::new(0),
        killing: AtomicBool::new(false),
        stop: Arc::default(),
    });
    // If the handler cannot be installed, a signal kills both processes:
    // no image is written either way (the temporary file may stay).
    let handler = watch.clone();
    let _ = tessera_process::on_stop_signals(&StopSignal::ALL, move |stop| {
        // The first Ctrl-C (or SIGTERM, SIGHUP) is passed on to the child,
        // which stops (naming the node it stopped); the second makes it
        // exit at once. Either way it is killed if it has not stopped a
        // moment later.
        handler.stopped_by.store(stop.exit_code(), Ordering::SeqCst);
        handler.signal_child(|pid| tessera_process::send_stop(pid, stop));
        handler.kill_after(GRACE);
    });
    // The child runs in a group of its own: Ctrl-Z stops it, then this
    // process; `fg` continues both.
    let job_children = JobChildren::new(1);
    job_children.add(child.id());
    let _ = tessera_process::pass_on_job_control(job_children.clone());
    if let Some(deadline) = deadline {
        watch.kill_after(deadline);
    }

    let mut finished = None;
    // A frame's temporary file, until the child says the frame is in place.
    let mut frame_temporary = None;
    let mut said = None;
    let mut last_progress = None;
    // In a range, the frame being rendered: known from its start, before
    // its first tile is done.
    let mut frame_now = None;
    // The first failure to print a frame's summary: the frames go on.
    let mut unprinted = Ok(());
    // A process a node forked may hold the socket open after the child
    // exits: the exit itself stops the reading too.
    tessera_process::flag_exit(&child, watch.stop.clone());
    loop {
        match channel.receive_past_strays::<Report>(|| !watch.stop.load(Ordering::Relaxed)) {
            Ok(Received::Message(Report::Progress { done, total, frame })) => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                if let Some(frame) = frame {
                    bar.set_message(format!("frame {frame}, "));
                    frame_now = Some(frame);
                }
                last_progress = Some((done, total));
            }
            Ok(Received::Message(Report::Finished { summary })) => finished = Some(summary),
            Ok(Received::Message(Report::Temporary { path, frame })) => {
                frame_temporary = Some(path);
                frame_now = Some(frame);
            }
            Ok(Received::Message(Report::Frame { summary })) => {
                frame_temporary = None;
                if let Some(summary) = summary {
                    unprinted = unprinted.and(bar.suspend(|| terminal::line(&summary)));
                }
            }
            Ok(Received::Message(Report::Exiting { code })) => said = Some(code),
            Ok(Received::Cancelled | Received::Closed) | Err(_) => break,
        }
    }
    bar.finish_and_clear();
    let killing = watch.killing.load(Ordering::SeqCst);
    if !killing {
        // The socket closed, or the child said it is exiting: give it a
        // moment to be gone.
        let exited = || watch.stop.load(Ordering::SeqCst);
        wait_running(LINGER, Duration::from_millis(2), exited);
    }
    // It closed its socket but went on running (a node closed descriptors
    // it did not open, then kept working): killed below.
    let lingered = !killing && !watch.stop.load(Ordering::SeqCst);
    // Whatever a node forked dies with the child (it is in the child's
    // group, which the child leads); then the child is waited for.
    tessera_process::kill_group(&child);
    *watch.child.lock().unwrap_or_else(|e| e.into_inner()) = None;
    job_children.remove(child.id());
    let status = child.wait().ok();
    // A deadline that came as the child was exiting, having said so and
    // done its work (its output printed), killed nothing.
    let exited_as_said = match (said, status.and_then(|s| s.code())) {
        (Some(said), Some(code)) => i32::from(said) == code,
        _ => false,
    };
    let killed = killing && !exited_as_said;
    // A frame the child did not finish leaves no file.
    if let Some(path) = frame_temporary {
        let _ = std::fs::remove_file(path);
    }
    let stopped_by = StopSignal::from_exit_code(watch.stopped_by.load(Ordering::SeqCst));
    let what = match work {
        Work::Render(_) | Work::Frames => "the render",
        Work::Check => "the check",
        Work::ListScript => "`nodes --script`",
    };
    let written = match work {
        Work::Render(_) => "; no image written",
        Work::Frames => "; the frame it was rendering was not written",
        Work::Check | Work::ListScript => "",
    };
    let loading = match work {
        Work::ListScript => "the script was still importing",
        _ => {
            "the scene was still loading (being read, or its Python scripts importing or setting up)"
        }
    };
    // A child that neither said why it stopped nor was killed here was
    // ended by the signal passed on to it (a check has no handler).
    if killed || (stopped_by.is_some() && said.is_none()) {
        // A render reports its start (no tile done yet) once the scene is
        // loaded; a check only loads.
        let how = match (killed, last_progress) {
            (false, _) => format!("{what} was stopped"),
            (true, Some(_)) => format!("{what} did not stop by itself and was killed"),
            (true, None) => format!("{loading}, and {what} was killed"),
        };
        let message = match stopped_by {
            Some(stop) => (
                stop.exit_code(),
                format!("error: {}; {how}", stop.describe()),
            ),
            None => (
                EXIT_TIMEOUT,
                format!("error: stopped after --timeout {timeout} s; {how}"),
            ),
        };
        let failure = Failure::new(message.0, format!("{}{written}", message.1));
        // In a range, the frame it was rendering.
        return Err(match frame_now {
            Some(frame) => failure.in_frame(frame),
            None => failure,
        });
    }
    let Some(status) = status else {
        return Err(Failure::new(
            EXIT_IO,
            format!("error: lost {what}'s process"),
        ));
    };
    let progress = match (frame_now, last_progress) {
        (Some(frame), Some((done, total))) if done > 0 => {
            format!(" in frame {frame}, after {done} of {total} tiles of the range")
        }
        (Some(frame), _) => format!(" in frame {frame}, before its first tile"),
        (None, Some((done, total))) if done > 0 => format!(" after {done} of {total} tiles"),
        (None, Some(_)) => " before its first tile".to_string(),
        (None, None) => String::new(),
    };
    if lingered && said.is_none() {
        return Err(Failure::new(
            EXIT_NODE_FAILED,
            format!(
                "error: {what}'s process closed its connection to this tessera{progress} but did \
                 not exit, and was killed {} s later{written}\n  a node may have closed \
                 descriptors it did not open (os.closerange, os.close) and gone on running",
                LINGER.as_secs()
            ),
        ));
    }
    let code = status.code().and_then(|code| u8::try_from(code).ok());
    match (code, said, finished) {
        (Some(0), Some(0), Some(summary)) => {
            if let (Some(target), Some(temporary)) = (output, temporary) {
                target
                    .persist(temporary)
                    .map_err(|e| Failure::new(EXIT_IO, format!("error: {e}")))?;
            }
            match summary {
                Some(summary) => unprinted.and(terminal::line(&summary)),
                None => unprinted,
            }
        }
        // A check has nothing to deliver: its exit is the verdict.
        (Some(0), Some(0), None) if output.is_none() => Ok(()),
        // The child said why it failed, on the terminal it shares.
        (Some(code), Some(said), _) if code == said && code != 0 => Err(Failure::new(code, "")),
        _ => {
            // A render reports its start as 0 tiles done.
            Err(Failure::new(
                EXIT_NODE_FAILED,
                format!(
                    "error: {what}'s process {}{progress}{written}\n  \
                     something in it ended it: a node's code (a crash in a C extension, \
                     os.abort, a call to exit) or a signal; Python's stack, if it was \
                     running Python, is above",
                    describe_exit(status)
                ),
            ))
        }
    }
}
