//! `tessera._native`: Tessera as a Python package. The package's
//! `__init__.py` calls [`_install`], which installs the same `tessera` API
//! scripts meet inside the `tessera` binary (`Node`, the sockets, `ctx`)
//! into the package, then re-exports the classes and functions here:
//! [`Scene`], `render` (into a numpy array), `write`, `pixel_hash`, and the
//! exceptions. docs/python-api.md is the user's guide.

use numpy::{
    PyArray1, PyArrayDescr, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray3, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyException, PyKeyboardInterrupt, PyMemoryError, PyOverflowError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tessera_core::{Collected, ColorSpace, PixelLayout, Rect};
use tessera_output::{Depth, Framebuffer, ImageTarget};
use tessera_process::Launch;
use tessera_python::{PythonRuntime, PythonWorkers, RunOptions, WorkerConnection};
use tessera_render::RenderError;
use tessera_scene::{Param, ParamValue, SceneDesc, SceneSource, Section, Span, Spanned};
use tessera_session::{FrameError, FrameRequest, LoadError, Loaded};

create_exception!(
    tessera,
    TesseraError,
    PyException,
    "Any error of Tessera's."
);
create_exception!(
    tessera,
    SceneError,
    TesseraError,
    "A bad scene, or a bad value given to Scene.set: `path`, `line` and `column` locate the first error in the file (None for a value set from Python), `errors` lists every message."
);
create_exception!(
    tessera,
    NodeError,
    TesseraError,
    "A node failed while rendering: `node` (its id), `node_type`, `pixel` ((x, y) or None), `message`, `traceback` (the Python traceback, or None), and `script` and `line` (the line of a Python node's script that failed, as the message names it, or None)."
);
create_exception!(
    tessera,
    OutputError,
    TesseraError,
    "An image could not be written (`write`), or the array is not an image."
);

/// Installs the `tessera` API into the package being imported.
#[pyfunction]
fn _install(package: &Bound<PyModule>) -> PyResult<()> {
    tessera_python::adopt(package).map_err(|e| TesseraError::new_err(e.to_string()))?;
    Ok(())
}

/// A scene, loaded and checked: `Scene.load(path)`, then `set` to change a
/// value as the file would, then `tessera.render(scene)`.
#[pyclass(module = "tessera", name = "Scene")]
struct Scene {
    source: SceneSource,
    desc: SceneDesc,
    /// The compiled scene and the Python runtime its nodes belong to: made
    /// again, with a runtime of their own, by every `set`.
    compiled: Arc<(Loaded, PythonRuntime)>,
    /// What `set` changed, in order.
    changes: Vec<(String, Py<PyAny>)>,
}

/// Compiles `desc` with a new Python runtime; SceneError (its message
/// after `call`, when given) if it is not a scene, KeyboardInterrupt if
/// Ctrl-C ended a script's import or a node's setup().
fn compile(
    py: Python,
    desc: &SceneDesc,
    source: &SceneSource,
    call: &str,
) -> PyResult<(Loaded, PythonRuntime)> {
    let runtime = PythonRuntime::default();
    match tessera_session::compile(desc, source, RunOptions::default(), &runtime) {
        Ok(loaded) => Ok((loaded, runtime)),
        Err(_) if runtime.take_interrupt() => Err(PyKeyboardInterrupt::new_err(())),
        Err(e) => Err(scene_error(py, &e, call)),
    }
}

/// A [`LoadError`] as a SceneError, its attributes set.
fn scene_error(py: Python, error: &LoadError, prefix: &str) -> PyErr {
    let (path, line, column, messages) = match error {
        LoadError::Read { path, reason } => (Some(path.clone()), None, None, vec![reason.clone()]),
        LoadError::Scene { scene, errors } => {
            let first = errors.0.first().and_then(|d| d.span.as_ref());
            let (line, column) = first.map(|span| scene.line_col(span.start)).unzip();
            let messages = errors.0.iter().map(|d| d.message.clone()).collect();
            (Some(scene.path.clone()), line, column, messages)
        }
    };
    if !prefix.is_empty() {
        return set_error(py, format!("{prefix}: {}", messages.join("; ")), messages);
    }
    located_scene_error(py, error.to_string(), (path, line, column), messages)
}

/// A SceneError about a value set from Python: located by the caller's
/// traceback and the key, not in the file.
fn set_error(py: Python, message: String, errors: Vec<String>) -> PyErr {
    located_scene_error(py, message, (None, None, None), errors)
}

/// A SceneError with its attributes: `path`, `line`, `column` of the first
/// error in the file (None for a value set from Python), every message.
fn located_scene_error(
    py: Python,
    message: String,
    (path, line, column): (Option<PathBuf>, Option<usize>, Option<usize>),
    errors: Vec<String>,
) -> PyErr {
    let err = SceneError::new_err(message);
    let value = err.value(py);
    let _ = value.setattr("path", path);
    let _ = value.setattr("line", line);
    let _ = value.setattr("column", column);
    let _ = value.setattr("errors", errors);
    err
}

/// numpy's boolean scalar (`numpy.True_`), which has `__float__` and is
/// no `bool`.
fn is_numpy_bool(value: &Bound<PyAny>) -> PyResult<bool> {
    let kind = value.get_type();
    Ok(kind.module()?.to_str()? == "numpy" && matches!(kind.name()?.to_str()?, "bool" | "bool_"))
}

/// A value from Python as a scene value: booleans, numbers (anything with
/// `__index__` or `__float__`, numpy's scalars included), strings (`"@id"` a
/// link, as in a scene file) and lists of these. A value that is none of
/// them is an error saying what it is.
fn param_value(value: &Bound<PyAny>, span: &Span) -> PyResult<Result<ParamValue, String>> {
    if value.is_instance_of::<PyBool>() || is_numpy_bool(value)? {
        return Ok(Ok(ParamValue::Boolean(value.is_truthy()?)));
    }
    if value.is_instance_of::<PyString>() {
        let text: String = value.extract()?;
        return Ok(tessera_scene::string_value(&text, span.clone()).map_err(|d| d.message));
    }
    if value.is_instance_of::<PyDict>() {
        return Ok(Err(
            "a dict is not a scene value: set a table's keys one by one".to_string(),
        ));
    }
    if let Ok(items) = value.try_iter() {
        let mut values = Vec::new();
        for item in items {
            match param_value(&item?, span)? {
                Ok(item) => values.push(Spanned::new(item, span.clone())),
                Err(message) => return Ok(Err(message)),
            }
        }
        return Ok(Ok(ParamValue::Array(values)));
    }
    // An int, or an integer type's scalar (numpy.int64); a float's
    // `__index__` (a 0-d numpy array has one) fails, and it is a float.
    if value.is_instance_of::<PyInt>() || value.hasattr("__index__")? {
        match value.extract::<i64>() {
            Ok(integer) => return Ok(Ok(ParamValue::Integer(integer))),
            Err(e) if e.is_instance_of::<PyOverflowError>(value.py()) => {
                return Ok(Err(format!(
                    "{value} is out of range: a scene's integers are 64-bit, {} to {}",
                    i64::MIN,
                    i64::MAX
                )));
            }
            Err(_) => {}
        }
    }
    if value.is_instance_of::<PyFloat>() || value.hasattr("__float__")? {
        return Ok(Ok(ParamValue::Float(value.extract()?)));
    }
    Ok(Err(format!(
        "a scene value is a number, a boolean, a string or a list of these, not {}",
        value.get_type().name()?
    )))
}

/// A scene value as a scene file writes it, for messages.
fn value_text(value: &ParamValue) -> String {
    match value {
        ParamValue::Boolean(b) => b.to_string(),
        ParamValue::Integer(i) => i.to_string(),
        ParamValue::Float(f) => format!("{f:?}"),
        // "@@text" in a file is the string "@text".
        ParamValue::String(text) if text.starts_with('@') => format!("{:?}", format!("@{text}")),
        ParamValue::String(text) => format!("{text:?}"),
        ParamValue::Link(link) => format!("\"{link}\""),
        ParamValue::Array(items) => {
            let items: Vec<String> = items.iter().map(|item| value_text(&item.value)).collect();
            format!("[{}]", items.join(", "))
        }
        ParamValue::Table(_) => "a table".to_string(),
    }
}

/// A scene value as plain Python data (what `Scene.changes` gives, and
/// worker processes receive as JSON).
fn value_object(py: Python, value: &ParamValue) -> PyResult<Py<PyAny>> {
    Ok(match value {
        ParamValue::Boolean(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        ParamValue::Integer(i) => i.into_pyobject(py)?.into_any().unbind(),
        ParamValue::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
        // As `set` takes it: "@@text" is the string "@text".
        ParamValue::String(text) if text.starts_with('@') => {
            format!("@{text}").into_pyobject(py)?.into_any().unbind()
        }
        ParamValue::String(text) => text.into_pyobject(py)?.into_any().unbind(),
        ParamValue::Link(link) => link.to_string().into_pyobject(py)?.into_any().unbind(),
        ParamValue::Array(items) => {
            let items = (items.iter())
                .map(|item| value_object(py, &item.value))
                .collect::<PyResult<Vec<_>>>()?;
            pyo3::types::PyList::new(py, items)?.into_any().unbind()
        }
        ParamValue::Table(_) => {
            return Err(PyTypeError::new_err(
                "a table is not a value Scene.set takes",
            ));
        }
    })
}

/// Sets `key` of `params` to `value` (replacing it, or added after them).
fn set_param(params: &mut Vec<Param>, key: &str, value: ParamValue, span: Span) {
    match params.iter_mut().find(|p| p.name.value == key) {
        Some(param) => param.value = Spanned::new(value, param.value.span.clone()),
        None => params.push(Param {
            name: Spanned::new(key.to_string(), span.clone()),
            value: Spanned::new(value, span),
        }),
    }
}

/// Sets `key` to `value` in `desc`, unchecked; returns the call as
/// messages name it (`scene.set(KEY, VALUE)`) and the value.
fn assign(
    py: Python,
    desc: &mut SceneDesc,
    key: &str,
    value: &Bound<PyAny>,
) -> PyResult<(String, ParamValue)> {
    let bad_key = || {
        PyValueError::new_err(format!(
            "scene key {key:?}: expected \"nodes.ID.INPUT\", \"image.KEY\", \"output.KEY\" or \"python.KEY\""
        ))
    };
    let (section, rest) = key.split_once('.').ok_or_else(bad_key)?;
    let at = desc.span.clone();
    let value = match param_value(value, &at)? {
        Ok(value) => value,
        Err(message) => {
            let call = format!("scene.set({key:?}, {})", value.repr()?);
            return Err(set_error(py, format!("{call}: {message}"), vec![message]));
        }
    };
    let call = format!("scene.set({key:?}, {})", value_text(&value));
    let value_set = value.clone();
    match section {
        "nodes" => {
            let (id, input) = rest.split_once('.').ok_or_else(bad_key)?;
            let node = (desc.nodes.iter_mut())
                .find(|n| n.id.value == id)
                .ok_or_else(|| {
                    let message = format!("the scene has no node `{id}`");
                    set_error(py, format!("{call}: {message}"), vec![message])
                })?;
            let span = node.id.span.clone();
            set_param(&mut node.params, input, value, span);
        }
        "image" | "output" | "python" => {
            let table = match section {
                "image" => &mut desc.image,
                "output" => &mut desc.output,
                _ => &mut desc.python,
            };
            let table = table.get_or_insert_with(|| Section {
                span: at.clone(),
                params: Vec::new(),
            });
            set_param(&mut table.params, rest, value, at);
        }
        _ => return Err(bad_key()),
    }
    Ok((call, value_set))
}

impl Scene {
    /// The scene of `source`, checked once its `changes` are made (a
    /// worker process's: the values `set` left, each a key's last).
    fn with_changes(
        py: Python,
        source: SceneSource,
        changes: &[(String, Bound<PyAny>)],
    ) -> PyResult<Scene> {
        let mut desc = tessera_session::describe(&source, &tessera_session::Reading::default())
            .map_err(|e| scene_error(py, &e, ""))?;
        let mut made = Vec::new();
        for (key, value) in changes {
            let (_, value) = assign(py, &mut desc, key, value)?;
            note_change(&mut made, key, value_object(py, &value)?);
        }
        let compiled = compile(py, &desc, &source, "")?;
        Ok(Scene {
            source,
            desc,
            compiled: Arc::new(compiled),
            changes: made,
        })
    }

    /// Sets `key` to `value` and checks the scene (Scene.set).
    fn set(&mut self, py: Python, key: &str, value: &Bound<PyAny>) -> PyResult<()> {
        let mut desc = self.desc.clone();
        let (call, value_set) = assign(py, &mut desc, key, value)?;
        let compiled = compile(py, &desc, &self.source, &call)?;
        self.desc = desc;
        self.compiled = Arc::new(compiled);
        note_change(&mut self.changes, key, value_object(py, &value_set)?);
        Ok(())
    }
}

/// Adds `key`'s change to `changes`. Each value replaces the key's last
/// wholly: an animation's loop of sets keeps one change per key, not one
/// per frame.
fn note_change(changes: &mut Vec<(String, Py<PyAny>)>, key: &str, value: Py<PyAny>) {
    changes.retain(|(changed, _)| changed != key);
    changes.push((key.to_string(), value));
}

#[pymethods]
impl Scene {
    /// Reads and checks the scene file at `path` (importing its Python
    /// scripts): a TOML scene, or a MaterialX document (`.mtlx`: its first
    /// node graph's first output, 1024 x 1024 until `image.width` and
    /// `image.height` are set); a bad scene raises SceneError with its
    /// location.
    ///
    /// `changes`, (key, value) pairs as `Scene.changes` gives them, are
    /// made as `set` would make them, and the scene checked once after
    /// them all (what a render farm's workers do).
    #[staticmethod]
    #[pyo3(signature = (path, changes=Vec::new()))]
    fn load(py: Python, path: PathBuf, changes: Vec<(String, Bound<PyAny>)>) -> PyResult<Scene> {
        let source = tessera_session::read_scene(&path).map_err(|e| scene_error(py, &e, ""))?;
        Scene::with_changes(py, source, &changes)
    }

    /// Sets one value as the scene file would: `"nodes.ID.INPUT"`, or
    /// `"image.KEY"`, `"output.KEY"`, `"python.KEY"`. The scene is checked
    /// again at once: a bad value raises SceneError naming the key and the
    /// value, and leaves the scene as it was. A render going on meanwhile
    /// (in another thread, or from its `progress`) goes on with the scene
    /// it started with.
    #[pyo3(name = "set")]
    fn set_py(slf: &Bound<Self>, key: &str, value: &Bound<PyAny>) -> PyResult<()> {
        let mut scene = slf.try_borrow_mut().map_err(|_| {
            TesseraError::new_err(format!(
                "scene.set({key:?}): another thread is changing this scene (Scene.set) now: change a scene from one thread at a time"
            ))
        })?;
        scene.set(slf.py(), key, value)
    }

    /// The scene file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.source.path.clone()
    }

    /// Every file the scene reads: the scene file, then the files its
    /// nodes read (images, Python scripts), each once, in plan order;
    /// absolute, as of loading.
    fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.source.absolute_path()];
        for node in &self.compiled.0.plan.nodes {
            for file in node.node.files_read() {
                if !files.contains(&file) {
                    files.push(file);
                }
            }
        }
        files
    }

    /// The values `set` changed, as (key, value): each key's last value,
    /// in the order they were last set; what a render farm makes again of
    /// the scene file on its workers (`Scene.load(path, changes)`).
    #[getter]
    fn changes(&self, py: Python) -> Vec<(String, Py<PyAny>)> {
        self.changes
            .iter()
            .map(|(key, value)| (key.clone(), value.clone_ref(py)))
            .collect()
    }

    /// The scene's `[output] colorspace`, or None: the colour space
    /// `write` should use for files the command would write from it.
    #[getter]
    fn colorspace(&self) -> Option<&'static str> {
        self.compiled.0.plan.output.colorspace.map(ColorSpace::name)
    }

    /// (width, height) in pixels.
    #[getter]
    fn size(&self) -> (u32, u32) {
        let image = &self.compiled.0.plan.image;
        (image.width, image.height)
    }

    /// Pickles as the scene's text as it was read, the folder its relative
    /// paths start from and its changes: unpickled (in another process, in
    /// another folder), it is loaded and checked again from them, as
    /// `Scene.load(path, changes)` loads a file; a scene read once, from
    /// standard input or a pipe, too.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Pickled<'py>> {
        // The module's own function: pickle names it, and finds it again.
        let load = py.import("tessera._native")?.getattr("_unpickle_scene")?;
        let source = &self.source;
        Ok((
            load,
            (
                source.path.clone(),
                source.text.clone(),
                source.base_dir().to_path_buf(),
                self.changes(py),
            ),
        ))
    }

    fn __repr__(&self) -> String {
        let (width, height) = self.size();
        format!(
            "<tessera.Scene {} {width}x{height}>",
            self.source.path.display()
        )
    }
}

