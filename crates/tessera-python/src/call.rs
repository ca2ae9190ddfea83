//! Calling a Python node's `__call__` for each sample of a tile: the
//! arguments, the checks on what it returns, and the errors.

use crate::api::TileCall;
use crate::arrays::input_array;
use crate::context::Context;
use crate::errors::ExceptionReport;
use numpy::PyArray1;
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyString, PyTuple};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use tessera_core::{Buffer, NodeError, ScriptLine, TileCtx, Value, ValueType, counted};

/// What a Python node does when a call fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnError {
    /// Stop the render with the error (exit code 3).
    #[default]
    Stop,
    /// Paint the sample magenta, count it, and go on.
    Color,
}

/// How an evaluation takes the GIL.
#[derive(Clone, Copy)]
pub enum Calls<'py> {
    /// Each call takes the GIL for itself (`free`, `isolated`).
    PerCall,
    /// The GIL is taken once for the whole tile on the worker (`ordered`:
    /// pure nodes, and every node when one worker renders): threads then
    /// hand it over once a tile, not once a call.
    PerTile,
    /// Each call takes the GIL and this node's [`Gate`] (`exclusive`).
    Exclusive,
    /// The GIL is already held, for the whole evaluation (the `ordered`
    /// thread, and [`Calls::PerTile`] once taken).
    Held(Python<'py>),
}

impl Calls<'_> {
    /// Runs `call` with the GIL taken as this mode says: already held, taken
    /// for this call (or tile) on the worker's own thread state, or taken
    /// with the node's gate.
    fn with_gil<R>(self, gate: &Gate, mut call: impl FnMut(Python) -> R) -> R {
        match self {
            Calls::Held(py) => call(py),
            Calls::PerCall | Calls::PerTile => Python::attach(call),
            Calls::Exclusive => gate.run(call),
        }
    }
}

/// Everything about a Python node but its instance: how to call it and what
/// to make of the result.
pub struct NodeCore {
    pub slots: Vec<Slot>,
    /// The class's own inputs, in the order of `slots`.
    pub input_names: Vec<String>,
    /// Call `evaluate_tile` once per tile rather than `__call__` per sample.
    pub vectorised: bool,
    /// The line of `def evaluate_tile`.
    pub tile_line: u32,
    pub outputs: Vec<(String, ValueType)>,
    /// The output names as Python strings, for looking up returned dicts.
    pub output_keys: Vec<Py<PyString>>,
    pub class_name: String,
    pub script: String,
    /// Canonical, as tracebacks name it.
    pub path: PathBuf,
    pub call_line: u32,
    pub on_error: OnError,
    /// Samples painted under `OnError::Color`, and the first failure's message.
    pub failures: AtomicUsize,
    pub first_failure: Mutex<Option<String>>,
    /// (tile << 32 | sample) of `first_failure`; `u64::MAX` for none.
    pub first_failure_key: AtomicU64,
    /// Keeps calls of this node apart under `exclusive`.
    pub gate: Gate,
}

/// A node's output over one tile, to be written: its planes one after the
/// other. A [`Buffer`]'s in this process; in a worker process, the memory
/// it shares with the render process, which the outputs reach without a
/// copy.
pub struct OutputPlanes<'a> {
    pub data: &'a mut [f32],
    pub channels: usize,
}

impl OutputPlanes<'_> {
    /// The planes of each of `buffers`.
    pub fn of(buffers: &mut [Buffer]) -> Vec<OutputPlanes<'_>> {
        (buffers.iter_mut())
            .map(|buffer| {
                let channels = buffer.channels();
                OutputPlanes {
                    data: buffer.data_mut(),
                    channels,
                }
            })
            .collect()
    }
}

impl NodeCore {
    /// Evaluates the tile: `evaluate_tile` once, or `__call__` per sample.
    /// Every float of `outputs` is written, unless it fails (so they need
    /// not be zeroed first).
    pub fn evaluate(
        &self,
        instance: &Py<PyAny>,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [OutputPlanes],
        calls: Calls,
    ) -> Result<(), NodeError> {
        let _scene_code = crate::interpreter::SceneCode::enter();
        if let Calls::PerTile = calls {
            return Python::attach(|py| {
                self.evaluate(instance, ctx, inputs, outputs, Calls::Held(py))
            });
        }
        if !self.vectorised {
            return self.eval_samples(instance, ctx, inputs, outputs, calls);
        }
        let result = calls.with_gil(&self.gate, |py| {
            self.eval_vectorised(py, instance, ctx, inputs, outputs)
        });
        match (result, self.on_error) {
            (Err(error), OnError::Color) => {
                // The whole tile's call failed: every sample of it.
                for i in 0..ctx.len() {
                    ctx.record_failure(i);
                }
                for output in outputs.iter_mut() {
                    output.data.fill(0.0);
                }
                self.failures.fetch_add(ctx.len(), Ordering::Relaxed);
                self.keep_first_failure(failure_key(ctx, 0), &error);
                Ok(())
            }
            (result, _) => result,
        }
    }

