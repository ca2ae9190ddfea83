//! Starting the embedded interpreter, once.

use crate::PythonError;
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The interpreter the binary was linked against (set by build.rs).
pub const BUILD_PYTHON: &str = env!("TESSERA_BUILD_PYTHON");

/// The Python actually running.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonInfo {
    /// `sys.version`'s first word, e.g. `3.11.7`.
    pub version: String,
    /// `sys.prefix`: the virtual environment when one is active.
    pub prefix: String,
    /// The program name Python was started as.
    pub executable: String,
    /// Whether the interpreter has a GIL: always before 3.13; a
    /// free-threaded build (3.13t, 3.14t) may run without one.
    pub gil_enabled: bool,
}

static INTERPRETER: OnceLock<Result<PythonInfo, PythonError>> = OnceLock::new();

/// Whether this process is a copy made by a node's `os.fork()`: set in the
/// copy by the handler [`watch_forks`] registers (process-wide by nature:
/// which process this is). A flag rather than a comparison of process ids,
/// which would cost a system call after every call of a node.
static FORKED: AtomicBool = AtomicBool::new(false);
static WATCHING_FORKS: Once = Once::new();

/// Whether Python runs embedded in the tessera binary, where all Python
/// code is a scene's, so that every fork is a node's.
static EMBEDDED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Whether this thread runs a scene's Python code now ([`SceneCode`]).
    static IN_SCENE_CODE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

extern "C" fn note_fork() {
    // In the copy, on the thread that forked.
    if EMBEDDED.load(Ordering::Relaxed) || IN_SCENE_CODE.get() {
        FORKED.store(true, Ordering::Relaxed);
    }
}

/// While alive, the calling thread runs a scene's Python code (its import,
/// a node's `setup()` or calls): a fork made meanwhile is the node's, whose
/// copy [`exit_if_forked`] ends. Where Tessera is a Python package, the
/// user's own forks (a `multiprocessing` pool rendering frames, say) are
/// made outside it, and their copies render as any process does.
pub(crate) struct SceneCode {
    outer: bool,
}

impl SceneCode {
    pub(crate) fn enter() -> SceneCode {
        SceneCode {
            outer: IN_SCENE_CODE.replace(true),
        }
    }
}

impl Drop for SceneCode {
    fn drop(&mut self) {
        IN_SCENE_CODE.set(self.outer);
    }
}

/// Has every later `fork()` of this process made by a scene's code (any,
/// where Python is embedded) mark the copy as forked.
fn watch_forks() {
    WATCHING_FORKS.call_once(|| {
        // SAFETY: registers a handler that only reads a constant-initialised
        // thread-local and atomics and stores to an atomic, which is safe in
        // the child of a fork; it fails only without memory, and then
        // copies go unnoticed.
        unsafe { libc::pthread_atfork(None, None, Some(note_fork)) };
    });
}

/// Ends this process at once if it is a copy of Tessera made by a node's
/// `os.fork()` whose code has come back into Tessera's: such a copy would
/// go on rendering, write into the memory a worker shares with the render
/// process, answer the render process in its parent's place, or wait for
/// work forever. Called as soon as a node's call returns, before anything
/// is written. (A process forked by `multiprocessing` never comes back
/// here: it exits when its target returns.)
pub(crate) fn exit_if_forked() {
    if FORKED.load(Ordering::Relaxed) {
        // SAFETY: _exit ends the process without running anything of the
        // parent's it shares (atexit handlers, buffered output).
        unsafe { libc::_exit(0) }
    }
}

/// Whether [`start`] has succeeded in this process.
pub fn is_started() -> bool {
    matches!(INTERPRETER.get(), Some(Ok(_)))
}

/// Starts Python (once; later calls return the first result). Call it
/// before the render pool starts: workers take thread states from it.
pub fn start() -> Result<&'static PythonInfo, PythonError> {
    INTERPRETER
        .get_or_init(initialise)
        .as_ref()
        .map_err(Clone::clone)
}

