//! One persistent Python thread state per render worker.
//!
//! Without it, every `Python::attach` on a thread Python has never seen
//! creates and destroys a thread state (and maps a frame chunk), about 17x
//! the cost of the call itself on this project's machines (see
//! docs/performance.md).

use pyo3::ffi;
use std::cell::Cell;
use tessera_render::WorkerHooks;

thread_local! {
    /// The worker's GILState token and its saved (detached) thread state.
    static THREAD_STATE: Cell<Option<(ffi::PyGILState_STATE, *mut ffi::PyThreadState)>> =
        const { Cell::new(None) };
}

/// [`WorkerHooks`] that give each worker a thread state for its whole life.
/// Use only after [`crate::start`] succeeded.
#[derive(Debug, Default)]
pub struct PythonThreads;

impl WorkerHooks for PythonThreads {
    fn worker_started(&self, _index: usize) {
        if !crate::is_started() {
            return;
        }
        // SAFETY: the interpreter is running; Ensure creates this thread's
        // state and takes the GIL, SaveThread releases the GIL but keeps the
        // state, so later attaches on this thread reuse it.
        let saved = unsafe {
            let gil = ffi::PyGILState_Ensure();
            (gil, ffi::PyEval_SaveThread())
        };
        THREAD_STATE.with(|s| s.set(Some(saved)));
    }

    fn worker_exiting(&self, _index: usize) {
        if let Some((gil, state)) = THREAD_STATE.with(|s| s.take()) {
            // SAFETY: the reverse of worker_started, on the same thread.
            unsafe {
                ffi::PyEval_RestoreThread(state);
                ffi::PyGILState_Release(gil);
            }
        }
    }
}
