//! SceneDesc + Registry -> Plan.

use crate::constants::{constant, natural_type};
use crate::image::image_settings;
use crate::order::topological_order;
use crate::suggest::help_for;
use crate::{Plan, PlannedInput, PlannedNode, PlannedOutput};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tessera_core::{
    BuildArgs, BuildError, InputSpec, NodeKind, NodeSpec, Registry, SocketType, Value, ValueType,
};
use tessera_scene::{
    Diagnostic, DiagnosticKind, Link, NodeDesc, Param, ParamValue, SceneDesc, SceneErrors, Span,
    Spanned,
};

/// A scene node whose type is known, with each parameter matched to an input.
struct Resolved<'s> {
    desc: &'s NodeDesc,
    kind: Arc<dyn NodeKind>,
    /// Per spec input, the parameter that sets it, if any.
    params: Vec<Option<&'s Param>>,
    /// Scene indices of the nodes this one links to.
    deps: Vec<usize>,
}

/// A link, checked to exist: the scene index of its node and its output index.
struct LinkTarget {
    node: usize,
    output: usize,
}

/// Checks and builds a scene. Reports every mistake it can find in one go.
pub fn compile(
    scene: &SceneDesc,
    registry: &Registry,
    base_dir: &Path,
) -> Result<Plan, SceneErrors> {
    let mut errors = Vec::new();
    let image = image_settings(scene, &mut errors);
    let index: HashMap<&str, usize> = scene
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.value.as_str(), i))
        .collect();

    let kinds: Vec<Option<Arc<dyn NodeKind>>> = scene
        .nodes
        .iter()
        .map(|node| {
            let kind = registry.get(&node.type_name.value).cloned();
            if kind.is_none() {
                errors.push(
                    Diagnostic::new(
                        DiagnosticKind::UnknownNodeType,
                        format!("unknown node type `{}`", node.type_name.value),
                        node.type_name.span.clone(),
                    )
                    .label("no such node type")
                    .note(help_for(
                        &node.type_name.value,
                        "node types",
                        registry.type_names(),
                    ))
                    .note("`tessera nodes` lists every node type"),
                );
            }
            let kind = kind?;
            if kind.spec().specialised_by.is_empty() {
                return Some(kind);
            }
            specialise(node, &kind, base_dir)
                .map_err(|d| errors.push(d))
                .ok()
        })
        .collect();

    let mut resolved = Vec::with_capacity(scene.nodes.len());
    for (desc, kind) in scene.nodes.iter().zip(&kinds) {
        let Some(kind) = kind else {
            resolved.push(None);
            continue;
        };
        resolved.push(resolve_params(
            desc,
            kind.clone(),
            scene,
            &index,
            &kinds,
            &mut errors,
        ));
    }
    let output_section = match &scene.output {
        Some(section) => Some(section),
        None => {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::MissingOutput,
                    "the scene has no [output] table",
                    scene.span.end..scene.span.end,
                )
                .note("add `[output]` with `color = \"@node\"` naming what to write"),
            );
            None
        }
    };
    let output_links =
        output_section.map(|s| output_targets(s, scene, &index, &kinds, &mut errors));
    if !errors.is_empty() {
        return Err(SceneErrors(errors));
    }
    let resolved: Vec<Resolved> = resolved
        .into_iter()
        .map(|r| r.expect("no errors"))
        .collect();
    let output_section = output_section.expect("no errors");
    let image = image.expect("no errors");

    let deps: Vec<Vec<usize>> = resolved.iter().map(|r| r.deps.clone()).collect();
    let order = topological_order(&deps).map_err(|cycle| cycle_error(&cycle, &resolved))?;

    // Types, in order: a node's output types follow from its inputs.
    let mut output_types: Vec<Vec<ValueType>> = vec![Vec::new(); resolved.len()];
    let mut planned: HashMap<usize, InputPlan> = HashMap::new();
    for &i in &order {
        let node = &resolved[i];
        match plan_inputs(node, &resolved, &index, &output_types) {
            Ok((generic, inputs, uniforms)) => {
                output_types[i] = node
                    .kind
                    .spec()
                    .outputs
                    .iter()
                    .map(|o| match o.ty {
                        SocketType::Fixed(t) => t,
                        SocketType::Generic => {
                            generic.expect("generic outputs imply a generic type")
                        }
                    })
                    .collect();
                planned.insert(i, (generic, inputs, uniforms));
            }
            Err(d) => {
                errors.push(d);
                // Downstream types cannot be known; stop here.
                return Err(SceneErrors(errors));
            }
        }
    }

    let (color, alpha) = output_links.expect("no errors");
    let output_color = output_input(
        output_section.get("color"),
        color,
        ValueType::Color4,
        &output_types,
        &mut errors,
    );
    let output_alpha = output_section
        .get("alpha")
        .map(|p| output_input(Some(p), alpha, ValueType::Float, &output_types, &mut errors));

    // Only what the output reads is built and rendered.
    let mut needed = vec![false; resolved.len()];
    let mut stack: Vec<usize> = output_section
        .params
        .iter()
        .filter_map(|p| link_of(&p.value).and_then(|l| index.get(l.node.as_str()).copied()))
        .collect();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut needed[i], true) {
            stack.extend(&resolved[i].deps);
        }
    }
    let order: Vec<usize> = order.into_iter().filter(|&i| needed[i]).collect();
    let plan_index: HashMap<usize, usize> =
        order.iter().enumerate().map(|(p, &s)| (s, p)).collect();
    let reindex = |input: PlannedInput| match input {
        PlannedInput::Link {
            node,
            output,
            from,
            to,
        } => PlannedInput::Link {
            node: plan_index[&node],
            output,
            from,
            to,
        },
        constant => constant,
    };

    let mut nodes = Vec::with_capacity(order.len());
    for &i in &order {
        let (generic, inputs, uniforms) = planned.remove(&i).expect("planned");
        let desc = resolved[i].desc;
        let args = BuildArgs {
            node_id: &desc.id.value,
            generic,
            uniforms: &uniforms,
            base_dir,
        };
        match resolved[i].kind.build(&args) {
            Ok(node) => nodes.push(PlannedNode {
                id: desc.id.value.clone(),
                type_name: desc.type_name.value.clone(),
                node,
                inputs: inputs.into_iter().map(reindex).collect(),
                outputs: output_types[i].clone(),
                margin: 0,
            }),
            Err(e) => errors.push(build_failure(desc, &e)),
        }
    }
    if !errors.is_empty() {
        return Err(SceneErrors(errors));
    }

    // Margins, consumers first: a node must produce what its readers need
    // plus their halo.
    for consumer in (0..nodes.len()).rev() {
        let need = nodes[consumer].margin + nodes[consumer].halo();
        for input in nodes[consumer].inputs.clone() {
            if let PlannedInput::Link { node, .. } = input {
                nodes[node].margin = nodes[node].margin.max(need);
            }
        }
    }
    let reindex_output = |input: PlannedInput| reindex(input);
    Ok(Plan {
        image,
        nodes,
        output: PlannedOutput {
            color: reindex_output(output_color.expect("no errors")),
            alpha: output_alpha.map(|a| reindex_output(a.expect("no errors"))),
        },
    })
}