/// Uses the Python that is running this code (Tessera imported as a Python
/// package) instead of starting one, and installs the `tessera` API into
/// `package`. Call it once, from the package's import; [`start`] then
/// returns this interpreter.
pub fn adopt(package: &Bound<PyModule>) -> Result<&'static PythonInfo, PythonError> {
    let py = package.py();
    let adopted = || {
        watch_forks();
        let fail = |e: PyErr| PythonError::Start {
            executable: "the Python importing tessera".into(),
            message: e.to_string(),
        };
        crate::api::install_api_into(package).map_err(fail)?;
        let executable: String = (py.import("sys"))
            .and_then(|sys| sys.getattr("executable")?.extract())
            .map_err(fail)?;
        describe(py, executable).map_err(fail)
    };
    INTERPRETER
        .get_or_init(adopted)
        .as_ref()
        .map_err(Clone::clone)
}

/// The running interpreter, as [`PythonInfo`].
fn describe(py: Python, executable: String) -> PyResult<PythonInfo> {
    let sys = py.import("sys")?;
    let version: String = sys.getattr("version")?.extract()?;
    Ok(PythonInfo {
        version: version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        prefix: sys.getattr("prefix")?.extract()?,
        executable,
        gil_enabled: match sys.getattr("_is_gil_enabled") {
            Ok(is_enabled) => is_enabled.call0()?.extract()?,
            Err(_) => true,
        },
    })
}

/// The program Python starts as: `$VIRTUAL_ENV/bin/python` when a virtual
/// environment is active (CPython itself ignores `VIRTUAL_ENV`; started as
/// the venv's python it reads pyvenv.cfg and imports the venv's packages),
/// else the interpreter the binary was built against.
fn program_name() -> Result<String, String> {
    let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) else {
        return Ok(BUILD_PYTHON.to_string());
    };
    let venv = Path::new(&venv);
    let config = std::fs::read_to_string(venv.join("pyvenv.cfg")).map_err(|_| {
        format!(
            "VIRTUAL_ENV={} is not a virtual environment (it has no pyvenv.cfg); \
             make one with `{BUILD_PYTHON} -m venv DIR`, or unset VIRTUAL_ENV",
            venv.display()
        )
    })?;
    // A venv made from another Python has another standard library: it would
    // fail later with obscure import errors (`No module named 'math'`).
    let home = venv_home(&config);
    let built = base_interpreter_folder(Path::new(BUILD_PYTHON));
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if let (Some(home), Some(built)) = (&home, &built)
        && !same(home, built)
    {
        return Err(format!(
            "the virtual environment {} was made from the Python in {}, but this tessera was built \
             against {BUILD_PYTHON}; make the environment with `{BUILD_PYTHON} -m venv {}`",
            venv.display(),
            home.display(),
            venv.display()
        ));
    }
    Ok(venv.join("bin/python").to_string_lossy().into_owned())
}

/// The `home` of a pyvenv.cfg: the folder of the Python the venv was made from.
fn venv_home(pyvenv_cfg: &str) -> Option<PathBuf> {
    pyvenv_cfg
        .lines()
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| key.trim() == "home")
        .map(|(_, value)| PathBuf::from(value.trim()))
}

/// The folder of the Python that `python` runs: its own folder, or, when
/// `python` is a venv's (built with a venv active), the venv's `home`.
fn base_interpreter_folder(python: &Path) -> Option<PathBuf> {
    let folder = python.parent()?;
    let venv_config = folder.parent().map(|venv| venv.join("pyvenv.cfg"));
    venv_config
        .and_then(|config| std::fs::read_to_string(config).ok())
        .and_then(|config| venv_home(&config))
        .or_else(|| Some(folder.to_path_buf()))
}

