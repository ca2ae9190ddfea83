//! The `tessera` Python module that scripts import: its Python source
//! (python/tessera.py), the classes written in Rust, and the boundary
//! between the two: the module's private functions that Tessera calls,
//! fetched and checked once, when the module is installed ([`Api`]).

use crate::context::{Context, TileDraws};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::ffi::CString;

const API_SOURCE: &str = include_str!("../python/tessera.py");

/// The loader of Blender 2.4x PyNode scripts, and the `Blender` package it
/// gives them, module by module (docs/blender-pynodes.md).
const PYNODE_SOURCE: &str = include_str!("../python/pynode.py");
const BLENDER_SOURCES: [(&str, &str); 5] = [
    ("Mathutils", include_str!("../python/blender/Mathutils.py")),
    ("Noise", include_str!("../python/blender/Noise.py")),
    ("Node", include_str!("../python/blender/Node.py")),
    ("Scene", include_str!("../python/blender/Scene.py")),
    ("Window", include_str!("../python/blender/Window.py")),
];

/// The private functions of the `tessera` module that Tessera calls, each
/// with the parameters Tessera passes, in order; [`Api::fetch`] checks them.
const FUNCTIONS: [(&str, &[&str]); 8] = [
    ("_describe", &["cls"]),
    ("_describe_static", &["path", "class_name"]),
    ("_node_classes", &["module"]),
    ("_line_of", &["cls"]),
    ("_numpy", &[]),
    ("_lingering_threads", &[]),
    ("_seed_random", &["seed"]),
    (
        "_call_tile",
        &[
            "node",
            "n",
            "info",
            "positions",
            "draws",
            "names",
            "payloads",
            "channels",
            "output_names",
            "output_channels",
        ],
    ),
];

/// The module's private functions, in [`FUNCTIONS`] order, and the
/// exception `_call_tile` raises for a result Tessera cannot use.
pub struct Api {
    /// `_describe(cls)`: a node class's sockets and flags, as a dict.
    pub describe: Py<PyAny>,
    /// `_describe_static(path, class_name)`: the same, read from the source.
    pub describe_static: Py<PyAny>,
    /// `_node_classes(module)`: a module's node classes, in source order.
    pub node_classes: Py<PyAny>,
    /// `_line_of(cls)`: the line of a class's `class` statement.
    pub line_of: Py<PyAny>,
    /// `_numpy()`: numpy, or an ImportError that says how to install it.
    pub numpy: Py<PyAny>,
    /// `_lingering_threads()`: names of threads that nodes left running.
    pub lingering_threads: Py<PyAny>,
    /// `_seed_random(seed)`: seeds `random`, and numpy's legacy generator
    /// now or when it is imported.
    pub seed_random: Py<PyAny>,
    /// `_call_tile(...)`: one `evaluate_tile` call ([`TileCall`]).
    call_tile: Py<PyAny>,
    /// `_TileResultError`.
    pub tile_result_error: Py<PyAny>,
}

/// The interpreter's one `tessera` module's boundary (one per process, as
/// the interpreter).
static API: PyOnceLock<Api> = PyOnceLock::new();

/// The PyNode loader's functions that Tessera calls.
pub struct PyNodeApi {
    /// `_load(path, module_name, class_name)`: the tessera.Node class
    /// running a PyNode script's class.
    pub load: Py<PyAny>,
    /// `_is_pynode(path)`: whether a script imports `Blender`.
    pub is_pynode: Py<PyAny>,
    /// `PyNodeClassError`: the script has no class of the name asked for.
    pub class_error: Py<PyAny>,
}

static PYNODE_API: PyOnceLock<PyNodeApi> = PyOnceLock::new();

