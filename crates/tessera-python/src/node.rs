//! The `python` node type and its instances.

use crate::PythonError;
use crate::call::{Calls, Gate, NodeCore, OnError, OutputPlanes, Slot, uniform_object};
use crate::errors::{ExceptionReport, is_interrupt};
use crate::policy::{NodeState, Policy};
use crate::runtime::{LoadStage, PythonRuntime};
use crate::script::{
    ScriptApi, ScriptNode, describe_static, load_class, load_pynode, resolve_script,
};
use crate::settings::PythonSettings;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use tessera_core::{
    Buffer, BuildArgs, BuildError, Evaluation, Node, NodeError, NodeKind, NodeSpec, TileCtx, Value,
};

/// Whether a scene's Python scripts may run (`--no-python`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScriptAccess {
    /// Import the scripts and set their nodes up.
    #[default]
    Run,
    /// Refuse any scene with a Python node (`render` and `compare
    /// --no-python`): each is a located error.
    Refuse,
    /// Read each node's class from its source without running anything
    /// (`check --no-python`): the graph is checked, nothing can render.
    ReadOnly,
}

/// How the command line asks Python nodes to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    pub on_error: OnError,
    /// `--python-mode per-sample`: call `__call__` even where a class has
    /// `evaluate_tile` (to check one against the other).
    pub per_sample: bool,
    /// `--python-policy`: wins over the node's and the scene's.
    pub policy: Option<Policy>,
    /// `--no-python`.
    pub scripts: ScriptAccess,
}

/// The `python` node type, finding scripts and policies through `settings`;
/// the nodes it builds belong to `runtime`.
pub fn python_kind(
    settings: PythonSettings,
    options: RunOptions,
    runtime: PythonRuntime,
) -> Arc<dyn NodeKind> {
    script_type(
        ScriptApi::Tessera,
        "a node written in Python: `script` names the file, `class` a tessera.Node subclass in it, whose sockets become this node's inputs and outputs (see docs/python-nodes.md)",
        settings,
        options,
        runtime,
    )
}

/// The `pynode` node type: a Blender 2.4x PyNode script, unmodified.
pub fn pynode_kind(
    settings: PythonSettings,
    options: RunOptions,
    runtime: PythonRuntime,
) -> Arc<dyn NodeKind> {
    script_type(
        ScriptApi::Blender,
        "a Blender 2.4x PyNode script, unmodified: `script` names the file, whose node class's sockets become this node's inputs and outputs (VALUE a float, VECTOR a vector3, RGBA a color4; see docs/blender-pynodes.md)",
        settings,
        options,
        runtime,
    )
}

fn script_type(
    api: ScriptApi,
    doc: &str,
    settings: PythonSettings,
    options: RunOptions,
    runtime: PythonRuntime,
) -> Arc<dyn NodeKind> {
    Arc::new(PythonKind {
        spec: api.spec(doc, "", ""),
        api,
        settings,
        options,
        runtime,
    })
}

/// The number of inputs every Python node has before its class's own:
/// script, class and policy.
pub const FIXED_INPUTS: usize = 3;

struct PythonKind {
    spec: NodeSpec,
    api: ScriptApi,
    settings: PythonSettings,
    options: RunOptions,
    runtime: PythonRuntime,
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
        let located = |e: PythonError| {
            if matches!(e, PythonError::Interrupted(_)) {
                self.runtime.note_interrupt();
            }
            let input = match e {
                PythonError::NoClass(_) => "class",
                _ => "script",
            };
            BuildError::at_input(input, e.to_string())
        };
        let (class, node, unverified) = match self.options.scripts {
            ScriptAccess::Refuse => {
                return Err(BuildError::at_input(
                    "script",
                    format!(
                        "--no-python: this node would run the Python script {script}, which is not imported"
                    ),
                ));
            }
            ScriptAccess::ReadOnly if self.api == ScriptApi::Blender => {
                return Err(BuildError::at_input(
                    "script",
                    format!(
                        "--no-python: a PyNode script declares its sockets by running its __init__, so {script} cannot be checked without running Python"
                    ),
                ));
            }
            ScriptAccess::ReadOnly => {
                let (node, unverified) = describe_static(&path, &class_name).map_err(located)?;
                (None, node, unverified)
            }
            ScriptAccess::Run => {
                crate::start().map_err(|e| BuildError::at_input("script", e.to_string()))?;
                let namespace = self.runtime.script_namespace();
                let load = match self.api {
                    ScriptApi::Tessera => load_class,
                    ScriptApi::Blender => load_pynode,
                };
                let (class, node) = Python::attach(|py| {
                    (self.runtime.seed_as_the_scene_loads(py, LoadStage::Import))
                        .map_err(|e| PythonError::Prepare(e.to_string()))?;
                    load(py, &path, &class_name, &namespace)
                })
                .map_err(located)?;
                (Some(class), node, Vec::new())
            }
        };
        Ok(Arc::new(ScriptKind {
            class,
            node,
            unverified,
            path,
            options: self.options,
            scene_policy: self.settings.policy,
            runtime: self.runtime.clone(),
        }))
    }
}

/// One class of one script.
struct ScriptKind {
    /// None when the class was read without running the script.
    class: Option<Py<PyAny>>,
    node: ScriptNode,
    /// What reading the class without running it could not verify.
    unverified: Vec<String>,
    /// Canonical, as tracebacks name it.
    path: PathBuf,
    options: RunOptions,
    scene_policy: Option<Policy>,
    runtime: PythonRuntime,
}

impl NodeKind for ScriptKind {
    fn spec(&self) -> &NodeSpec {
        &self.node.spec
    }