/// The render of a failed node as NodeError.
fn node_error(py: Python, failure: &tessera_render::NodeFailure) -> PyErr {
    let err = NodeError::new_err(failure.to_string());
    let value = err.value(py);
    let _ = value.setattr("node", &failure.node);
    let _ = value.setattr("node_type", &failure.type_name);
    let _ = value.setattr("pixel", failure.error.pixel);
    let _ = value.setattr("message", &failure.error.message);
    let _ = value.setattr("traceback", failure.error.detail.clone());
    let script_line = failure.error.script_line.as_ref();
    let _ = value.setattr("script", script_line.map(|s| &s.script));
    let _ = value.setattr("line", script_line.map(|s| s.line));
    err
}

/// `region` (x, y, width, height) checked to be a non-empty part of a
/// `width` x `height` image, as a Rect.
fn checked_region((x, y, w, h): (i64, i64, i64, i64), width: u32, height: u32) -> PyResult<Rect> {
    let within = |start: i64, length: i64, limit: u32| {
        start >= 0
            && length >= 1
            && (start.checked_add(length)).is_some_and(|end| end <= i64::from(limit))
    };
    if !within(x, w, width) || !within(y, h, height) {
        return Err(PyValueError::new_err(format!(
            "region ({x}, {y}, {w}, {h}) (x, y, width, height) is not a non-empty part of the {width} x {height} image"
        )));
    }
    // Within the image, so each fits.
    Ok(Rect::new(x as i32, y as i32, w as u32, h as u32))
}

