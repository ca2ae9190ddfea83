//! The `python` node type and its instances.

use crate::context::Context;
use crate::errors::ExceptionReport;
use crate::script::{ScriptNode, load_class, resolve_script};
use crate::settings::PythonSettings;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyString, PyTuple};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tessera_core::{
    Buffer, BuildArgs, BuildError, InputSpec, Node, NodeError, NodeKind, NodeSpec, TileCtx, Value,
    ValueType,
};

/// What a Python node does when a call fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnError {
    /// Stop the render with the error (exit code 3).
    #[default]
    Stop,
    /// Paint the sample magenta, count it, and go on.
    Color,
}

/// The `python` node type, finding scripts through `settings`.
pub fn python_kind(settings: PythonSettings, on_error: OnError) -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "python",
        "a node written in Python: `script` names the file, `class` a tessera.Node subclass in it, whose sockets become this node's inputs and outputs (see docs/python-nodes.md)",
    )
    .input(InputSpec::fixed(
        "script",
        ValueType::String,
        Value::String(String::new()),
        "the Python file, relative to the scene or on [python] paths",
    ))
    .input(InputSpec::fixed(
        "class",
        ValueType::String,
        Value::String(String::new()),
        "the tessera.Node subclass in the script",
    ))
    .specialised_by(&["script", "class"]);
    Arc::new(PythonKind {
        spec,
        settings,
        on_error,
    })
}

struct PythonKind {
    spec: NodeSpec,
    settings: PythonSettings,
    on_error: OnError,
}

impl NodeKind for PythonKind {
    fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    fn build(&self, _: &BuildArgs) -> Result<Box<dyn Node>, BuildError> {
        Err(BuildError::new(
            "a python node is built from its script and class",
        ))
    }

    fn specialise(
        &self,
        constants: &[(String, Value)],
        base_dir: &Path,
    ) -> Result<Arc<dyn NodeKind>, BuildError> {
        let text = |name: &str| {
            constants
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let (script, class_name) = (text("script"), text("class"));
        let path = resolve_script(&script, base_dir, &self.settings.paths)
            .map_err(|m| BuildError::at_input("script", m))?;
        crate::start().map_err(|e| BuildError::at_input("script", e.to_string()))?;
        let (class, node) =
            Python::attach(|py| load_class(py, &path, &class_name)).map_err(|e| {
                let input = if e.to_string().contains("has no class") {
                    "class"
                } else {
                    "script"
                };
                BuildError::at_input(input, e.to_string())
            })?;
        Ok(Arc::new(ScriptKind {
            class,
            node,
            path,
            on_error: self.on_error,
        }))
    }
}

/// One class of one script.
struct ScriptKind {
    class: Py<PyAny>,
    node: ScriptNode,
    /// Canonical, as tracebacks name it.
    path: PathBuf,
    on_error: OnError,
}

impl NodeKind for ScriptKind {
    fn spec(&self) -> &NodeSpec {
        &self.node.spec
    }

