//! Pass 4, types and constants: in dependency order, each generic node's
//! type from what it reads, each link checked to convert, each constant
//! read in its input's type (a node's output types follow from its inputs).

use super::links::link_of;
use super::{Graph, Resolved};
use crate::PlannedInput;
use crate::constants::{constant, natural_type};
use tessera_core::{InputSpec, NodeSpec, SocketType, Value, ValueType};
use tessera_scene::{Diagnostic, DiagnosticKind, Param, ParamValue, SceneErrors, Spanned};

/// A node with its types resolved and its inputs planned (scene indices).
#[derive(Debug, Clone, PartialEq)]
pub struct TypedNode {
    /// The scene index of the node.
    pub node: usize,
    /// A generic node's resolved type.
    pub generic: Option<ValueType>,
    /// The varying inputs, in spec order: links, constants, geometry.
    pub inputs: Vec<PlannedInput>,
    /// The uniform inputs, by name: the scene's value or the default.
    pub uniforms: Vec<(String, Value)>,
    pub outputs: Vec<ValueType>,
}

/// The typed nodes, in `order`, or every mistake found: each node's, but
/// for the nodes that read one with a mistake (their types cannot be
/// known).
pub fn resolve_types(graph: &Graph, order: &[usize]) -> Result<Vec<TypedNode>, SceneErrors> {
    let mut output_types: Vec<Vec<ValueType>> = vec![Vec::new(); graph.nodes.len()];
    let mut untyped = vec![false; graph.nodes.len()];
    let mut errors = Vec::new();
    let mut typed = Vec::with_capacity(order.len());
    for &i in order {
        let node = &graph.nodes[i];
        if node.deps.iter().any(|&dep| untyped[dep]) {
            untyped[i] = true;
            continue;
        }
        let (generic, inputs, uniforms) = match plan_inputs(node, graph, &output_types) {
            Ok(planned) => planned,
            Err(mistakes) => {
                errors.extend(mistakes);
                untyped[i] = true;
                continue;
            }
        };
        let outputs: Vec<ValueType> = (node.kind.spec().outputs.iter())
            .map(|o| match o.ty {
                SocketType::Fixed(t) => t,
                SocketType::Generic => generic.expect("generic outputs imply a generic type"),
            })
            .collect();
        output_types[i] = outputs.clone();
        typed.push(TypedNode {
            node: i,
            generic,
            inputs,
            uniforms,
            outputs,
        });
    }
    if errors.is_empty() {
        Ok(typed)
    } else {
        // In the file's order, not the dependency order they were found in.
        errors.sort_by_key(|error| error.span.as_ref().map(|span| span.start));
        Err(SceneErrors(errors))
    }
}

/// The `[output]` table planned: its colour (as color4) and its alpha (a
/// float), if any.
pub type OutputPlan = (PlannedInput, Option<PlannedInput>);

/// The `[output]` table planned: its colour (as color4) and alpha (a float),
/// links to scene indices, constants read.
pub fn plan_output(graph: &Graph, typed: &[TypedNode]) -> Result<OutputPlan, SceneErrors> {
    let mut output_types: Vec<Vec<ValueType>> = vec![Vec::new(); graph.nodes.len()];
    for node in typed {
        output_types[node.node] = node.outputs.clone();
    }
    let section = graph.output.section;
    let plan = |name: &str, target, ty| {
        (section.get(name)).map(|param| output_input(param, target, ty, &output_types))
    };
    let color = plan("color", graph.output.color, ValueType::Color4);
    let alpha = plan("alpha", graph.output.alpha, ValueType::Float);
    match (color, alpha.transpose()) {
        (Some(Ok(color)), Ok(alpha)) => Ok((color, alpha)),
        (color, alpha) => {
            let errors = (color.and_then(Result::err).into_iter())
                .chain(alpha.err())
                .collect();
            Err(SceneErrors(errors))
        }
    }
}