    fn build(&self, args: &BuildArgs) -> Result<Box<dyn Node>, BuildError> {
        let Some(class) = &self.class else {
            return Ok(Box::new(UnloadedNode {
                class_name: self.node.class_name.clone(),
                unverified: self.unverified.clone(),
            }));
        };
        Python::attach(|py| {
            let failed = |e: PyErr, what: &str| {
                if is_interrupt(py, &e) {
                    self.runtime.note_interrupt();
                }
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
            (self.runtime.seed_as_the_scene_loads(py, LoadStage::Setup))
                .map_err(|e| failed(e, "seeding random for"))?;
            let _scene_code = crate::interpreter::SceneCode::enter();
            let instance = class
                .bind(py)
                .call0()
                .map_err(|e| failed(e, "creating an instance"))?;
            instance
                .call_method0("setup")
                .map_err(|e| failed(e, "setup()"))?;
            let slots = self.node.spec.inputs[FIXED_INPUTS..]
                .iter()
                .map(|input| match input.ty.fixed_channels() {
                    Some(_) => Slot::Varying,
                    None => Slot::Uniform(uniform_object(py, args.uniform(&input.name))),
                })
                .collect();
            let node = &self.node;
            if self.options.per_sample && !node.has_call {
                return Err(BuildError::at_input(
                    "class",
                    format!(
                        "{} has no __call__ for --python-mode per-sample",
                        node.class_name
                    ),
                ));
            }
            let core = NodeCore {
                slots,
                input_names: node.spec.inputs[FIXED_INPUTS..]
                    .iter()
                    .map(|i| i.name.clone())
                    .collect(),
                vectorised: node.has_tile && !(self.options.per_sample && node.has_call),
                tile_line: node.tile_line,
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
                on_error: self.options.on_error,
                failures: AtomicUsize::new(0),
                first_failure: Mutex::new(None),
                first_failure_key: AtomicU64::new(u64::MAX),
                gate: Gate::default(),
            };
            let policy = self
                .options
                .policy
                .or_else(|| Policy::parse(args.string("policy")))
                .or(self.scene_policy)
                .unwrap_or(Policy::DEFAULT);
            let state = Arc::new(NodeState::new(
                Arc::new(core),
                class.clone_ref(py),
                instance.unbind(),
                policy,
                self.node.pure,
            ));
            self.runtime.add_node(args.node_id, state.clone());
            Ok(Box::new(PythonNode {
                state,
                runtime: self.runtime.clone(),
            }) as Box<dyn Node>)
        })
    }
}

/// A Python node whose class was read without running its script
/// (`check --no-python`): it takes its place in the graph, and says what
/// was not verified; it cannot render.
struct UnloadedNode {
    class_name: String,
    unverified: Vec<String>,
}

impl Node for UnloadedNode {
    fn eval_tile(&self, ctx: &TileCtx, _: &[&Buffer], _: &mut [Buffer]) -> Result<(), NodeError> {
        Err(NodeError::new(format!(
            "{} was read without running its script (--no-python), so it cannot render",
            self.class_name
        ))
        .at_pixel(ctx.rect.x, ctx.rect.y))
    }

    fn report(&self) -> Option<String> {
        Some(format!(
            "{} was read without running Python: {}",
            self.class_name,
            self.unverified.join("; ")
        ))
    }
}

/// A Python node in a plan: its state, and the runtime that says where its
/// calls go during the render.
pub struct PythonNode {
    pub state: Arc<NodeState>,
    pub runtime: PythonRuntime,
}

impl Node for PythonNode {
    fn eval_tile(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let result = self.evaluate(ctx, inputs, outputs);
        crate::interpreter::exit_if_forked();
        result
    }

    fn report(&self) -> Option<String> {
        self.state.core.report()
    }

    fn files_read(&self) -> Vec<PathBuf> {
        vec![self.state.core.path.clone()]
    }

    fn paints_failures(&self) -> bool {
        self.state.core.on_error == OnError::Color
    }

    fn tiles_elsewhere(&self) -> usize {
        if self.runtime.processes().is_some() && self.state.runs_in_processes() {
            crate::processes::LANES_PER_WORKER
        } else {
            0
        }
    }

    fn evaluation(&self) -> Evaluation {
        if self.state.is_ordered_with_state() {
            Evaluation::WholeImage
        } else {
            Evaluation::Tiled
        }
    }
}

impl PythonNode {
    fn evaluate(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let state = &self.state;
        if let Some(pool) = self.runtime.processes()
            && state.runs_in_processes()
        {
            return pool.evaluate(state, ctx, inputs, outputs);
        }
        let outputs = &mut OutputPlanes::of(outputs);
        match state.policy {
            Policy::Free => {
                state
                    .core
                    .evaluate(&state.instance(), ctx, inputs, outputs, Calls::PerCall)
            }
            // A pure node in parallel, each worker taking the GIL once per
            // tile: workers then hand it over once a tile instead of once a
            // call (the convoy that makes `free` slower with more threads).
            // A node keeping state is evaluated once over the whole image
            // (Evaluation::WholeImage), alone: one GIL hold for all of it.
            Policy::Ordered => {
                state
                    .core
                    .evaluate(&state.instance(), ctx, inputs, outputs, Calls::PerTile)
            }
            Policy::Exclusive => {
                state
                    .core
                    .evaluate(&state.instance(), ctx, inputs, outputs, Calls::Exclusive)
            }
            Policy::Isolated => state.evaluate_isolated(ctx, inputs, outputs, Calls::PerCall),
        }
    }
}