/// Renders `scene` into a float32 array (height, width, 4) of linear RGBA,
/// releasing the GIL while it works. `progress(done, total)` is called as
/// tiles finish; Ctrl-C (KeyboardInterrupt) stops the render. The scene is
/// taken as it is now: `Scene.set` meanwhile changes later renders.
#[pyfunction]
#[pyo3(signature = (scene, threads=0, frame=0, tile=32, region=None, progress=None, workers=None))]
#[allow(clippy::too_many_arguments)] // The keyword arguments of tessera.render.
fn _render<'py>(
    py: Python<'py>,
    scene: &Bound<'py, Scene>,
    threads: i64,
    frame: i64,
    tile: i64,
    region: Option<(i64, i64, i64, i64)>,
    progress: Option<Bound<'py, PyAny>>,
    workers: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let threads = usize::try_from(threads)
        .ok()
        .filter(|&n| n <= tessera_render::MAX_THREADS)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "threads must be from 0 (every core) to {}, not {threads}",
                tessera_render::MAX_THREADS
            ))
        })?;
    let tile = u32::try_from(tile)
        .ok()
        .filter(|&tile| tile >= 1)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "tile must be from 1 to {} pixels, not {tile}",
                u32::MAX
            ))
        })?;
    let workers = match workers {
        None => None,
        Some("threads") => Some(PythonWorkers::Threads),
        Some("processes") => Some(PythonWorkers::Processes),
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "workers must be \"threads\" or \"processes\", not {other:?}"
            )));
        }
    };
    // The scene as it is now, not borrowed while it renders: `Scene.set`
    // (in another thread, or from `progress`) changes later renders.
    let (compiled, processes) = {
        let scene = scene.try_borrow().map_err(|_| {
            TesseraError::new_err(
                "the scene is being changed (Scene.set in another thread): render it once set returns",
            )
        })?;
        let workers = workers.unwrap_or(scene.compiled.0.python.workers.unwrap_or_default());
        let processes = match workers {
            PythonWorkers::Processes => Some(worker_launch(py, &scene)?),
            PythonWorkers::Threads => None,
        };
        (scene.compiled.clone(), processes)
    };
    let (loaded, runtime) = &*compiled;
    let (image_width, image_height) = (loaded.plan.image.width, loaded.plan.image.height);
    let region = region
        .map(|region| checked_region(region, image_width, image_height))
        .transpose()?;
    let (width, height) = region.map_or((image_width, image_height), |r| (r.width, r.height));
    let mut image = Collected::rgba(width as usize * height as usize);
    let request = FrameRequest {
        threads: tessera_render::worker_count(threads),
        tile_size: tile,
        frame,
        region,
        colorspace: ColorSpace::LinRec709,
        output_bytes: image.bytes(),
        switch_interval: None,
        processes,
    };
    let progress = progress.map(Bound::unbind);
    let cancel = Arc::new(AtomicBool::new(false));
    let mut interrupted = None;
    let rendered = py.detach(|| {
        let progress = &mut |p: tessera_render::Progress| {
            Python::attach(|py| {
                // Ctrl-C, and an exception from the callback, stop the render.
                let result = py.check_signals().and_then(|()| match &progress {
                    Some(callback) => callback.call1(py, (p.tiles_done, p.tiles_total)).map(drop),
                    None => Ok(()),
                });
                if let Err(e) = result {
                    interrupted.get_or_insert(e);
                    cancel.store(true, Ordering::SeqCst);
                }
            });
        };
        tessera_session::render_frame(loaded, runtime, request, &cancel, progress, &mut image)
    });
    if let Some(error) = interrupted {
        return Err(error);
    }
    let rendered = rendered.map_err(|e| match e {
        // Ctrl-C ended a node's setup() for this render.
        FrameError::Python(_) if runtime.take_interrupt() => PyKeyboardInterrupt::new_err(()),
        FrameError::Python(e) => TesseraError::new_err(e.to_string()),
        FrameError::Render(RenderError::Node(failure)) => node_error(py, &failure),
        FrameError::Render(RenderError::Cancelled { .. }) => {
            PyKeyboardInterrupt::new_err("the render was cancelled")
        }
        FrameError::Render(RenderError::SinkFailed) => PyMemoryError::new_err(format!(
            "out of memory: the {width} x {height} image needs {} MiB",
            image.bytes() >> 20
        )),
        FrameError::Render(e) => TesseraError::new_err(e.to_string()),
    })?;
    let (width, height) = (rendered.width as usize, rendered.height as usize);
    let pixels = PyArray1::from_vec(py, image.pixels);
    Ok(pixels.reshape([height, width, 4])?.into_any())
}

