//! Scripts: importing them, and describing their node classes.

use crate::PythonError;
use crate::errors::{ExceptionReport, is_interrupt};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::{Path, PathBuf};
use tessera_core::hash::hash_str;
use tessera_core::{
    GeomProp, InputSpec, NodeSpec, OutputSpec, SocketType, Value, ValueType, display_path,
};

/// The API a script is written against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptApi {
    /// `tessera.Node` subclasses: the `python` node type.
    Tessera,
    /// A Blender 2.4x PyNode script (`from Blender import Node`): the
    /// `pynode` node type (docs/blender-pynodes.md).
    Blender,
}

impl ScriptApi {
    pub fn type_name(self) -> &'static str {
        match self {
            ScriptApi::Tessera => "python",
            ScriptApi::Blender => "pynode",
        }
    }

    /// A node type's fixed inputs (`script`, `class`, `policy`), before the
    /// class's own.
    pub fn spec(self, doc: &str, script: &str, class_name: &str) -> NodeSpec {
        let class_doc = match self {
            ScriptApi::Tessera => "the tessera.Node subclass in the script",
            ScriptApi::Blender => {
                "the node class in the script; empty: its `__node__`, else the first Node.Scripted subclass it defines"
            }
        };
        let spec = NodeSpec::new(self.type_name(), doc)
            .input(InputSpec::fixed(
                "script",
                ValueType::String,
                Value::String(script.to_string()),
                "the Python file, relative to the scene or on [python] paths",
            ))
            .input(InputSpec::fixed(
                "class",
                ValueType::String,
                Value::String(class_name.to_string()),
                class_doc,
            ))
            .input(crate::policy::policy_input())
            .specialised_by(&["script", "class"]);
        match self {
            ScriptApi::Tessera => spec,
            // Blender found sockets by name whatever their case.
            ScriptApi::Blender => spec
                .names_ignore_case()
                .optionally_specialised_by(&["class"]),
        }
    }
}

/// A node class of a script, as the compiler and `tessera nodes` see it.
#[derive(Debug, Clone)]
pub struct ScriptNode {
    pub class_name: String,
    /// The script's path as a user would type it.
    pub script: String,
    /// Type `python`: `script` and `class`, then the class's own inputs.
    pub spec: NodeSpec,
    /// The class declares `pure = True`.
    pub pure: bool,
    /// The line of `def __call__` (0 without one).
    pub call_line: u32,
    /// The line of `def evaluate_tile` (0 without one).
    pub tile_line: u32,
    pub has_call: bool,
    /// The class has `evaluate_tile`: called once per tile with numpy arrays.
    pub has_tile: bool,
    pub class_line: u32,
}

/// A script's failure to import, or a class's failure to describe itself.
fn script_error(py: Python, err: &PyErr, script: &Path) -> PythonError {
    let report = ExceptionReport::new(py, err, script);
    let place = match report.line {
        Some(line) => format!("{}:{line}", display_path(script)),
        None => display_path(script),
    };
    let mut text = format!("{place}: {}\n{}", report.summary, report.traceback);
    if let Some(hint) = missing_module_hint(py, err) {
        text.push_str("\n\n");
        text.push_str(&hint);
    }
    if is_interrupt(py, err) {
        return PythonError::Interrupted(text);
    }
    PythonError::Script(text)
}

/// For a ModuleNotFoundError of a module outside the standard library: how
/// to install it for the Python Tessera runs.
fn missing_module_hint(py: Python, err: &PyErr) -> Option<String> {
    if !err.is_instance_of::<pyo3::exceptions::PyModuleNotFoundError>(py) {
        return None;
    }
    let module: String = err.value(py).getattr("name").ok()?.extract().ok()?;
    let package = module.split('.').next().unwrap_or(&module).to_string();
    if package == "Blender" {
        return Some(
            "`Blender` is there only for Blender 2.4x PyNode scripts: give this node `type = \"pynode\"` (docs/blender-pynodes.md)"
                .to_string(),
        );
    }
    // `sys.stdlib_module_names` is 3.10's; before it, only the modules
    // built into the interpreter are known to need no installing.
    let sys = py.import("sys").ok()?;
    let stdlib = sys
        .getattr("stdlib_module_names")
        .or_else(|_| sys.getattr("builtin_module_names"))
        .ok()?;
    if stdlib.contains(&package).ok()? {
        return None;
    }
    let info = crate::start().ok()?;
    let install = match std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        Some(_) => format!("    {}/bin/python -m pip install {package}", info.prefix),
        None => format!(
            "    {} -m venv .venv && .venv/bin/python -m pip install {package}\n    \
             VIRTUAL_ENV=$PWD/.venv tessera render ...   (or `source .venv/bin/activate` first)",
            crate::interpreter::BUILD_PYTHON
        ),
    };
    Some(format!(
        "`{package}` is not installed for the Python Tessera runs ({} at {}). Install it:\n{install}",
        info.version, info.prefix
    ))
}