    /// `evaluate_tile(ctx, **inputs)` with numpy arrays, the GIL held for
    /// the whole tile. Inputs are read-only arrays viewing the tile's
    /// buffers; outputs are copied once, from the returned arrays' memory.
    fn eval_vectorised(
        &self,
        py: Python,
        instance: &Py<PyAny>,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [OutputPlanes],
    ) -> Result<(), NodeError> {
        let n = ctx.len();
        let fail = |e: PyErr| self.tile_error_at(py, e, ctx);
        let api = crate::api::api(py).map_err(fail)?;
        // numpy importable, or the error that says how to install it (the
        // numpy crate would panic without it).
        api.numpy.call0(py).map_err(fail)?;
        let SamplePositions {
            xs,
            ys,
            indices,
            us,
            vs,
        } = SamplePositions::of(ctx);
        let samples: Vec<i32> = indices.into_iter().map(|s| s as i32).collect();
        // Moved into numpy, not copied.
        let positions = (
            PyArray1::from_vec(py, xs),
            PyArray1::from_vec(py, ys),
            PyArray1::from_vec(py, us),
            PyArray1::from_vec(py, vs),
            PyArray1::from_vec(py, samples),
        );
        let info = PyDict::new(py);
        let facts = || -> PyResult<()> {
            info.set_item("frame", ctx.frame.frame)?;
            info.set_item("time", ctx.frame.time)?;
            info.set_item("fps", ctx.frame.fps)?;
            info.set_item("width", ctx.frame.width)?;
            info.set_item("height", ctx.frame.height)?;
            info.set_item("tile", ctx.tile_index)?;
            info.set_item("seed", ctx.frame.seed)?;
            info.set_item("node", ctx.node_id)
        };
        facts().map_err(fail)?;
        let draws = Py::new(py, crate::context::TileDraws::new(ctx)).map_err(fail)?;
        let mut payloads: Vec<Bound<PyAny>> = Vec::with_capacity(self.slots.len());
        let mut channels = Vec::with_capacity(self.slots.len());
        let mut buffers = inputs.iter();
        for slot in &self.slots {
            match slot {
                Slot::Uniform(value) => {
                    payloads.push(value.bind(py).clone());
                    channels.push(0);
                }
                Slot::Varying => {
                    let buffer = buffers.next().expect("one buffer per varying input");
                    payloads.push(input_array(py, buffer).map_err(fail)?);
                    channels.push(buffer.channels());
                }
            }
        }
        let output_names: Vec<&str> = self.outputs.iter().map(|(name, _)| name.as_str()).collect();
        let output_channels: Vec<usize> = outputs.iter().map(|output| output.channels).collect();
        let call = TileCall {
            node: instance.bind(py),
            n,
            info: info.into_any(),
            positions: positions.into_pyobject(py).map_err(fail)?.into_any(),
            draws: draws.into_bound(py).into_any(),
            names: &self.input_names,
            payloads,
            channels,
            output_names,
            output_channels,
        };
        let returned = api.call_tile(py, call);
        crate::interpreter::exit_if_forked();
        let returned = returned.map_err(fail)?;
        let arrays = returned.len().map_err(fail)?;
        if arrays != outputs.len() {
            return Err(NodeError::new(format!(
                "{}.evaluate_tile: Tessera's _call_tile gave {} for {}",
                self.class_name,
                counted(arrays as u64, "array"),
                counted(outputs.len() as u64, "output")
            )));
        }
        for (output, array) in outputs.iter_mut().zip(returned.try_iter().map_err(fail)?) {
            // _call_tile checked the array: float32 of shape (n, channels),
            // made Fortran-ordered, whose columns are the output's planes:
            // its memory is copied straight into them.
            let array = PyBuffer::<f32>::get(&array.map_err(fail)?).map_err(fail)?;
            array.copy_to_fortran_slice(py, output.data).map_err(fail)?;
        }
        Ok(())
    }