/// The boundary of the installed PyNode loader.
pub fn pynode_api(py: Python<'_>) -> PyResult<&'static PyNodeApi> {
    PYNODE_API
        .get(py)
        .ok_or_else(|| PyRuntimeError::new_err("the PyNode loader is not installed"))
}

/// The boundary of the installed `tessera` module.
pub fn api(py: Python<'_>) -> PyResult<&'static Api> {
    API.get(py)
        .ok_or_else(|| PyRuntimeError::new_err("the tessera module is not installed"))
}

/// Seeds Python's `random`, and numpy's legacy generator now or when it is
/// imported, with `seed` (`tessera._seed_random`).
pub fn seed_random(py: Python<'_>, seed: u32) -> PyResult<()> {
    api(py)?.seed_random.call1(py, (seed,))?;
    Ok(())
}

/// The arguments of one `_call_tile` call, by name.
pub struct TileCall<'py> {
    pub node: &'py Bound<'py, PyAny>,
    pub n: usize,
    pub info: Bound<'py, PyAny>,
    pub positions: Bound<'py, PyAny>,
    pub draws: Bound<'py, PyAny>,
    pub names: &'py [String],
    pub payloads: Vec<Bound<'py, PyAny>>,
    pub channels: Vec<usize>,
    pub output_names: Vec<&'py str>,
    pub output_channels: Vec<usize>,
}

impl Api {
    /// The boundary of `module`: every function of [`FUNCTIONS`] present,
    /// callable and taking exactly the parameters named there, else an
    /// error naming what differs.
    pub fn fetch(module: &Bound<PyModule>) -> PyResult<Api> {
        let py = module.py();
        let inspect = py.import("inspect")?;
        let mut functions = Vec::with_capacity(FUNCTIONS.len());
        for (name, parameters) in FUNCTIONS {
            let function = module.getattr(name).map_err(|_| {
                PyRuntimeError::new_err(format!("the tessera module has no {name}"))
            })?;
            let signature = inspect.call_method1("signature", (&function,))?;
            let found: Vec<String> = signature
                .getattr("parameters")?
                .call_method0("keys")?
                .try_iter()?
                .map(|p| p?.extract())
                .collect::<PyResult<_>>()?;
            if found != parameters {
                return Err(PyRuntimeError::new_err(format!(
                    "tessera.{name} takes ({}); Tessera calls it with ({})",
                    found.join(", "),
                    parameters.join(", ")
                )));
            }
            functions.push(function.unbind());
        }
        // In FUNCTIONS order.
        let mut fetched = functions.into_iter();
        let mut next = || {
            fetched
                .next()
                .ok_or_else(|| PyRuntimeError::new_err("one function per name"))
        };
        Ok(Api {
            describe: next()?,
            describe_static: next()?,
            node_classes: next()?,
            line_of: next()?,
            numpy: next()?,
            lingering_threads: next()?,
            seed_random: next()?,
            call_tile: next()?,
            tile_result_error: module.getattr("_TileResultError")?.unbind(),
        })
    }

    /// Calls `_call_tile` with `call`'s arguments, in the order checked.
    pub fn call_tile<'py>(
        &self,
        py: Python<'py>,
        call: TileCall<'py>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call_tile.bind(py).call1((
            call.node,
            call.n,
            call.info,
            call.positions,
            call.draws,
            call.names,
            call.payloads,
            call.channels,
            call.output_names,
            call.output_channels,
        ))
    }
}

/// Installs the `tessera` module (sockets, `Node`, `Context`) in
/// `sys.modules`, and fetches its [`Api`]; then makes the embedded
/// interpreter Tessera's (output, threads, `os._exit`, crashes).
pub fn install_api(py: Python) -> PyResult<()> {
    let source = CString::new(API_SOURCE).expect("no NUL in the API source");
    let module = PyModule::from_code(py, &source, c"<tessera>", c"tessera")?;
    install_classes(&module)?;
    py.import("sys")?
        .getattr("modules")?
        .set_item("tessera", &module)?;
    // A warning is printed once per place in the code, not once per pixel.
    py.import("warnings")?
        .call_method1("simplefilter", ("default",))?;
    // Lines printed by nodes on different threads are written whole.
    module.call_method0("_install_line_writers")?;
    // numpy's BLAS must not start a thread pool beside Tessera's threads.
    module.call_method0("_limit_library_threads")?;
    // A node calling os._exit gets an error naming it and its line.
    module.call_method0("_guard_process_exit")?;
    // A crash in a node's C code prints Python's stack (and so the line of
    // the node's script) before the process dies.
    py.import("faulthandler")?.call_method0("enable")?;
    Ok(())
}