/// The concrete kind of a node whose sockets depend on some of its own
/// constants (a Python node's script and class).
fn specialise(
    node: &NodeDesc,
    kind: &Arc<dyn NodeKind>,
    base_dir: &Path,
) -> Result<Arc<dyn NodeKind>, Diagnostic> {
    let spec = kind.spec();
    let mut constants = Vec::new();
    for name in &spec.specialised_by {
        let Some(param) = node.params.iter().find(|p| &p.name.value == name) else {
            return Err(Diagnostic::new(
                DiagnosticKind::Structure,
                format!(
                    "node `{}` ({}) needs `{name}`",
                    node.id.value, spec.type_name
                ),
                node.type_name.span.clone(),
            )
            .label(format!("add `{name} = \"...\"` to this node")));
        };
        let (_, input) = spec
            .find_input(name)
            .expect("specialised_by names inputs of the spec");
        let value = constant(&param.value, ValueType::String, input)?;
        constants.push((name.clone(), value));
    }
    kind.specialise(&constants, base_dir)
        .map_err(|e| build_failure(node, &e))
}

/// A node that could not be built or specialised, pointing at the input to
/// blame: the first line of the error is the message, the rest (a Python
/// traceback) is printed after it.
fn build_failure(node: &NodeDesc, error: &BuildError) -> Diagnostic {
    let span = error
        .input
        .as_deref()
        .and_then(|name| node.params.iter().find(|p| p.name.value == name))
        .map_or(node.type_name.span.clone(), |p| p.value.span.clone());
    let (first, rest) = error
        .message
        .split_once('\n')
        .unwrap_or((&error.message, ""));
    let d = Diagnostic::new(
        DiagnosticKind::BuildFailed,
        format!("node `{}`: {first}", node.id.value),
        span,
    )
    .label("here");
    if rest.is_empty() { d } else { d.detail(rest) }
}