    /// An `evaluate_tile` failure: a value Tessera cannot use (at its
    /// sample, with the `def evaluate_tile` line) or an exception.
    fn tile_error_at(&self, py: Python, err: PyErr, ctx: &TileCtx) -> NodeError {
        let bad_result = crate::api::api(py)
            .is_ok_and(|api| err.is_instance(py, api.tile_result_error.bind(py)));
        if bad_result {
            let value = err.value(py);
            let index: usize = value
                .getattr("index")
                .and_then(|i| i.extract::<Option<usize>>())
                .ok()
                .flatten()
                .unwrap_or(0);
            let (x, y, _) = ctx.locate(index.min(ctx.len().saturating_sub(1)));
            return NodeError {
                message: format!(
                    "{}.evaluate_tile {} ({}:{})",
                    self.class_name,
                    value.str().map(|s| s.to_string()).unwrap_or_default(),
                    self.script,
                    self.tile_line
                ),
                pixel: Some((x, y)),
                detail: None,
                script_line: Some(self.script_line(self.tile_line)),
            };
        }
        let report = ExceptionReport::new(py, &err, &self.path);
        let (x, y, _) = ctx.locate(0);
        let line = report.line.unwrap_or(self.tile_line);
        NodeError {
            message: format!(
                "{} (in {}.evaluate_tile, {}:{line}, tile {})",
                report.summary, self.class_name, self.script, ctx.tile_index
            ),
            pixel: Some((x, y)),
            detail: Some(report.traceback),
            script_line: Some(self.script_line(line)),
        }
    }

    fn script_line(&self, line: u32) -> ScriptLine {
        ScriptLine {
            script: self.script.clone(),
            line,
        }
    }

    /// Calls `instance` for every sample of the tile, in sample order.
    fn eval_samples(
        &self,
        instance: &Py<PyAny>,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [OutputPlanes],
        calls: Calls,
    ) -> Result<(), NodeError> {
        let mut objects: Option<TileObjects> = None;
        let mut result = Ok(());
        let mut planes = TilePlanes::new(ctx, inputs, outputs);
        for i in 0..ctx.len() {
            let key = failure_key(ctx, i);
            let call = |py: Python| {
                let attempt = match &mut objects {
                    Some(objects) => Ok(objects),
                    None => Py::new(py, Context::new(ctx))
                        .and_then(|context| {
                            Ok(objects.insert(TileObjects {
                                context,
                                last: self.slots.iter().map(|_| None).collect(),
                                method: call_function(instance.bind(py))?,
                            }))
                        })
                        .map_err(CallFailure::Raised),
                };
                attempt
                    .and_then(|objects| {
                        let (pixel, sample, uv) = planes.position(i);
                        objects.context.borrow_mut(py).set_sample(pixel, sample, uv);
                        self.call(py, instance, objects, &mut planes, i)
                    })
                    .map_err(|failure| {
                        // Formatting a traceback costs far more than a call:
                        // only for an error that will be shown.
                        let shown = self.on_error == OnError::Stop
                            || key < self.first_failure_key.load(Ordering::Relaxed);
                        shown.then(|| self.node_error(py, failure, ctx, i))
                    })
            };
            let outcome = calls.with_gil(&self.gate, call);
            if let Err(error) = outcome {
                match self.on_error {
                    OnError::Stop => {
                        result = Err(error.expect("errors that stop are formatted"));
                        break;
                    }
                    OnError::Color => {
                        ctx.record_failure(i);
                        for output in 0..planes.outputs.len() {
                            planes.write(output, i, &[0.0; 4]);
                        }
                        self.failures.fetch_add(1, Ordering::Relaxed);
                        if let Some(error) = error {
                            self.keep_first_failure(key, &error);
                        }
                    }
                }
            }
        }
        match (objects, calls) {
            (Some(objects), Calls::Held(_)) => drop(objects),
            (Some(objects), _) => Python::attach(|_| drop(objects)),
            (None, _) => {}
        }
        result
    }