/// Imports `script` (a canonical path) once per process; its folder goes on
/// `sys.path` so it can import its neighbours.
fn import_script<'py>(
    py: Python<'py>,
    script: &Path,
    namespace: &str,
) -> Result<Bound<'py, PyModule>, PythonError> {
    let name = format!("{namespace}{:08x}", hash_str(&script.to_string_lossy()));
    let sys = py.import("sys").map_err(|e| script_error(py, &e, script))?;
    let import = || -> PyResult<Bound<'py, PyModule>> {
        let modules = sys.getattr("modules")?;
        if let Some(module) = modules.cast::<PyDict>()?.get_item(&name)? {
            return Ok(module.cast_into()?);
        }
        // Paths reach Python as str, as os.fsdecode makes them: a folder's
        // name that is not UTF-8 stays the folder's.
        if let Some(folder) = script.parent() {
            let sys_path = sys.getattr("path")?;
            if !sys_path.contains(folder.as_os_str())? {
                sys_path.call_method1("insert", (0, folder.as_os_str()))?;
            }
        }
        let util = py.import("importlib.util")?;
        let spec = util.call_method1("spec_from_file_location", (&name, script.as_os_str()))?;
        let module = util.call_method1("module_from_spec", (&spec,))?;
        modules.set_item(&name, &module)?;
        if let Err(e) = spec
            .getattr("loader")?
            .call_method1("exec_module", (&module,))
        {
            modules.del_item(&name)?;
            return Err(e);
        }
        Ok(module.cast_into()?)
    };
    let _scene_code = crate::interpreter::SceneCode::enter();
    import().map_err(|e| script_error(py, &e, script))
}

/// The class `class_name` of `script`, and its description. The script is
/// imported once per `namespace` (a scene's [`crate::PythonRuntime`]): the
/// nodes of one scene share its module, another scene gets its own.
pub fn load_class(
    py: Python,
    script: &Path,
    class_name: &str,
    namespace: &str,
) -> Result<(Py<PyAny>, ScriptNode), PythonError> {
    let module = import_script(py, script, namespace)?;
    let Ok(class) = module.getattr(class_name) else {
        let api = crate::api::api(py).map_err(|e| script_error(py, &e, script))?;
        let names: Vec<String> = (api.node_classes.bind(py))
            .call1((&module,))
            .and_then(|classes| {
                classes
                    .try_iter()?
                    .map(|c| c?.getattr("__name__")?.extract::<String>())
                    .collect::<PyResult<Vec<String>>>()
            })
            .unwrap_or_default();
        let found = if names.is_empty() {
            "it defines no tessera.Node subclass".to_string()
        } else {
            format!("it defines {}", names.join(", "))
        };
        return Err(PythonError::NoClass(format!(
            "{} has no class `{class_name}`: {found}",
            display_path(script)
        )));
    };
    let node = describe(py, &class, script, ScriptApi::Tessera)?;
    Ok((class.unbind(), node))
}

/// Class `class_name` (empty: the one Blender would choose) of the PyNode
/// script `script` (a canonical path), as a `tessera.Node` subclass, and its
/// description. The script runs once per `namespace`, as [`load_class`]'s.
pub fn load_pynode(
    py: Python,
    script: &Path,
    class_name: &str,
    namespace: &str,
) -> Result<(Py<PyAny>, ScriptNode), PythonError> {
    let api = crate::api::pynode_api(py).map_err(|e| script_error(py, &e, script))?;
    let path = script.to_string_lossy();
    let module_name = format!("{namespace}pynode_{:08x}", hash_str(&path));
    let class = (api.load.bind(py))
        .call1((script.as_os_str(), module_name, class_name))
        .map_err(|e| {
            if e.is_instance(py, api.class_error.bind(py)) {
                let message = e.value(py).to_string();
                return PythonError::NoClass(message.replace(path.as_ref(), &display_path(script)));
            }
            let error = script_error(py, &e, script);
            match error {
                PythonError::Script(text)
                    if e.is_instance_of::<pyo3::exceptions::PySyntaxError>(py) =>
                {
                    PythonError::Script(format!(
                        "{text}\nBlender 2.4x PyNode scripts must be valid Python 3 (print(x), `except E as e`): see docs/blender-pynodes.md"
                    ))
                }
                other => other,
            }
        })?;
    let node = describe(py, &class, script, ScriptApi::Blender)?;
    Ok((class.unbind(), node))
}