/// How to start a worker process for Python nodes: this Python, running
/// `tessera._worker` with the scene's path; its changes (and the text of a
/// scene read from standard input, which only this process could read) on
/// its standard input, as JSON.
fn worker_launch(py: Python, scene: &Scene) -> PyResult<Launch> {
    let executable: PathBuf = py.import("sys")?.getattr("executable")?.extract()?;
    let from_stdin = tessera_scene::is_standard_input(&scene.source.path);
    let job = PyDict::new(py);
    job.set_item("changes", scene.changes(py))?;
    job.set_item("text", from_stdin.then_some(scene.source.text.as_str()))?;
    let job: String = (py.import("json")?)
        .call_method1("dumps", (job,))?
        .extract()?;
    Ok(Launch {
        program: executable,
        // Absolute as of loading: the program (or a node) may have changed
        // folder since.
        args: vec![
            "-m".into(),
            "tessera._worker".into(),
            scene.source.absolute_path().into_os_string(),
        ],
        env: Vec::new(),
        // A scene from standard input: read again in the folder it was
        // read in.
        dir: from_stdin.then(|| scene.source.base_dir().to_path_buf()),
        input: Some(Arc::from(job.as_str())),
    })
}

/// A worker process's side (`python -m tessera._worker`): loads the scene
/// as the rendering process has it (`text`: a scene from standard input),
/// then evaluates the tiles it is sent until that process closes the
/// connection. False where the scene did not load: the rendering process
/// was told why, and reports it.
#[pyfunction]
fn _serve_worker(
    py: Python,
    path: PathBuf,
    changes: Vec<(String, Bound<PyAny>)>,
    text: Option<String>,
) -> PyResult<bool> {
    let connection =
        WorkerConnection::inherited().map_err(|e| TesseraError::new_err(e.to_string()))?;
    let source = match text {
        Some(text) => Ok(SceneSource::new(path, text)),
        None => tessera_session::read_scene(&path).map_err(|e| scene_error(py, &e, "")),
    };
    let scene = match source.and_then(|source| Scene::with_changes(py, source, &changes)) {
        Ok(scene) => scene,
        Err(e) => {
            // Raised here too, it would print its traceback beside the
            // rendering process's report.
            connection.setup_failed(&e.to_string());
            return Ok(false);
        }
    };
    let (_, runtime) = &*scene.compiled;
    py.detach(|| connection.serve(runtime))
        .map_err(|e| TesseraError::new_err(e.to_string()))?;
    Ok(true)
}

