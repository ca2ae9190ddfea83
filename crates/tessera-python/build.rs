//! Remembers the interpreter pyo3 chose (PYO3_PYTHON, else `python3` on
//! PATH), so the binary starts that interpreter's standard library, and
//! hands its libpython folder to binaries (as `links` metadata: link
//! arguments of a library's build script do not reach binaries).

fn main() {
    // This crate's own test binaries.
    pyo3_build_config::add_libpython_rpath_link_args();
    // `Py_3_14`, `Py_GIL_DISABLED` and the like, for what depends on the
    // interpreter's object layout (call.rs's `refill`).
    pyo3_build_config::use_pyo3_cfgs();
    let config = pyo3_build_config::get();
    println!(
        "cargo:rustc-env=TESSERA_BUILD_PYTHON={}",
        config.executable().unwrap_or_default()
    );
    // Read by tessera-cli's build script as DEP_TESSERA_PYTHON_LIB_DIR.
    if let Some(lib_dir) = config.lib_dir() {
        println!("cargo:lib_dir={lib_dir}");
    }
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