fn output_input(
    param: &Param,
    target: Option<(usize, usize)>,
    ty: ValueType,
    output_types: &[Vec<ValueType>],
) -> Result<PlannedInput, Diagnostic> {
    let spec = InputSpec::fixed(&param.name.value, ty, Value::Float(0.0), "");
    match target {
        Some((node, output)) => link_input(node, output, ty, &param.value, output_types),
        None => constant(&param.value, ty, &spec)
            .map(|v| PlannedInput::Constant(v.channels().expect("varying"))),
    }
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

/// Resolves a node's generic type and plans each input; or every input's
/// mistake.
fn plan_inputs(
    node: &Resolved,
    graph: &Graph,
    output_types: &[Vec<ValueType>],
) -> Result<InputPlan, Vec<Diagnostic>> {
    let spec = node.kind.spec();
    let target_of = |param: &Param| -> Option<(usize, usize)> {
        let link = link_of(&param.value)?;
        let node = *graph.index.get(link.node.as_str())?;
        let output = match &link.output {
            None => 0,
            Some(name) => graph.nodes[node].kind.spec().find_output(name)?.0,
        };
        Some((node, output))
    };
    let generic = generic_type(node, spec, &target_of, output_types).map_err(|d| vec![d])?;
    let mut inputs = Vec::new();
    let mut uniforms = Vec::new();
    let mut mistakes = Vec::new();
    for (input, param) in spec.inputs.iter().zip(&node.params) {
        let ty = match input.ty {
            SocketType::Fixed(t) => t,
            SocketType::Generic => generic.expect("generic input implies a generic type"),
        };
        let value = match param {
            Some(param) => {
                if let Some((source, output)) = target_of(param) {
                    match link_input(source, output, ty, &param.value, output_types) {
                        Ok(link) => inputs.push(link),
                        Err(d) => mistakes.push(d),
                    }
                    continue;
                }
                match constant(&param.value, ty, input) {
                    Ok(value) => value,
                    Err(mut d) => {
                        d.message = format!(
                            "node `{}`, input `{}`: {}",
                            node.desc.id.value, input.name, d.message
                        );
                        mistakes.push(d);
                        continue;
                    }
                }
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
    if mistakes.is_empty() {
        Ok((generic, inputs, uniforms))
    } else {
        Err(mistakes)
    }
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
    if let Some(stated) = &node.desc.value_type {
        let allowed: Vec<&str> = spec.generic_types.iter().map(|t| t.name()).collect();
        let chosen = (spec.generic_types.iter())
            .find(|t| t.name() == stated.value)
            .copied();
        return match chosen {
            Some(ty) => Ok(Some(ty)),
            None if allowed.is_empty() => Err(Diagnostic::new(
                DiagnosticKind::WrongType,
                format!(
                    "node `{}` ({}) has no `value_type`: its types are fixed",
                    node.desc.id.value, spec.type_name
                ),
                stated.span.clone(),
            )
            .label("remove this")),
            None => Err(Diagnostic::new(
                DiagnosticKind::WrongType,
                format!(
                    "node `{}` ({}) does not work on {:?}",
                    node.desc.id.value, spec.type_name, stated.value
                ),
                stated.span.clone(),
            )
            .label("this value_type")
            .note(format!("{} takes {}", spec.type_name, allowed.join(", ")))),
        };
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::cycles::order;
    use crate::compile::kinds::resolve_kinds;
    use crate::compile::links::resolve_links;
    use crate::compile::test_scenes::{messages, registry, scene};
    use std::path::Path;
    use tessera_core::GeomProp;

    /// Passes 1 to 4 over `text`: the typed nodes and the planned output.
    fn typed(text: &str) -> Result<(Vec<TypedNode>, OutputPlan), SceneErrors> {
        let scene = scene(text);
        let mut errors = Vec::new();
        let kinds = resolve_kinds(&scene, &registry(), Path::new("."), &mut errors);
        let graph = resolve_links(&scene, &kinds, &mut errors).expect("links resolve");
        let typed = resolve_types(&graph, &order(&graph)?)?;
        let output = plan_output(&graph, &typed)?;
        Ok((typed, output))
    }

    #[test]
    fn a_generic_node_takes_the_widest_type_it_reads_and_constants_are_read_in_it() {
        let (typed, (color, alpha)) = typed(
            "[nodes.m]\ntype = \"multiply\"\nin2 = 4.0\n[nodes.c]\ntype = \"constant\"\nvalue = [0.1, 0.2, 0.3]\n\
             [nodes.x]\ntype = \"multiply\"\nin1 = \"@c\"\nin2 = 2.0\n[output]\ncolor = \"@x\"\nalpha = 0.5\n",
        )
        .unwrap_or_else(|e| panic!("{:?}", messages(&e.0)));
        let x = typed.iter().find(|t| t.node == 2).unwrap();
        assert_eq!(x.generic, Some(ValueType::Color3));
        assert_eq!(x.outputs, [ValueType::Color3]);
        // The float constant 2.0, read as a colour3.
        assert_eq!(x.inputs[1], PlannedInput::Constant(vec![2.0, 2.0, 2.0]));
        // Nothing linked, a float constant: a float multiply.
        let m = typed.iter().find(|t| t.node == 0).unwrap();
        assert_eq!(m.generic, Some(ValueType::Float));
        assert_eq!(
            color,
            PlannedInput::Link {
                node: 2,
                output: 0,
                from: ValueType::Color3,
                to: ValueType::Color4
            }
        );
        assert_eq!(alpha, Some(PlannedInput::Constant(vec![0.5])));
    }

    #[test]
    fn an_unlinked_geometry_input_reads_the_geometry() {
        let (typed, _) = typed("[nodes.n]\ntype = \"noise2d\"\n[output]\ncolor = \"@n\"\n")
            .unwrap_or_else(|e| panic!("{:?}", messages(&e.0)));
        assert!(
            typed[0]
                .inputs
                .contains(&PlannedInput::Geometry(GeomProp::Texcoord))
        );
    }

    #[test]
    fn a_link_that_does_not_convert_is_reported() {
        let errors = typed(
            "[nodes.c]\ntype = \"constant\"\nvalue = [0.1, 0.2, 0.3]\n\
             [nodes.n]\ntype = \"noise2d\"\ntexcoord = \"@c\"\n[output]\ncolor = \"@n\"\n",
        )
        .unwrap_err();
        assert_eq!(
            messages(&errors.0),
            ["cannot connect a color3 output to a vector2 input"]
        );
    }

    #[test]
    fn every_nodes_mistakes_are_reported_but_not_those_of_nodes_reading_one() {
        // `n` has two wrong inputs, `m` one; `after` reads `n`, whose types
        // are unknown: its own mismatch would be a guess.
        let errors = typed(
            "[nodes.c]\ntype = \"constant\"\nvalue = [0.1, 0.2, 0.3]\n\
             [nodes.n]\ntype = \"noise2d\"\ntexcoord = \"@c\"\namplitude = \"high\"\n\
             [nodes.m]\ntype = \"checkerboard\"\nuvtiling = \"@c\"\n\
             [nodes.after]\ntype = \"rotate2d\"\nin = \"@n\"\n[output]\ncolor = \"@m\"\n",
        )
        .unwrap_err();
        // In the file's order.
        assert_eq!(
            messages(&errors.0),
            [
                "cannot connect a color3 output to a vector2 input",
                "node `n`, input `amplitude`: expected a float, found a string",
                "cannot connect a color3 output to a vector2 input",
            ]
        );
    }

    #[test]
    fn a_stated_value_type_wins_over_the_inputs_and_is_checked() {
        let (nodes, _) = typed(
            "[nodes.v]\ntype = \"add\"\nvalue_type = \"vector3\"\nin1 = [1, 2, 3]\nin2 = 0.5\n\
             [nodes.n]\ntype = \"noise3d\"\nposition = \"@v\"\n[output]\ncolor = \"@n\"\n",
        )
        .unwrap_or_else(|e| panic!("{:?}", messages(&e.0)));
        assert_eq!(nodes[0].generic, Some(ValueType::Vector3));
        assert_eq!(nodes[0].inputs[1], PlannedInput::Constant(vec![0.5; 3]));
        let wrong = |text| -> Vec<String> {
            (typed(text).unwrap_err().0.iter())
                .map(|d| d.message.clone())
                .collect()
        };
        assert_eq!(
            wrong(
                "[nodes.v]\ntype = \"add\"\nvalue_type = \"integer\"\n[output]\ncolor = \"@v\"\n"
            ),
            ["node `v` (add) does not work on \"integer\""]
        );
        assert_eq!(
            wrong(
                "[nodes.n]\ntype = \"cellnoise2d\"\nvalue_type = \"float\"\n[output]\ncolor = \"@n\"\n"
            ),
            ["node `n` (cellnoise2d) has no `value_type`: its types are fixed"]
        );
    }
}
