//! Persistent Python thread states for Tessera's own threads.
//!
//! Without one, every `Python::attach` on a thread Python has never seen
//! creates and destroys a thread state (and maps a frame chunk), about 17x
//! the cost of the call itself on this project's machines (see
//! docs/performance.md).

use pyo3::ffi;
use pyo3::prelude::*;
use std::cell::Cell;
use std::sync::Mutex;

/// Python thread idents of the threads that may be running Python code for
/// Tessera (render workers, the main thread).
static THREADS: Mutex<Vec<std::ffi::c_ulong>> = Mutex::new(Vec::new());

fn threads() -> std::sync::MutexGuard<'static, Vec<std::ffi::c_ulong>> {
    THREADS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records the calling thread (which must have a Python thread state) as
/// one [`interrupt`] reaches.
pub fn register_current_thread() {
    // SAFETY: plain query of the calling thread's ident.
    let ident = unsafe { ffi::PyThread_get_thread_ident() };
    threads().push(ident);
}

fn unregister_current_thread() {
    // SAFETY: as above.
    let ident = unsafe { ffi::PyThread_get_thread_ident() };
    threads().retain(|&t| t != ident);
}

/// Raises KeyboardInterrupt in every thread running Python code for
/// Tessera, so an endless loop in a node stops (at its next bytecode; a node
/// blocked inside a C call stops when the call returns). Safe to call from
/// any thread, e.g. a Ctrl-C handler: it takes the GIL itself, holding no
/// lock while waiting for it.
pub fn interrupt() {
    if !python_is_running() {
        return;
    }
    let idents = threads().clone();
    Python::attach(|py| {
        let error = py.get_type::<pyo3::exceptions::PyKeyboardInterrupt>();
        for ident in idents {
            // SAFETY: the GIL is held; the exception type is a live object.
            unsafe {
                ffi::PyThreadState_SetAsyncExc(ident as _, error.as_ptr());
            }
        }
    });
}

thread_local! {
    /// The thread's GILState token and its saved (detached) thread state.
    static THREAD_STATE: Cell<Option<(ffi::PyGILState_STATE, *mut ffi::PyThreadState)>> =
        const { Cell::new(None) };
}

/// Gives this thread a Python thread state that lasts until [`leave_thread`]
/// (a no-op if Python is not started, or the thread already has one).
pub fn enter_thread() {
    if !python_is_running() || THREAD_STATE.with(|s| s.get().is_some()) {
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
    register_current_thread();
}

/// Releases the thread state [`enter_thread`] made, on the same thread.
pub fn leave_thread() {
    if let Some((gil, state)) = THREAD_STATE.with(|s| s.take()) {
        unregister_current_thread();
        // SAFETY: the reverse of enter_thread, on the same thread.
        unsafe {
            ffi::PyEval_RestoreThread(state);
            ffi::PyGILState_Release(gil);
        }
    }
}

/// Whether CPython is initialised in this process.
fn python_is_running() -> bool {
    // SAFETY: Py_IsInitialized may be called at any time, before
    // initialisation included.
    unsafe { ffi::Py_IsInitialized() != 0 }
}
