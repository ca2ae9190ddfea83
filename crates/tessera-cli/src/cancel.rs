//! Stopping a render from outside: Ctrl-C, SIGTERM, SIGHUP and `--timeout`.
//!
//! Each sets one flag, which the renderer checks between tiles, and interrupt
//! Python code that is running (KeyboardInterrupt in each Python thread of
//! Tessera's), so a node looping forever stops too. A second signal exits
//! at once.

use crate::failure::EXIT_TIMEOUT;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tessera_process::StopSignal;

/// Set when the render must stop (shared with the Python worker pool, which
/// kills a busy worker when it is set).
pub static CANCEL: LazyLock<Arc<AtomicBool>> = LazyLock::new(Arc::default);

const NONE: u8 = 0;
const TIMED_OUT: u8 = 1;
// A stop signal is recorded as its exit code (130, 143, 129).
static REASON: AtomicU8 = AtomicU8::new(NONE);

fn cancel(reason: u8) {
    if REASON
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
    CANCEL.store(true, Ordering::SeqCst);
    tessera_python::interrupt();
}

/// Installs the handler of Ctrl-C, SIGTERM and SIGHUP and, when given,
/// starts the timeout clock.
pub fn install(timeout: Option<f64>) {
    // If the handler cannot be installed, a signal kills the process as
    // before: no image is written either way (files are written atomically).
    let _ = tessera_process::on_stop_signals(&StopSignal::ALL, |stop| cancel(stop.exit_code()));
    if let Some(seconds) = timeout {
        std::thread::Builder::new()
            .name("tessera-timeout".into())
            .spawn(move || {
                std::thread::sleep(Duration::from_secs_f64(seconds));
                cancel(TIMED_OUT);
            })
            .expect("a thread for the timeout");
    }
}

/// Why the command was stopped, if it was: the exit code and what to say.
pub fn stopped(timeout: Option<f64>) -> Option<(u8, String)> {
    match REASON.load(Ordering::SeqCst) {
        NONE => None,
        TIMED_OUT => Some((
            EXIT_TIMEOUT,
            format!("stopped after --timeout {} s", timeout.unwrap_or_default()),
        )),
        code => StopSignal::from_exit_code(code).map(|stop| (code, stop.describe().to_string())),
    }
}