    fn build(&self, args: &BuildArgs) -> Result<Box<dyn Node>, BuildError> {
        Python::attach(|py| {
            let failed = |e: PyErr, what: &str| {
                let report = ExceptionReport::new(py, &e, &self.path);
                let line = report.line.map_or(String::new(), |l| format!(":{l}"));
                BuildError::at_input(
                    "class",
                    format!(
                        "{what} of {} failed at {}{line}: {}\n{}",
                        self.node.class_name, self.node.script, report.summary, report.traceback
                    ),
                )
            };
            let instance = self
                .class
                .bind(py)
                .call0()
                .map_err(|e| failed(e, "creating an instance"))?;
            instance
                .call_method0("setup")
                .map_err(|e| failed(e, "setup()"))?;
            let mut slots = Vec::new();
            for input in &self.node.spec.inputs[2..] {
                slots.push(match input.ty.fixed_channels() {
                    Some(_) => Slot::Varying,
                    None => Slot::Uniform(uniform_object(py, args.uniform(&input.name))),
                });
            }
            Ok(Box::new(PyNode {
                instance: instance.unbind(),
                slots,
                outputs: self
                    .node
                    .spec
                    .outputs
                    .iter()
                    .map(|o| {
                        (
                            o.name.clone(),
                            o.ty.fixed_type().expect("python outputs are fixed"),
                        )
                    })
                    .collect(),
                output_keys: self
                    .node
                    .spec
                    .outputs
                    .iter()
                    .map(|o| PyString::intern(py, &o.name).unbind())
                    .collect(),
                class_name: self.node.class_name.clone(),
                script: self.node.script.clone(),
                path: self.path.clone(),
                call_line: self.node.call_line,
                on_error: self.on_error,
                failures: AtomicUsize::new(0),
                first_failure: Mutex::new(None),
            }) as Box<dyn Node>)
        })
    }
}

fn uniform_object(py: Python, value: &Value) -> Py<PyAny> {
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
enum Slot {
    /// Per sample, from the next input buffer: a float, or a tuple of floats.
    Varying,
    /// The same object every call.
    Uniform(Py<PyAny>),
}

/// Why one call failed.
enum CallFailure {
    Raised(ExceptionReport),
    BadResult(String),
}

/// Python objects the calls of one tile reuse.
struct TileObjects {
    context: Py<Context>,
    /// Per slot, the last varying value passed and its Python object:
    /// constant and slowly varying inputs cost no new object per call.
    last: Vec<Option<([u32; 4], Py<PyAny>)>>,
}

/// The Python object for one varying input's sample: a float, or a tuple
/// of floats; the previous call's object when the value is the same.
fn argument<'py>(
    py: Python<'py>,
    sample: &[f32],
    last: &mut Option<([u32; 4], Py<PyAny>)>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut bits = [0u32; 4];
    for (b, v) in bits.iter_mut().zip(sample) {
        *b = v.to_bits();
    }
    if let Some((previous, object)) = last
        && *previous == bits
    {
        return Ok(object.bind(py).clone());
    }
    let object = if sample.len() == 1 {
        PyFloat::new(py, sample[0] as f64).into_any()
    } else {
        PyTuple::new(py, sample.iter().map(|&v| v as f64))?.into_any()
    };
    *last = Some((bits, object.clone().unbind()));
    Ok(object)
}

struct PyNode {
    instance: Py<PyAny>,
    slots: Vec<Slot>,
    outputs: Vec<(String, ValueType)>,
    /// The output names as Python strings, for looking up returned dicts.
    output_keys: Vec<Py<PyString>>,
    class_name: String,
    script: String,
    path: PathBuf,
    call_line: u32,
    on_error: OnError,
    /// Samples painted under `OnError::Color`, and the first failure's message.
    failures: AtomicUsize,
    first_failure: Mutex<Option<String>>,
}

impl Node for PyNode {
    fn eval_tile(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let mut objects: Option<TileObjects> = None;
        let mut result = Ok(());
        for i in 0..ctx.len() {
            // The GIL is taken for each call, on this worker's own thread state.
            let outcome = Python::attach(|py| {
                let objects = match &mut objects {
                    Some(objects) => objects,
                    None => objects.insert(TileObjects {
                        context: Py::new(py, Context::new(ctx)).map_err(|e| self.raised(py, &e))?,
                        last: self.slots.iter().map(|_| None).collect(),
                    }),
                };
                objects.context.borrow_mut(py).set_sample(ctx, i);
                self.call(py, objects, inputs, outputs, i)
            });
            if let Err(failure) = outcome {
                let error = self.node_error(failure, ctx, i);
                match self.on_error {
                    OnError::Stop => {
                        result = Err(error);
                        break;
                    }
                    OnError::Color => {
                        ctx.record_failure(i);
                        for output in outputs.iter_mut() {
                            output.sample_mut(i).fill(0.0);
                        }
                        self.failures.fetch_add(1, Ordering::Relaxed);
                        let mut first =
                            self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
                        first.get_or_insert_with(|| format_failure(&error));
                    }
                }
            }
        }
        if let Some(objects) = objects {
            Python::attach(|_| drop(objects));
        }
        result
    }