fn link_of(value: &Spanned<ParamValue>) -> Option<&Link> {
    match &value.value {
        ParamValue::Link(link) => Some(link),
        _ => None,
    }
}

/// Finds the node and output a link names, or says why it cannot.
fn link_target(
    link: &Link,
    span: &Span,
    scene: &SceneDesc,
    index: &HashMap<&str, usize>,
    kinds: &[Option<Arc<dyn NodeKind>>],
) -> Result<Option<LinkTarget>, Diagnostic> {
    let Some(&node) = index.get(link.node.as_str()) else {
        return Err(Diagnostic::new(
            DiagnosticKind::BadLink,
            format!("link to a missing node `{}`", link.node),
            span.clone(),
        )
        .label("no node has this id")
        .note(help_for(
            &link.node,
            "node ids",
            scene.nodes.iter().map(|n| n.id.value.as_str()),
        )));
    };
    // A node of unknown type is already reported; its outputs are unknown.
    let Some(kind) = &kinds[node] else {
        return Ok(None);
    };
    let spec = kind.spec();
    let output = match &link.output {
        None if spec.outputs.is_empty() => None,
        None => Some(0),
        Some(name) => spec.find_output(name).map(|(i, _)| i),
    };
    match output {
        Some(output) => Ok(Some(LinkTarget { node, output })),
        None => Err(Diagnostic::new(
            DiagnosticKind::BadLink,
            format!(
                "node `{}` ({}) has no output `{}`",
                link.node,
                spec.type_name,
                link.output.as_deref().unwrap_or_default()
            ),
            span.clone(),
        )
        .label("no such output")
        .note(help_for(
            link.output.as_deref().unwrap_or_default(),
            "outputs",
            spec.outputs.iter().map(|o| o.name.as_str()),
        ))),
    }
}

/// Matches a node's parameters to its inputs and checks its links exist.
fn resolve_params<'s>(
    desc: &'s NodeDesc,
    kind: Arc<dyn NodeKind>,
    scene: &SceneDesc,
    index: &HashMap<&str, usize>,
    kinds: &[Option<Arc<dyn NodeKind>>],
    errors: &mut Vec<Diagnostic>,
) -> Option<Resolved<'s>> {
    let spec = kind.spec();
    let before = errors.len();
    let mut params: Vec<Option<&Param>> = vec![None; spec.inputs.len()];
    let mut deps = Vec::new();
    for param in &desc.params {
        let Some((i, input)) = spec.find_input(&param.name.value) else {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::UnknownInput,
                    format!(
                        "node `{}` ({}) has no input `{}`",
                        desc.id.value, spec.type_name, param.name.value
                    ),
                    param.name.span.clone(),
                )
                .label("unknown input")
                .note(help_for(
                    &param.name.value,
                    "inputs",
                    spec.inputs.iter().map(|i| i.name.as_str()),
                )),
            );
            continue;
        };
        params[i] = Some(param);
        let Some(link) = link_of(&param.value) else {
            continue;
        };
        if !input.is_varying() {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::WrongType,
                    format!(
                        "input `{}` of node `{}` takes a constant {}, not a link",
                        input.name, desc.id.value, input.ty
                    ),
                    param.value.span.clone(),
                )
                .label("links are for per-sample inputs"),
            );
            continue;
        }
        match link_target(link, &param.value.span, scene, index, kinds) {
            Ok(Some(target)) => deps.push(target.node),
            Ok(None) => {}
            Err(d) => errors.push(d),
        }
    }
    (errors.len() == before).then_some(Resolved {
        desc,
        kind,
        params,
        deps,
    })
}

type OutputLinks = (Option<(usize, usize)>, Option<(usize, usize)>);