/// Installs the same API into `package`, the `tessera` Python package being
/// imported by a Python that Tessera did not start: the same source, so the
/// same classes, docstrings and stubs whichever way scripts meet it. The
/// host's output, threads and exits stay the host's.
pub fn install_api_into(package: &Bound<PyModule>) -> PyResult<()> {
    let py = package.py();
    let builtins = py.import("builtins")?;
    let code = builtins.call_method1("compile", (API_SOURCE, "<tessera>", "exec"))?;
    builtins.call_method1("exec", (code, package.dict()))?;
    install_classes(package)
}

/// The classes written in Rust, the boundary, and the PyNode loader.
fn install_classes(module: &Bound<PyModule>) -> PyResult<()> {
    module.add_class::<Context>()?;
    module.add_class::<TileDraws>()?;
    let api = Api::fetch(module)?;
    let _ = API.set(module.py(), api);
    install_pynode_loader(module.py())
}

/// Installs the PyNode loader (a private module: only PyNode scripts see
/// the `Blender` package it makes).
fn install_pynode_loader(py: Python) -> PyResult<()> {
    let source = CString::new(PYNODE_SOURCE).expect("no NUL in the PyNode loader");
    let module = PyModule::from_code(py, &source, c"<tessera pynode>", c"_tessera_pynode")?;
    let sources = pyo3::types::PyDict::new(py);
    for (name, source) in BLENDER_SOURCES {
        sources.set_item(name, source)?;
    }
    module.call_method1("_set_sources", (sources,))?;
    let _ = PYNODE_API.set(
        py,
        PyNodeApi {
            load: module.getattr("_load")?.unbind(),
            is_pynode: module.getattr("_is_pynode")?.unbind(),
            class_error: module.getattr("PyNodeClassError")?.unbind(),
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module of the functions of [`FUNCTIONS`] (`def name(params): pass`),
    /// with `changed` replacing one definition.
    fn module<'py>(py: Python<'py>, changed: &str) -> Bound<'py, PyModule> {
        let mut source = String::from("class _TileResultError(Exception):\n    pass\n");
        for (name, parameters) in FUNCTIONS {
            let definition = format!("def {name}({}): pass\n", parameters.join(", "));
            let replaced = changed.starts_with(&format!("def {name}("));
            source.push_str(if replaced { changed } else { &definition });
        }
        let source = CString::new(source).unwrap();
        PyModule::from_code(py, &source, c"<test>", c"boundary").unwrap()
    }

    #[test]
    fn the_boundary_is_checked_function_by_function() {
        crate::start().unwrap();
        Python::attach(|py| {
            assert!(Api::fetch(&module(py, "")).is_ok());
            let error = |changed: &str| match Api::fetch(&module(py, changed)) {
                Ok(_) => "accepted".to_string(),
                Err(e) => e.value(py).to_string(),
            };
            assert_eq!(
                error("def _line_of(klass): pass\n"),
                "tessera._line_of takes (klass); Tessera calls it with (cls)"
            );
            assert_eq!(
                error("def _numpy(strict): pass\n"),
                "tessera._numpy takes (strict); Tessera calls it with ()"
            );
            assert_eq!(
                error("def _describe(cls): pass\ndel _describe\n"),
                "the tessera module has no _describe"
            );
            // The module Tessera installs passes.
            let installed = py.import("tessera").unwrap();
            assert!(Api::fetch(&installed).is_ok());
        });
    }
}