/// What `Scene.__reduce__` gives pickle: [`_unpickle_scene`] and its
/// arguments (path, text, base folder, changes).
type Pickled<'py> = (
    Bound<'py, PyAny>,
    (PathBuf, String, PathBuf, Vec<(String, Py<PyAny>)>),
);

/// A pickled [`Scene`] loaded again (its `__reduce__`): `text` read from
/// `path`, its relative paths from `base`, then `changes` made.
#[pyfunction]
fn _unpickle_scene(
    py: Python,
    path: PathBuf,
    text: String,
    base: PathBuf,
    changes: Vec<(String, Bound<PyAny>)>,
) -> PyResult<Scene> {
    Scene::with_changes(py, SceneSource::with_base(path, text, base), &changes)
}

/// An array of `tessera.render`'s dtype and shape as a framebuffer; else
/// an OutputError saying what `image` is. A float32 array in the other
/// byte order (`>f4` here) is one too, its values converted.
fn framebuffer(image: &Bound<PyAny>) -> PyResult<Framebuffer> {
    let native = match image.cast::<PyUntypedArray>() {
        Ok(array) if is_foreign_float32(&array.dtype()) => {
            image.call_method1("astype", ("float32",))?
        }
        _ => image.clone(),
    };
    let array = native.extract::<PyReadonlyArray3<f32>>().ok();
    let Some(image) = array.filter(|array| array.shape()[2] == 4) else {
        let given = match (image.getattr("dtype"), image.getattr("shape")) {
            (Ok(dtype), Ok(shape)) => format!("a {dtype} array of shape {}", shape.repr()?),
            _ => format!("a {}", image.get_type().name()?),
        };
        return Err(OutputError::new_err(format!(
            "an image is a float32 array of shape (height, width, 4), not {given}"
        )));
    };
    let shape = image.shape();
    if shape[0] == 0 || shape[1] == 0 {
        return Err(OutputError::new_err(format!(
            "an image has at least one pixel, not {} x {}",
            shape[1], shape[0]
        )));
    }
    let too_large = |_| OutputError::new_err("the image is too large");
    Ok(Framebuffer {
        width: u32::try_from(shape[1]).map_err(too_large)?,
        height: u32::try_from(shape[0]).map_err(too_large)?,
        layout: PixelLayout::Rgba,
        pixels: image.as_array().iter().copied().collect(),
    })
}

