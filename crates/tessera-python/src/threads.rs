//! Persistent Python thread states for Tessera's own threads.
//!
//! Without one, every `Python::attach` on a thread Python has never seen
//! creates and destroys a thread state (and maps a frame chunk), about 17x
//! the cost of the call itself on this project's machines (see
//! docs/performance.md).

use pyo3::ffi;
use std::cell::Cell;

thread_local! {
    /// The thread's GILState token and its saved (detached) thread state.
    static THREAD_STATE: Cell<Option<(ffi::PyGILState_STATE, *mut ffi::PyThreadState)>> =
        const { Cell::new(None) };
}

/// Gives this thread a Python thread state that lasts until [`leave_thread`]
/// (a no-op if Python is not started, or the thread already has one).
pub fn enter_thread() {
    if !crate::is_started() || THREAD_STATE.with(|s| s.get().is_some()) {
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

/// Releases the thread state [`enter_thread`] made, on the same thread.
pub fn leave_thread() {
    if let Some((gil, state)) = THREAD_STATE.with(|s| s.take()) {
        // SAFETY: the reverse of enter_thread, on the same thread.
        unsafe {
            ffi::PyEval_RestoreThread(state);
            ffi::PyGILState_Release(gil);
        }
    }
}

/// A thread state for the life of a scope.
pub struct ThreadState(());

impl ThreadState {
    pub fn enter() -> ThreadState {
        enter_thread();
        ThreadState(())
    }
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        leave_thread();
    }
}