    /// Keeps the failure of the lowest (tile, sample), so the report names
    /// the same failure at any thread count.
    /// Forgets the failures counted (a new frame's render starts).
    pub fn reset_failures(&self) {
        self.failures.store(0, Ordering::Relaxed);
        self.first_failure_key.store(u64::MAX, Ordering::Relaxed);
        *self.first_failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn keep_first_failure(&self, key: u64, error: &NodeError) {
        self.keep_first(key, || format_failure(error));
    }

    fn keep_first(&self, key: u64, message: impl FnOnce() -> String) {
        let mut first = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
        if key < self.first_failure_key.load(Ordering::Relaxed) {
            self.first_failure_key.store(key, Ordering::Relaxed);
            *first = Some(message());
        }
    }

    /// The samples painted so far and the first failure, cleared: a
    /// worker process reports each tile's to the render process.
    pub fn take_painted(&self) -> (usize, Option<(u64, String)>) {
        let mut first = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
        let key = self.first_failure_key.swap(u64::MAX, Ordering::Relaxed);
        let count = self.failures.swap(0, Ordering::Relaxed);
        (count, first.take().map(|message| (key, message)))
    }

    /// Counts samples a worker process painted, keeping the first failure.
    pub fn absorb_painted(&self, count: usize, first: Option<(u64, String)>) {
        self.failures.fetch_add(count, Ordering::Relaxed);
        if let Some((key, message)) = first {
            self.keep_first(key, || message);
        }
    }

    /// The method a tile's evaluation calls.
    pub fn method_name(&self) -> &'static str {
        if self.vectorised {
            "evaluate_tile"
        } else {
            "__call__"
        }
    }

    /// What to tell the user after the render, under `--on-error=color`.
    pub fn report(&self) -> Option<String> {
        let count = self.failures.load(Ordering::Relaxed);
        let first = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
        first.as_ref().map(|first| {
            format!(
                "{}.{} failed on {}, painted magenta; the first {first}",
                self.class_name,
                self.method_name(),
                counted(count as u64, "sample")
            )
        })
    }

    /// An error at tile level (creating an instance, say), at the tile's first pixel.
    pub fn tile_error(&self, py: Python, err: &PyErr, what: &str, ctx: &TileCtx) -> NodeError {
        let report = ExceptionReport::new(py, err, &self.path);
        let line = report.line.map_or(String::new(), |l| format!(":{l}"));
        let (x, y, _) = ctx.locate(0);
        NodeError {
            message: format!(
                "{what} of {} failed at {}{line}: {}",
                self.class_name, self.script, report.summary
            ),
            pixel: Some((x, y)),
            detail: Some(report.traceback),
            script_line: report.line.map(|line| self.script_line(line)),
        }
    }
}

/// Lets one call of a node run at a time, whatever the switch interval,
/// without ever holding a Rust lock while waiting for the GIL or the GIL
/// while waiting for a Rust lock: the busy flag is tested and set with the
/// GIL held, and a caller that finds it set waits on a condition variable
/// with the GIL released. The generation counter, read before trying, means
/// a release between the try and the wait is never missed.
#[derive(Default)]
pub struct Gate {
    busy: AtomicBool,
    generation: Mutex<u64>,
    released: Condvar,
}

/// Clears the busy flag even if the call panics.
struct Busy<'a>(&'a AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Gate {
    fn generation(&self) -> MutexGuard<'_, u64> {
        self.generation.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `call` with the GIL and this gate held.
    pub fn run<R>(&self, mut call: impl FnMut(Python) -> R) -> R {
        loop {
            let seen = *self.generation();
            let done = Python::attach(|py| {
                if self.busy.swap(true, Ordering::Acquire) {
                    return None;
                }
                let _busy = Busy(&self.busy);
                Some(call(py))
            });
            let mut generation = self.generation();
            match done {
                Some(result) => {
                    *generation += 1;
                    self.released.notify_all();
                    return result;
                }
                None => {
                    while *generation == seen {
                        generation = self
                            .released
                            .wait(generation)
                            .unwrap_or_else(|e| e.into_inner());
                    }
                }
            }
        }
    }
}

pub fn uniform_object(py: Python, value: &Value) -> Py<PyAny> {
    match value {
        Value::Integer(v) => v.into_pyobject(py).expect("int").into_any().unbind(),
        Value::Boolean(v) => v
            .into_pyobject(py)
            .expect("bool")
            .to_owned()
            .into_any()
            .unbind(),
        Value::String(v) => v.into_pyobject(py).expect("str").into_any().unbind(),
        other => unreachable!("python nodes have no uniform {other:?}"),
    }
}

