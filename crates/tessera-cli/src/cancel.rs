//! Stopping a render from outside: Ctrl-C, SIGTERM, SIGHUP and `--timeout`.
//!
//! Each sets one flag, which the renderer checks between tiles, and interrupt
//! Python code that is running (KeyboardInterrupt in each Python thread of
//! Tessera's), so a node looping forever stops too. A second signal exits
//! at once.

use crate::failure::EXIT_TIMEOUT;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;
use tessera_process::StopSignal;

/// What stops this command's render, made once by the command and passed
/// down to what renders.
pub struct Stop {
    /// Set when the render must stop (shared with the Python worker pool,
    /// which kills a busy worker when it is set).
    cancel: Arc<AtomicBool>,
    /// Why: [`NONE`], [`TIMED_OUT`], or a stop signal's exit code.
    reason: Arc<AtomicU8>,
    timeout: Option<f64>,
}

const NONE: u8 = 0;
const TIMED_OUT: u8 = 1;

impl Stop {
    /// Installs the handler of Ctrl-C, SIGTERM and SIGHUP and, when given,
    /// starts the timeout clock.
    pub fn install(timeout: Option<f64>) -> Stop {
        let stop = Stop {
            cancel: Arc::default(),
            reason: Arc::default(),
            timeout,
        };
        let (cancel, reason) = (stop.cancel.clone(), stop.reason.clone());
        // If the handler cannot be installed, a signal kills the process as
        // before: no image is written either way (files are written
        // atomically).
        let _ = tessera_process::on_stop_signals(&StopSignal::ALL, move |signal| {
            stop_for(&cancel, &reason, signal.exit_code())
        });
        if let Some(seconds) = timeout {
            let (cancel, reason) = (stop.cancel.clone(), stop.reason.clone());
            std::thread::Builder::new()
                .name("tessera-timeout".into())
                .spawn(move || {
                    std::thread::sleep(Duration::from_secs_f64(seconds));
                    stop_for(&cancel, &reason, TIMED_OUT);
                })
                .expect("a thread for the timeout");
        }
        stop
    }

    /// The flag the renderer checks between tiles.
    pub fn flag(&self) -> &Arc<AtomicBool> {
        &self.cancel
    }

    /// Why the command was stopped, if it was: the exit code and what to
    /// say.
    pub fn stopped(&self) -> Option<(u8, String)> {
        match self.reason.load(Ordering::SeqCst) {
            NONE => None,
            TIMED_OUT => Some((
                EXIT_TIMEOUT,
                format!(
                    "stopped after --timeout {} s",
                    self.timeout.unwrap_or_default()
                ),
            )),
            code => {
                StopSignal::from_exit_code(code).map(|stop| (code, stop.describe().to_string()))
            }
        }
    }
}

/// Stops the render for `reason` (a stop signal's exit code, or
/// [`TIMED_OUT`]); a second stop signal exits at once.
fn stop_for(cancel: &AtomicBool, recorded: &AtomicU8, reason: u8) {
    if recorded
        .compare_exchange(NONE, reason, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        if reason != TIMED_OUT {
            // A second Ctrl-C (or kill): the user means it.
            crate::terminal::error_line("\nstopped again: exiting now");
            std::process::exit(i32::from(reason));
        }
        return;
    }
    cancel.store(true, Ordering::SeqCst);
    tessera_python::interrupt();
}
