//! An rpath to the libpython pyo3 linked against: without it the loader may
//! pick another libpython of the same soname (Debian's, say) and the
//! interpreter starts with the wrong library under the right prefix.

fn main() {
    if let Ok(lib_dir) = std::env::var("DEP_TESSERA_PYTHON_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    }
}