/// A 4-byte float in the byte order this machine does not use: numpy's
/// float32 to the user, but no `f32` to read in place.
fn is_foreign_float32(dtype: &Bound<PyArrayDescr>) -> bool {
    dtype.kind() == b'f' && dtype.itemsize() == 4 && dtype.is_native_byteorder() == Some(false)
}

/// A path as `open` takes it: a str, bytes, or an os.PathLike giving
/// either; else an OutputError saying what it was given.
fn file_path(path: &Bound<PyAny>) -> PyResult<PathBuf> {
    let py = path.py();
    // Bytes become the str that the file system encoding turns back into
    // them (undecodable bytes as surrogates), which PathBuf encodes back
    // exactly.
    let text = (py.import("os")?)
        .call_method1("fsdecode", (path,))
        .map_err(|e| {
            if e.is_instance_of::<PyTypeError>(py) {
                OutputError::new_err(format!("path: {}", e.value(py)))
            } else {
                e
            }
        })?;
    text.extract()
}

/// `write`'s `depth`: 8, 16 or 32, as a number or a string, as `--depth`
/// takes it.
fn image_depth(depth: &Bound<PyAny>) -> PyResult<Depth> {
    // An integer of any kind (numpy's too, by `__index__`), or its text;
    // not a bool, nor a float.
    let text = if depth.is_instance_of::<PyString>() {
        depth.str()?.to_string()
    } else if !depth.is_instance_of::<PyBool>() && depth.hasattr("__index__")? {
        depth.call_method0("__index__")?.str()?.to_string()
    } else {
        String::new()
    };
    text.parse::<Depth>().map_err(|_| {
        let given = depth.repr().map(|r| r.to_string()).unwrap_or_default();
        OutputError::new_err(format!(
            "depth must be 8, 16, 32 or \"half\" (or \"8\", \"16\", \"32\"), not {given}"
        ))
    })
}