/// Whether `script` (a canonical path) is a Blender PyNode script: one that
/// imports `Blender` (read, not run).
fn is_pynode(py: Python, script: &Path) -> bool {
    crate::api::pynode_api(py)
        .and_then(|api| api.is_pynode.bind(py).call1((script.as_os_str(),)))
        .and_then(|found| found.extract())
        .unwrap_or(false)
}

/// Every node class of a script, in source order (for `tessera nodes --script`).
pub fn describe_script(script: &Path) -> Result<Vec<ScriptNode>, PythonError> {
    crate::start()?;
    let cannot_read = |why: &dyn std::fmt::Display| {
        PythonError::Script(format!("cannot read {}: {why}", script.display()))
    };
    // A FIFO or device (/dev/zero) would be read without end; a pipe
    // (/dev/stdin) has no path to import from.
    if !std::fs::metadata(script)
        .map_err(|e| cannot_read(&e))?
        .is_file()
    {
        return Err(cannot_read(&"not a regular file"));
    }
    let script = script.canonicalize().map_err(|e| cannot_read(&e))?;
    Python::attach(|py| {
        if is_pynode(py, &script) {
            let (_, node) = load_pynode(py, &script, "", "tessera_script_described_")?;
            return Ok(vec![node]);
        }
        let module = import_script(py, &script, "tessera_script_described_")?;
        let classes = crate::api::api(py)
            .and_then(|api| api.node_classes.bind(py).call1((&module,)))
            .map_err(|e| script_error(py, &e, &script))?;
        let mut nodes = Vec::new();
        for class in classes
            .try_iter()
            .map_err(|e| script_error(py, &e, &script))?
        {
            let class = class.map_err(|e| script_error(py, &e, &script))?;
            nodes.push(describe(py, &class, &script, ScriptApi::Tessera)?);
        }
        Ok(nodes)
    })
}

/// The plain data `tessera._describe` returns for a class.
type InputTuple = (
    String,
    String,
    Py<PyAny>,
    Option<f64>,
    Option<f64>,
    String,
    Option<String>,
);

fn describe(
    py: Python,
    class: &Bound<PyAny>,
    script: &Path,
    api_kind: ScriptApi,
) -> Result<ScriptNode, PythonError> {
    let api = crate::api::api(py).map_err(|e| script_error(py, &e, script))?;
    let described = api.describe.bind(py).call1((class,)).map_err(|e| {
        // The class is at fault, not the code that inspected it: point at
        // the class, without a traceback into Tessera's own module.
        let line = (api.line_of.bind(py).call1((class,)))
            .and_then(|l| l.extract::<u32>())
            .unwrap_or(0);
        let report = ExceptionReport::new(py, &e, script);
        let hint = missing_module_hint(py, &e).map_or(String::new(), |h| format!("\n\n{h}"));
        PythonError::Script(format!(
            "{}:{line}: {}{hint}",
            display_path(script),
            report.summary
        ))
    })?;
    let class_name: String = class
        .getattr("__name__")
        .and_then(|n| n.extract())
        .unwrap_or_default();
    script_node(py, &described, class_name, script, api_kind)
}

/// Class `class_name` of `script` (a canonical path), read from its source
/// without running it (`tessera check --no-python`), and what that could
/// not verify.
pub fn describe_static(
    script: &Path,
    class_name: &str,
) -> Result<(ScriptNode, Vec<String>), PythonError> {
    crate::start()?;
    Python::attach(|py| {
        let api = crate::api::api(py).map_err(|e| script_error(py, &e, script))?;
        let result = (api.describe_static.bind(py))
            .call1((script.as_os_str(), class_name))
            .map_err(|e| {
                if e.is_instance_of::<pyo3::exceptions::PyLookupError>(py) {
                    let message = e.value(py).to_string();
                    return PythonError::NoClass(
                        message.replace(script.to_string_lossy().as_ref(), &display_path(script)),
                    );
                }
                let report = ExceptionReport::new(py, &e, script);
                let place = match report.line {
                    Some(line) => format!("{}:{line}", display_path(script)),
                    None => display_path(script),
                };
                PythonError::Script(format!("{place}: {}", report.summary))
            })?;
        let (described, unverified): (Bound<PyAny>, Vec<String>) =
            result.extract().map_err(|e| script_error(py, &e, script))?;
        let node = script_node(
            py,
            &described,
            class_name.to_string(),
            script,
            ScriptApi::Tessera,
        )?;
        Ok((node, unverified))
    })
}

