//! The `tessera` Python module that scripts import: its Python source
//! (python/tessera.py) and the classes written in Rust.

use crate::context::{Context, TileDraws};
use pyo3::prelude::*;
use std::ffi::CString;

const API_SOURCE: &str = include_str!("../python/tessera.py");

/// Installs the `tessera` module (sockets, `Node`, `Context`) in `sys.modules`.
pub fn install_api(py: Python) -> PyResult<()> {
    let source = CString::new(API_SOURCE).expect("no NUL in the API source");
    let module = PyModule::from_code(py, &source, c"<tessera>", c"tessera")?;
    module.add_class::<Context>()?;
    module.add_class::<TileDraws>()?;
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