/// Writes a linear RGBA float32 array (height, width, 4; either byte
/// order) to `path` (a str, bytes or os.PathLike, as `open` takes it) as
/// the command line does: the format from the extension (PNG, EXR, JPEG), the
/// colour space by its default for the format unless given, written to a
/// temporary file and renamed into place.
#[pyfunction]
#[pyo3(signature = (image, path, depth=None, colorspace=None))]
fn write(
    py: Python,
    image: &Bound<PyAny>,
    path: &Bound<PyAny>,
    depth: Option<&Bound<PyAny>>,
    colorspace: Option<&str>,
) -> PyResult<()> {
    let path = file_path(path)?;
    let depth = depth.map(image_depth).transpose()?;
    let colorspace = colorspace
        .map(|name| {
            ColorSpace::parse(name).ok_or_else(|| {
                let names: Vec<&str> = ColorSpace::names().collect();
                OutputError::new_err(format!(
                    "unknown colour space {name:?}; use one of {}",
                    names.join(", ")
                ))
            })
        })
        .transpose()?;
    let mut framebuffer = framebuffer(image)?;
    let target = ImageTarget::new(&path, depth)
        .map_err(|e| OutputError::new_err(e.to_string()))?
        .with_colorspace(colorspace);
    py.detach(|| {
        if !target.colorspace.is_working_space() {
            for pixel in framebuffer.pixels.as_chunks_mut::<4>().0 {
                let [r, g, b] = target.colorspace.encode([pixel[0], pixel[1], pixel[2]]);
                pixel[..3].copy_from_slice(&[r, g, b]);
            }
        }
        target.write(&framebuffer)
    })
    .map_err(|e| OutputError::new_err(e.to_string()))
}