/// Checks `[output]`: its keys, and that its links exist.
fn output_targets(
    section: &tessera_scene::Section,
    scene: &SceneDesc,
    index: &HashMap<&str, usize>,
    kinds: &[Option<Arc<dyn NodeKind>>],
    errors: &mut Vec<Diagnostic>,
) -> OutputLinks {
    const KEYS: [&str; 2] = ["color", "alpha"];
    let mut targets: OutputLinks = (None, None);
    for param in &section.params {
        let slot = match param.name.value.as_str() {
            "color" => &mut targets.0,
            "alpha" => &mut targets.1,
            other => {
                errors.push(
                    Diagnostic::new(
                        DiagnosticKind::UnknownInput,
                        format!("unknown [output] setting `{other}`"),
                        param.name.span.clone(),
                    )
                    .label("not an output setting")
                    .note(help_for(other, "output settings", KEYS)),
                );
                continue;
            }
        };
        if let Some(link) = link_of(&param.value) {
            match link_target(link, &param.value.span, scene, index, kinds) {
                Ok(target) => *slot = target.map(|t| (t.node, t.output)),
                Err(d) => errors.push(d),
            }
        }
    }
    if section.get("color").is_none() {
        errors.push(
            Diagnostic::new(
                DiagnosticKind::MissingOutput,
                "[output] needs `color`",
                section.span.clone(),
            )
            .label("in this table")
            .note("for example `color = \"@final\"`"),
        );
    }
    targets
}

fn output_input(
    param: Option<&Param>,
    target: Option<(usize, usize)>,
    ty: ValueType,
    output_types: &[Vec<ValueType>],
    errors: &mut Vec<Diagnostic>,
) -> Option<PlannedInput> {
    let param = param?;
    let spec = InputSpec::fixed(&param.name.value, ty, Value::Float(0.0), "");
    let result = match target {
        Some((node, output)) => link_input(node, output, ty, &param.value, output_types),
        None => constant(&param.value, ty, &spec)
            .map(|v| PlannedInput::Constant(v.channels().expect("varying"))),
    };
    result.map_err(|d| errors.push(d)).ok()
}

fn link_input(
    node: usize,
    output: usize,
    to: ValueType,
    value: &Spanned<ParamValue>,
    output_types: &[Vec<ValueType>],
) -> Result<PlannedInput, Diagnostic> {
    let from = output_types[node][output];
    if !from.converts_to(to) {
        return Err(Diagnostic::new(
            DiagnosticKind::WrongType,
            format!("cannot connect a {from} output to a {to} input"),
            value.span.clone(),
        )
        .label(format!("this is {from}, expected {to}"))
        .note(
            "a float widens to any vector or colour, and color3 to color4; nothing else converts",
        ));
    }
    Ok(PlannedInput::Link {
        node,
        output,
        from,
        to,
    })
}

type InputPlan = (Option<ValueType>, Vec<PlannedInput>, Vec<(String, Value)>);

/// Resolves a node's generic type and plans each input.
fn plan_inputs(
    node: &Resolved,
    all: &[Resolved],
    index: &HashMap<&str, usize>,
    output_types: &[Vec<ValueType>],
) -> Result<InputPlan, Diagnostic> {
    let spec = node.kind.spec();
    let target_of = |param: &Param| -> Option<(usize, usize)> {
        let link = link_of(&param.value)?;
        let node = *index.get(link.node.as_str())?;
        let output = match &link.output {
            None => 0,
            Some(name) => all[node].kind.spec().find_output(name)?.0,
        };
        Some((node, output))
    };
    let generic = generic_type(node, spec, &target_of, output_types)?;
    let mut inputs = Vec::new();
    let mut uniforms = Vec::new();
    for (input, param) in spec.inputs.iter().zip(&node.params) {
        let ty = match input.ty {
            SocketType::Fixed(t) => t,
            SocketType::Generic => generic.expect("generic input implies a generic type"),
        };
        let value = match param {
            Some(param) => {
                if let Some((source, output)) = target_of(param) {
                    inputs.push(link_input(source, output, ty, &param.value, output_types)?);
                    continue;
                }
                constant(&param.value, ty, input).map_err(|d| {
                    let mut d = d;
                    d.message = format!(
                        "node `{}`, input `{}`: {}",
                        node.desc.id.value, input.name, d.message
                    );
                    d
                })?
            }
            None => match input.geometry {
                Some(geometry) => {
                    inputs.push(PlannedInput::Geometry(geometry));
                    continue;
                }
                None => default_value(input, ty),
            },
        };
        if input.is_varying() {
            inputs.push(PlannedInput::Constant(value.channels().expect("varying")));
        } else {
            uniforms.push((input.name.clone(), value));
        }
    }
    Ok((generic, inputs, uniforms))
}