fn initialise() -> Result<PythonInfo, PythonError> {
    EMBEDDED.store(true, Ordering::Relaxed);
    watch_forks();
    let executable = program_name().map_err(|message| PythonError::Start {
        executable: BUILD_PYTHON.to_string(),
        message,
    })?;
    let fail = |message: String| PythonError::Start {
        executable: executable.clone(),
        message,
    };
    let program = CString::new(executable.clone())
        .map_err(|_| fail("the path contains a NUL byte".into()))?;
    // SAFETY: the documented PyConfig sequence, run once (OnceLock) before any
    // other Python call in this process; the config is cleared on every path.
    unsafe {
        let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::zeroed();
        let config = config.as_mut_ptr();
        ffi::PyConfig_InitPythonConfig(config);
        // Ctrl-C belongs to Tessera, not to Python.
        (*config).install_signal_handlers = 0;
        // Importing a user's script must not litter its folder with __pycache__.
        (*config).write_bytecode = 0;
        (*config).parse_argv = 0;
        let status =
            ffi::PyConfig_SetBytesString(config, &mut (*config).program_name, program.as_ptr());
        if ffi::PyStatus_Exception(status) != 0 {
            ffi::PyConfig_Clear(config);
            return Err(fail(status_message(status)));
        }
        let status = ffi::Py_InitializeFromConfig(config);
        ffi::PyConfig_Clear(config);
        if ffi::PyStatus_Exception(status) != 0 {
            return Err(fail(status_message(status)));
        }
        // The main thread runs scripts' imports and setup(): Ctrl-C must
        // reach it too.
        crate::threads::register_current_thread();
        // Release the GIL taken by initialisation: the main thread attaches
        // only when it runs Python, and waits for the workers detached.
        ffi::PyEval_SaveThread();
    }
    Python::attach(|py| {
        crate::api::install_api(py)?;
        describe(py, executable.clone())
    })
    .map_err(|e: PyErr| fail(e.to_string()))
}

fn status_message(status: ffi::PyStatus) -> String {
    if status.err_msg.is_null() {
        return "initialisation failed".into();
    }
    // SAFETY: CPython sets err_msg to a static NUL-terminated string.
    let message = unsafe { std::ffi::CStr::from_ptr(status.err_msg) };
    message.to_string_lossy().into_owned()
}

/// Flushes Python's stdout and stderr. pyo3 never finalises the interpreter,
/// so without this, buffered `print` output is lost at exit when stdout is a pipe.
pub fn flush_output() {
    if !is_started() {
        return;
    }
    Python::attach(|py| {
        // A Ctrl-C or --timeout interrupts every thread of Tessera's, this
        // one too: its KeyboardInterrupt would be raised in the flush.
        // SAFETY: the GIL is held; a null exception clears this thread's
        // pending one.
        unsafe {
            pyo3::ffi::PyThreadState_SetAsyncExc(
                pyo3::ffi::PyThread_get_thread_ident() as _,
                std::ptr::null_mut(),
            );
        }
        for stream in ["stdout", "stderr"] {
            if let Ok(stream) = py.import("sys").and_then(|sys| sys.getattr(stream)) {
                // Every thread's unfinished line (see tessera._LineWriter).
                if stream.call_method0("_flush_all").is_err() {
                    let _ = stream.call_method0("flush");
                }
            }
        }
    });
}

/// Threads that Python code started and left running (a node's
/// `threading.Thread` or `Timer`): Tessera never waits for them, since
/// pyo3 does not finalise the interpreter, but the user should know.
pub fn lingering_threads() -> Vec<String> {
    if !is_started() {
        return Vec::new();
    }
    Python::attach(|py| {
        crate::api::api(py)
            .and_then(|api| api.lingering_threads.call0(py))
            .and_then(|found| found.extract(py))
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_venv_python_counts_as_the_python_it_was_made_from() {
        let root = std::env::temp_dir().join(format!("tessera-venv-{}", std::process::id()));
        let bin = root.join("venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(
            root.join("venv/pyvenv.cfg"),
            "home = /opt/python/bin\ninclude-system-site-packages = false\n",
        )
        .unwrap();
        let from_venv = base_interpreter_folder(&bin.join("python"));
        let plain = base_interpreter_folder(&root.join("python/bin/python3"));
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(from_venv, Some(PathBuf::from("/opt/python/bin")));
        assert_eq!(plain, Some(root.join("python/bin")));
    }
}