/// How a declared input reaches `__call__`.
pub enum Slot {
    /// Per sample, from the next input buffer: a float, or a tuple of floats.
    Varying,
    /// The same object every call.
    Uniform(Py<PyAny>),
}

/// Why one call failed.
enum CallFailure {
    Raised(PyErr),
    BadResult(String),
}

/// Orders failures canonically: by tile, then by sample.
fn failure_key(ctx: &TileCtx, i: usize) -> u64 {
    ((ctx.tile_index as u64) << 32) | i as u64
}

/// Python objects the calls of one tile reuse.
struct TileObjects {
    context: Py<Context>,
    /// Per slot, the last varying value passed and its Python object:
    /// constant and slowly varying inputs cost no new object per call.
    last: Vec<Option<([u32; 4], Py<PyAny>)>>,
    /// The class's `__call__` when it is a plain Python function, looked
    /// up once for the tile: called with the instance as its first
    /// argument, as `instance(...)` would, without the lookup, the bound
    /// method and the argument tuples a call of the instance makes.
    method: Option<Py<PyAny>>,
}

/// `__call__` as Python's call of `instance` finds it (the first class of
/// its type's MRO that defines it), when that is a plain function.
fn call_function(instance: &Bound<PyAny>) -> PyResult<Option<Py<PyAny>>> {
    let name = pyo3::intern!(instance.py(), "__call__");
    for class in instance.get_type().mro() {
        let found = class
            .getattr(pyo3::intern!(instance.py(), "__dict__"))?
            .get_item(name);
        if let Ok(found) = found {
            // SAFETY: a type check of a live object, the GIL held.
            let plain = unsafe { pyo3::ffi::PyFunction_Check(found.as_ptr()) } != 0;
            return Ok(plain.then(|| found.unbind()));
        }
    }
    Ok(None)
}

/// Arguments a call passes without allocating for them (the instance and
/// `ctx` first): nodes with more inputs have theirs in a `Vec`.
const STACK_ARGUMENTS: usize = 16;

/// The Python object for one varying input's sample, a float or a tuple
/// of floats, kept in `last` (which owns it): the previous call's object
/// when the value is the same.
fn argument(
    py: Python,
    sample: &[f32],
    last: &mut Option<([u32; 4], Py<PyAny>)>,
) -> PyResult<*mut pyo3::ffi::PyObject> {
    let mut bits = [0u32; 4];
    for (b, v) in bits.iter_mut().zip(sample) {
        *b = v.to_bits();
    }
    if let Some((previous, object)) = last
        && (*previous == bits || refill(py, object, sample))
    {
        *previous = bits;
        return Ok(object.as_ptr());
    }
    // Fixed-size tuples: pyo3 builds them without an iterator's checks.
    let object = match *sample {
        [x] => PyFloat::new(py, x.into()).into_any(),
        [x, y] => (f64::from(x), f64::from(y)).into_pyobject(py)?.into_any(),
        [x, y, z] => (f64::from(x), f64::from(y), f64::from(z))
            .into_pyobject(py)?
            .into_any(),
        _ => PyTuple::new(py, sample.iter().map(|&v| f64::from(v)))?.into_any(),
    };
    Ok(last.insert((bits, object.unbind())).1.as_ptr())
}

/// Writes `sample` into the previous call's float or tuple of floats in
/// place, when nothing but `last` holds it or its items (each has one
/// reference): no Python code can then see the change, and a call costs
/// no new objects. CPython reuses objects so itself (`zip`'s result tuple;
/// from 3.12, a float operand of arithmetic). Not where a reference count
/// of one does not say that (free-threaded builds), nor from 3.14 on, where
/// a tuple keeps its hash.
#[cfg(not(any(Py_LIMITED_API, Py_GIL_DISABLED, PyPy, GraalPy, Py_3_14)))]
fn refill(_: Python, object: &Py<PyAny>, sample: &[f32]) -> bool {
    use pyo3::ffi;
    let object = object.as_ptr();
    // SAFETY (every block below): `object` is live (owned by `last`), and
    // so are a tuple's items (owned by it); the GIL is held (the `Python`
    // token); an exact float's value may be written where only its owner
    // holds it.
    let alone = |object: *mut ffi::PyObject| unsafe {
        ffi::Py_REFCNT(object) == 1 && ffi::PyFloat_CheckExact(object) != 0
    };
    let items: &[*mut ffi::PyObject] = match *sample {
        [_] => std::slice::from_ref(&object),
        _ if unsafe {
            ffi::Py_REFCNT(object) == 1
                && ffi::PyTuple_CheckExact(object) != 0
                && ffi::PyTuple_GET_SIZE(object) == sample.len() as ffi::Py_ssize_t
        } =>
        unsafe {
            let first = std::ptr::addr_of!((*object.cast::<ffi::PyTupleObject>()).ob_item);
            std::slice::from_raw_parts(first.cast(), sample.len())
        },
        _ => return false,
    };
    if !items.iter().all(|&item| alone(item)) {
        return false;
    }
    for (&item, &value) in items.iter().zip(sample) {
        unsafe { (*item.cast::<ffi::PyFloatObject>()).ob_fval = value.into() };
    }
    true
}