    fn report(&self) -> Option<String> {
        let count = self.failures.load(Ordering::Relaxed);
        let first = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
        first.as_ref().map(|first| {
            format!(
                "{}.__call__ failed on {count} sample{}, painted magenta; the first {first}",
                self.class_name,
                if count == 1 { "" } else { "s" }
            )
        })
    }
}

fn format_failure(error: &NodeError) -> String {
    match error.pixel {
        Some((x, y)) => format!("at pixel ({x}, {y}): {}", error.message),
        None => error.message.clone(),
    }
}

impl PyNode {
    fn raised(&self, py: Python, err: &PyErr) -> CallFailure {
        CallFailure::Raised(ExceptionReport::new(py, err, &self.path))
    }

    /// Calls `__call__` for sample `i` and stores what it returns.
    fn call(
        &self,
        py: Python,
        objects: &mut TileObjects,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
        i: usize,
    ) -> Result<(), CallFailure> {
        let mut args: Vec<Bound<PyAny>> = Vec::with_capacity(self.slots.len() + 1);
        args.push(objects.context.bind(py).clone().into_any());
        let mut buffers = inputs.iter();
        for (slot, last) in self.slots.iter().zip(&mut objects.last) {
            args.push(match slot {
                Slot::Uniform(value) => value.bind(py).clone(),
                Slot::Varying => {
                    let sample = buffers
                        .next()
                        .expect("one buffer per varying input")
                        .sample(i);
                    argument(py, sample, last).map_err(|e| self.raised(py, &e))?
                }
            });
        }
        let args = PyTuple::new(py, args).map_err(|e| self.raised(py, &e))?;
        let returned = self
            .instance
            .bind(py)
            .call1(args)
            .map_err(|e| self.raised(py, &e))?;
        self.store(py, &returned, outputs, i)
    }

    /// Stores a return value: a dict by output name, a tuple or list in
    /// declaration order, or a bare value when there is one output.
    fn store(
        &self,
        py: Python,
        returned: &Bound<PyAny>,
        outputs: &mut [Buffer],
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
        let items = if returned.is_instance_of::<PyTuple>() || returned.is_instance_of::<PyList>() {
            returned
                .try_iter()
                .and_then(|it| it.collect::<PyResult<Vec<_>>>())
                .ok()
        } else {
            None
        };
        match items {
            Some(items) if items.len() == self.outputs.len() => {
                for (k, item) in items.iter().enumerate() {
                    self.store_one(k, item, outputs, i)?;
                }
                Ok(())
            }
            Some(items) => Err(self.bad(format!(
                "returned {} values for {} outputs ({})",
                items.len(),
                self.outputs.len(),
                names()
            ))),
            None => Err(self.bad(format!(
                "returned {}; expected a dict of the outputs ({}) or a tuple in that order",
                type_name(returned),
                names()
            ))),
        }
    }

    fn store_one(
        &self,
        k: usize,
        value: &Bound<PyAny>,
        outputs: &mut [Buffer],
        i: usize,
    ) -> Result<(), CallFailure> {
        let (name, ty) = &self.outputs[k];
        let slot = outputs[k].sample_mut(i);
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
            for (number, item) in numbers.iter_mut().zip(tuple.iter()) {
                *number = item.extract().map_err(|_| wrong(type_name(value)))?;
            }
            tuple.len()
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
        if count != slot.len() {
            return Err(wrong(count.to_string()));
        }
        if let Some(bad) = numbers[..count].iter().find(|v| !v.is_finite()) {
            return Err(self.bad(format!("output `{name}` is {bad}; outputs must be finite")));
        }
        for (dst, src) in slot.iter_mut().zip(&numbers) {
            *dst = *src as f32;
        }
        Ok(())
    }

    fn bad(&self, message: String) -> CallFailure {
        CallFailure::BadResult(message)
    }

    fn node_error(&self, failure: CallFailure, ctx: &TileCtx, i: usize) -> NodeError {
        let (x, y, _) = ctx.locate(i);
        let (message, detail) = match failure {
            CallFailure::Raised(report) => {
                let line = report.line.map_or(String::new(), |l| format!(":{l}"));
                (
                    format!(
                        "{} (in {}.__call__, {}{line})",
                        report.summary, self.class_name, self.script
                    ),
                    Some(report.traceback),
                )
            }
            CallFailure::BadResult(message) => (
                format!(
                    "{}.__call__ {message} ({}:{})",
                    self.class_name, self.script, self.call_line
                ),
                None,
            ),
        };
        NodeError {
            message,
            pixel: Some((x, y)),
            detail,
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