/// Checks, before a farm renders it, that `write` could write an image to
/// `path` (as the command checks its output before rendering): its format,
/// and a folder that exists (neither makes one), holding no folder or
/// read-only file by that name; else the OutputError the command's message
/// is.
#[pyfunction]
fn _check_output(path: &Bound<PyAny>) -> PyResult<()> {
    ImageTarget::new(&file_path(path)?, None)
        .map(drop)
        .map_err(|e| OutputError::new_err(e.to_string()))
}

/// The pixel hash (BLAKE3) the command line prints for these pixels (a render written
/// to EXR, whose pixels are linear, as `tessera.render`'s are).
#[pyfunction]
fn pixel_hash(image: &Bound<PyAny>) -> PyResult<String> {
    Ok(tessera_output::pixel_hash(&framebuffer(image)?))
}

#[pymodule]
fn _native(module: &Bound<PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add_function(wrap_pyfunction!(_install, module)?)?;
    module.add_function(wrap_pyfunction!(_render, module)?)?;
    module.add_function(wrap_pyfunction!(_serve_worker, module)?)?;
    module.add_function(wrap_pyfunction!(_unpickle_scene, module)?)?;
    module.add_function(wrap_pyfunction!(write, module)?)?;
    module.add_function(wrap_pyfunction!(pixel_hash, module)?)?;
    module.add_function(wrap_pyfunction!(_check_output, module)?)?;
    module.add_class::<Scene>()?;
    module.add("TesseraError", py.get_type::<TesseraError>())?;
    module.add("SceneError", py.get_type::<SceneError>())?;
    module.add("NodeError", py.get_type::<NodeError>())?;
    module.add("OutputError", py.get_type::<OutputError>())?;
    Ok(())
}