#[cfg(any(Py_LIMITED_API, Py_GIL_DISABLED, PyPy, GraalPy, Py_3_14))]
fn refill(_: Python, _: &Py<PyAny>, _: &[f32]) -> bool {
    false
}

/// A tile's samples as `__call__` reads and writes them: each varying
/// input's and each output's planes, taken once for the tile, and every
/// sample's pixel, index in it and texture coordinate.
struct TilePlanes<'a> {
    samples: usize,
    inputs: Vec<InputPlanes<'a>>,
    outputs: Vec<(&'a mut [f32], usize)>,
    positions: SamplePositions,
}

/// Every sample of a tile's pixel (`xs`, `ys`), index within it and texture
/// coordinate (`us`, `vs`), a plane each.
struct SamplePositions {
    xs: Vec<i32>,
    ys: Vec<i32>,
    indices: Vec<u32>,
    us: Vec<f32>,
    vs: Vec<f32>,
}

impl SamplePositions {
    fn of(ctx: &TileCtx) -> SamplePositions {
        let n = ctx.len();
        let (mut xs, mut ys, mut indices) = (vec![0; n], vec![0; n], vec![0; n]);
        ctx.location_planes(&mut xs, &mut ys, &mut indices);
        let (mut us, mut vs) = (vec![0.0; n], vec![0.0; n]);
        ctx.texcoord_planes(&mut us, &mut vs);
        SamplePositions {
            xs,
            ys,
            indices,
            us,
            vs,
        }
    }
}

struct InputPlanes<'a> {
    planes: &'a [f32],
    channels: usize,
    /// Every sample the same (a constant, or a value uniform over the
    /// tile): read once a tile.
    constant: bool,
}

impl<'a> TilePlanes<'a> {
    fn new(
        ctx: &TileCtx,
        inputs: &[&'a Buffer],
        outputs: &'a mut [OutputPlanes],
    ) -> TilePlanes<'a> {
        let samples = ctx.len();
        let same_bits = |plane: &[f32]| plane.iter().all(|v| v.to_bits() == plane[0].to_bits());
        let inputs = (inputs.iter())
            .map(|buffer| InputPlanes {
                planes: buffer.data(),
                channels: buffer.channels(),
                constant: samples > 0 && buffer.data().chunks_exact(samples).all(same_bits),
            })
            .collect();
        TilePlanes {
            samples,
            inputs,
            outputs: (outputs.iter_mut())
                .map(|output| (&mut *output.data, output.channels))
                .collect(),
            positions: SamplePositions::of(ctx),
        }
    }

    /// Sample `i`'s pixel, index within it and texture coordinate.
    fn position(&self, i: usize) -> ([i32; 2], u32, [f32; 2]) {
        let p = &self.positions;
        ([p.xs[i], p.ys[i]], p.indices[i], [p.us[i], p.vs[i]])
    }

    /// Sample `i` of varying input `input`, one value per channel.
    fn read<'s>(&self, input: usize, i: usize, into: &'s mut [f32; 4]) -> &'s [f32] {
        let input = &self.inputs[input];
        for (c, value) in into[..input.channels].iter_mut().enumerate() {
            *value = input.planes[c * self.samples + i];
        }
        &into[..input.channels]
    }

    /// Output `output`'s channels of sample `i`, from the first of `values`.
    fn write(&mut self, output: usize, i: usize, values: &[f32]) {
        let (planes, channels) = &mut self.outputs[output];
        for (c, &value) in values[..*channels].iter().enumerate() {
            planes[c * self.samples + i] = value;
        }
    }

    fn channels(&self, output: usize) -> usize {
        self.outputs[output].1
    }
}