fn default_value(input: &InputSpec, ty: ValueType) -> Value {
    match input.default.channels() {
        Some(channels) if input.default.value_type() != ty => {
            let mut out = vec![0.0; ty.channels().expect("varying")];
            input
                .default
                .value_type()
                .convert_samples(ty, &channels, &mut out);
            Value::from_channels(ty, &out).expect("channels match")
        }
        _ => input.default.clone(),
    }
}

/// A generic node's type: the widest type linked to its generic inputs,
/// else the widest constant given to them, else its first allowed type.
fn generic_type(
    node: &Resolved,
    spec: &NodeSpec,
    target_of: &dyn Fn(&Param) -> Option<(usize, usize)>,
    output_types: &[Vec<ValueType>],
) -> Result<Option<ValueType>, Diagnostic> {
    if spec.generic_types.is_empty() {
        return Ok(None);
    }
    let generic_params = spec
        .inputs
        .iter()
        .zip(&node.params)
        .filter(|(i, _)| i.ty == SocketType::Generic)
        .filter_map(|(_, p)| *p);
    let mut linked: Option<(ValueType, &Param)> = None;
    let mut constants: Option<(ValueType, &Param)> = None;
    for param in generic_params {
        let (slot, ty) = match target_of(param) {
            Some((source, output)) => (&mut linked, output_types[source][output]),
            None => match natural_type(&param.value.value) {
                Some(ty) => (&mut constants, ty),
                None => continue, // reported as a wrong type when the constant is read
            },
        };
        *slot = Some(match *slot {
            None => (ty, param),
            Some((current, first)) => (
                join(current, ty).ok_or_else(|| {
                    Diagnostic::new(
                        DiagnosticKind::WrongType,
                        format!(
                            "node `{}` ({}) cannot combine {current} and {ty}",
                            node.desc.id.value, spec.type_name
                        ),
                        param.value.span.clone(),
                    )
                    .label(format!("this is {ty}"))
                    .related(first.value.span.clone(), format!("this is {current}"))
                })?,
                first,
            ),
        });
    }
    let chosen = match (linked, constants) {
        // A constant wider than the links (a color3 constant beside a float
        // link) widens the node; one that does not fit is reported when read.
        (Some((linked, _)), Some((constant, _))) => join(linked, constant).unwrap_or(linked),
        (Some((ty, _)), None) | (None, Some((ty, _))) => ty,
        (None, None) => spec.generic_types[0],
    };
    if !spec.generic_types.contains(&chosen) {
        let (_, param) = linked
            .or(constants)
            .expect("a type was chosen from a parameter");
        let allowed: Vec<&str> = spec.generic_types.iter().map(|t| t.name()).collect();
        return Err(Diagnostic::new(
            DiagnosticKind::WrongType,
            format!(
                "node `{}` ({}) does not work on {chosen}",
                node.desc.id.value, spec.type_name
            ),
            param.value.span.clone(),
        )
        .label(format!("this is {chosen}"))
        .note(format!("{} takes {}", spec.type_name, allowed.join(", "))));
    }
    Ok(Some(chosen))
}

/// The narrowest type both convert to, if any.
fn join(a: ValueType, b: ValueType) -> Option<ValueType> {
    if a.converts_to(b) {
        Some(b)
    } else if b.converts_to(a) {
        Some(a)
    } else {
        None
    }
}

fn cycle_error(cycle: &[usize], resolved: &[Resolved]) -> SceneErrors {
    let names: Vec<&str> = cycle
        .iter()
        .map(|&i| resolved[i].desc.id.value.as_str())
        .collect();
    let first = resolved[cycle[0]].desc;
    // A cycle through thousands of nodes is named by its ends.
    const MOST_NAMED: usize = 12;
    let mut path = if names.len() > MOST_NAMED {
        format!(
            "{} -> ... ({} more) -> {}",
            names[..MOST_NAMED / 2].join(" -> "),
            names.len() - MOST_NAMED,
            names[names.len() - MOST_NAMED / 2..].join(" -> ")
        )
    } else {
        names.join(" -> ")
    };
    path.push_str(&format!(" -> {}", names[0]));
    let mut d = Diagnostic::new(
        DiagnosticKind::Cycle,
        format!("the nodes link in a cycle: {path}"),
        first.id.span.clone(),
    )
    .label("this node depends on itself");
    for &i in cycle[1..].iter().take(8) {
        d = d.related(resolved[i].desc.id.span.clone(), "on the cycle");
    }
    SceneErrors(vec![d])
}