/// A [`ScriptNode`] from what `tessera._describe` (or `_describe_static`) returned.
fn script_node(
    py: Python,
    described: &Bound<PyAny>,
    class_name: String,
    script: &Path,
    api_kind: ScriptApi,
) -> Result<ScriptNode, PythonError> {
    let field = |name: &str| {
        described
            .get_item(name)
            .map_err(|e| script_error(py, &e, script))
    };
    let bad =
        |what: &str| PythonError::Script(format!("{}: {class_name}: {what}", display_path(script)));
    let doc: String = field("doc")?.extract().map_err(|_| bad("bad doc"))?;
    let inputs: Vec<InputTuple> = field("inputs")?.extract().map_err(|_| bad("bad inputs"))?;
    let outputs: Vec<(String, String, String)> = field("outputs")?
        .extract()
        .map_err(|_| bad("bad outputs"))?;
    let mut spec = api_kind.spec(&doc, &display_path(script), &class_name);
    for (name, type_name, default, min, max, input_doc, geometry) in inputs {
        let ty = value_type(&type_name)
            .ok_or_else(|| bad(&format!("input `{name}` has unknown type {type_name}")))?;
        let default = default_value(py, ty, default)
            .ok_or_else(|| bad(&format!("input `{name}` has a bad default")))?;
        let mut input = InputSpec::fixed(&name, ty, default, &input_doc);
        if min.is_some() || max.is_some() {
            input = input.range(
                min.unwrap_or(f64::NEG_INFINITY),
                max.unwrap_or(f64::INFINITY),
            );
        }
        if geometry.as_deref() == Some("texcoord") {
            input.geometry = Some(GeomProp::Texcoord);
        }
        spec = spec.input(input);
    }
    for (name, type_name, output_doc) in outputs {
        let ty = value_type(&type_name)
            .ok_or_else(|| bad(&format!("output `{name}` has unknown type {type_name}")))?;
        spec = spec.output(OutputSpec::new(&name, SocketType::Fixed(ty), &output_doc));
    }
    Ok(ScriptNode {
        class_name,
        script: display_path(script),
        spec,
        pure: field("pure")?.extract().unwrap_or(false),
        call_line: field("call_line")?.extract().unwrap_or(0),
        tile_line: field("tile_line")?.extract().unwrap_or(0),
        has_call: field("has_call")?.extract().unwrap_or(true),
        has_tile: field("has_tile")?.extract().unwrap_or(false),
        class_line: field("class_line")?.extract().unwrap_or(0),
    })
}

fn value_type(name: &str) -> Option<ValueType> {
    Some(match name {
        "float" => ValueType::Float,
        "integer" => ValueType::Integer,
        "boolean" => ValueType::Boolean,
        "vector2" => ValueType::Vector2,
        "vector3" => ValueType::Vector3,
        "color4" => ValueType::Color4,
        _ => return None,
    })
}

fn default_value(py: Python, ty: ValueType, default: Py<PyAny>) -> Option<Value> {
    let default = default.bind(py);
    match ty {
        ValueType::Integer => default.extract().ok().map(Value::Integer),
        ValueType::Boolean => default.extract().ok().map(Value::Boolean),
        ValueType::Float => default.extract::<f32>().ok().map(Value::Float),
        _ => {
            let channels: Vec<f32> = default.extract().ok()?;
            Value::from_channels(ty, &channels)
        }
    }
}

/// Finds `script`: relative to the scene's folder, else in `paths`.
pub fn resolve_script(script: &str, base_dir: &Path, paths: &[PathBuf]) -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = std::iter::once(base_dir.join(script))
        .chain(paths.iter().map(|p| p.join(script)))
        .collect();
    for candidate in &candidates {
        if candidate.is_dir() {
            return Err(format!(
                "{} is a directory, not a Python script",
                display_path(candidate)
            ));
        }
        if candidate.is_file() {
            return candidate
                .canonicalize()
                .map_err(|e| format!("cannot read {}: {e}", display_path(candidate)));
        }
    }
    let looked: Vec<String> = candidates.iter().map(|c| display_path(c)).collect();
    Err(format!(
        "script {script:?} not found (looked for {})",
        looked.join(", ")
    ))
}