fn format_failure(error: &NodeError) -> String {
    match error.pixel {
        Some((x, y)) => format!("at pixel ({x}, {y}): {}", error.message),
        None => error.message.clone(),
    }
}

impl NodeCore {
    /// Calls `__call__` for sample `i` and stores what it returns.
    fn call(
        &self,
        py: Python,
        instance: &Py<PyAny>,
        objects: &mut TileObjects,
        planes: &mut TilePlanes,
        i: usize,
    ) -> Result<(), CallFailure> {
        // The arguments as borrowed pointers, on the stack where they fit:
        // each is owned, for the whole call, by `self.slots` (uniform
        // values), `objects.last` (varying ones) or `objects.context`.
        let count = self.slots.len() + 2;
        let mut on_stack = [std::ptr::null_mut(); STACK_ARGUMENTS];
        let mut on_heap = Vec::new();
        let pointers = if count <= STACK_ARGUMENTS {
            &mut on_stack[..count]
        } else {
            on_heap.resize(count, std::ptr::null_mut());
            &mut on_heap[..]
        };
        pointers[0] = instance.as_ptr();
        pointers[1] = objects.context.as_ptr();
        let mut varying = 0;
        for ((slot, last), pointer) in self
            .slots
            .iter()
            .zip(&mut objects.last)
            .zip(&mut pointers[2..])
        {
            *pointer = match (slot, last) {
                (Slot::Uniform(value), _) => value.as_ptr(),
                // The same over the whole tile: the first call's object.
                (Slot::Varying, Some((_, object))) if planes.inputs[varying].constant => {
                    varying += 1;
                    object.as_ptr()
                }
                (Slot::Varying, last) => {
                    let mut sample = [0.0; 4];
                    let sample = planes.read(varying, i, &mut sample);
                    varying += 1;
                    argument(py, sample, last).map_err(CallFailure::Raised)?
                }
            };
        }
        let returned = match &objects.method {
            // SAFETY: the GIL is held (`py`); the function and every
            // argument are live objects (`method`, and the owners above)
            // for the whole call; vectorcall borrows them and returns a new
            // reference, or null with an exception set.
            Some(method) => unsafe {
                let result = pyo3::ffi::PyObject_Vectorcall(
                    method.as_ptr(),
                    pointers.as_ptr(),
                    count,
                    std::ptr::null_mut(),
                );
                Bound::from_owned_ptr_or_err(py, result)
            },
            None => {
                // SAFETY: as above; each pointer is borrowed for the tuple,
                // which takes its own reference.
                let args = pointers[1..]
                    .iter()
                    .map(|&pointer| unsafe { Borrowed::from_ptr(py, pointer) });
                PyTuple::new(py, args).and_then(|args| instance.bind(py).call1(args))
            }
        };
        crate::interpreter::exit_if_forked();
        let returned = returned.map_err(CallFailure::Raised)?;
        self.store(py, &returned, planes, i)
    }

    /// Stores a return value: a dict by output name, a tuple or list in
    /// declaration order, or a bare value when there is one output.
    fn store(
        &self,
        py: Python,
        returned: &Bound<PyAny>,
        outputs: &mut TilePlanes,
        i: usize,
    ) -> Result<(), CallFailure> {
        let names = || {
            let names: Vec<&str> = self.outputs.iter().map(|(n, _)| n.as_str()).collect();
            names.join(", ")
        };
        if let Ok(dict) = returned.cast::<PyDict>() {
            for (k, ((name, _), key)) in self.outputs.iter().zip(&self.output_keys).enumerate() {
                match dict.get_item(key.bind(py)) {
                    Ok(Some(value)) => self.store_one(k, &value, outputs, i)?,
                    _ => {
                        return Err(self.bad(format!(
                            "returned no output `{name}` (outputs: {})",
                            names()
                        )));
                    }
                }
            }
            if dict.len() > self.outputs.len() {
                for key in dict.keys() {
                    let key = key.str().map(|k| k.to_string()).unwrap_or_default();
                    if !self.outputs.iter().any(|(n, _)| *n == key) {
                        return Err(self.bad(format!(
                            "returned an unknown output `{key}` (outputs: {})",
                            names()
                        )));
                    }
                }
            }
            return Ok(());
        }
        if self.outputs.len() == 1 {
            return self.store_one(0, returned, outputs, i);
        }
        let list;
        let items = if let Ok(tuple) = returned.cast::<PyTuple>() {
            // The tuple's own items, borrowed: no iterator, no copy.
            tuple.as_slice()
        } else if let Ok(returned) = returned.cast::<PyList>() {
            list = returned.iter().collect::<Vec<_>>();
            &list[..]
        } else {
            return Err(self.bad(format!(
                "returned {}; expected a dict of the outputs ({}) or a tuple in that order",
                type_name(returned),
                names()
            )));
        };
        if items.len() != self.outputs.len() {
            return Err(self.bad(format!(
                "returned {} for {} ({})",
                counted(items.len() as u64, "value"),
                counted(self.outputs.len() as u64, "output"),
                names()
            )));
        }
        for (k, item) in items.iter().enumerate() {
            self.store_one(k, item, outputs, i)?;
        }
        Ok(())
    }

    fn store_one(
        &self,
        k: usize,
        value: &Bound<PyAny>,
        outputs: &mut TilePlanes,
        i: usize,
    ) -> Result<(), CallFailure> {
        let (name, ty) = &self.outputs[k];
        let channels = outputs.channels(k);
        let wrong = |found: String| {
            let expected = match ty {
                ValueType::Float => "a number".to_string(),
                ValueType::Color4 => "3 or 4 numbers (RGB or RGBA)".to_string(),
                other => format!("{} numbers", other.channels().expect("varying")),
            };
            self.bad(format!("output `{name}` must be {expected}, not {found}"))
        };
        // At most 4 numbers, on the stack: this runs once per call.
        let mut numbers = [0.0f64; 4];
        let count = if *ty == ValueType::Float {
            numbers[0] = value
                .extract::<f64>()
                .map_err(|_| wrong(type_name(value)))?;
            1
        } else if let Ok(tuple) = value.cast::<PyTuple>() {
            let items = tuple.as_slice();
            for (number, item) in numbers.iter_mut().zip(items) {
                *number = item.extract().map_err(|_| wrong(type_name(value)))?;
            }
            items.len()
        } else if value.is_instance_of::<pyo3::types::PyString>() {
            return Err(wrong(type_name(value)));
        } else {
            let items: Vec<f64> = value.extract().map_err(|_| wrong(type_name(value)))?;
            for (number, item) in numbers.iter_mut().zip(&items) {
                *number = *item;
            }
            items.len()
        };
        let count = if *ty == ValueType::Color4 && count == 3 {
            numbers[3] = 1.0;
            4
        } else {
            count
        };
        if count != channels {
            return Err(wrong(count.to_string()));
        }
        // Finite as a 32-bit float too: 1e300 would become infinity.
        if let Some(bad) = numbers[..count].iter().find(|v| !(**v as f32).is_finite()) {
            let beyond = if bad.is_finite() {
                ", beyond a 32-bit float (about 3.4e38)"
            } else {
                ""
            };
            return Err(self.bad(format!(
                "output `{name}` is {bad:?}{beyond}; outputs must be finite"
            )));
        }
        outputs.write(k, i, &numbers.map(|v| v as f32)[..count]);
        Ok(())
    }

    fn bad(&self, message: String) -> CallFailure {
        CallFailure::BadResult(message)
    }

    fn node_error(&self, py: Python, failure: CallFailure, ctx: &TileCtx, i: usize) -> NodeError {
        let (x, y, _) = ctx.locate(i);
        let (message, detail, line) = match failure {
            CallFailure::Raised(err) => {
                let report = ExceptionReport::new(py, &err, &self.path);
                // Raised before the user's code ran (a wrong number of
                // parameters, say): the `def __call__` line.
                let line = report.line.unwrap_or(self.call_line);
                (
                    format!(
                        "{} (in {}.__call__, {}:{line})",
                        report.summary, self.class_name, self.script
                    ),
                    Some(report.traceback),
                    line,
                )
            }
            CallFailure::BadResult(message) => (
                format!(
                    "{}.__call__ {message} ({}:{})",
                    self.class_name, self.script, self.call_line
                ),
                None,
                self.call_line,
            ),
        };
        NodeError {
            message,
            pixel: Some((x, y)),
            detail,
            script_line: Some(self.script_line(line)),
        }
    }
}

fn type_name(value: &Bound<PyAny>) -> String {
    let name = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an object".into());
    format!("a {name}")
}
