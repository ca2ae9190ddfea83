//! Pass 2, links: each node's parameters matched to its inputs, every link
//! (and the `[output]` table's) checked to name an existing node and output.

use super::{Graph, Kinds, Resolved, ResolvedOutput};
use crate::constants::constant;
use crate::suggest::help_for;
use std::collections::HashMap;
use std::sync::Arc;
use tessera_core::{ColorSpace, InputSpec, NodeKind, NodeSpec, Value, ValueType};
use tessera_scene::{
    Diagnostic, DiagnosticKind, Link, NodeDesc, Param, ParamValue, SceneDesc, Section, Span,
    Spanned,
};

/// A link, checked to exist: the scene index of its node and its output index.
struct LinkTarget {
    node: usize,
    output: usize,
}

/// The graph of the scene's nodes and output, or None (and errors) when a
/// node's type is unknown, a parameter names no input, a link no node or
/// output, or `[output]` is missing or wrong.
pub fn resolve_links<'s>(
    scene: &'s SceneDesc,
    kinds: &Kinds,
    errors: &mut Vec<Diagnostic>,
) -> Option<Graph<'s>> {
    let index: HashMap<&str, usize> = (scene.nodes.iter().enumerate())
        .map(|(i, n)| (n.id.value.as_str(), i))
        .collect();
    let nodes: Vec<Option<Resolved>> = (scene.nodes.iter().zip(kinds))
        .map(|(desc, kind)| {
            let kind = kind.as_ref()?;
            resolve_params(desc, kind.clone(), scene, &index, kinds, errors)
        })
        .collect();
    let output = match &scene.output {
        Some(section) => {
            let before = errors.len();
            let settings = output_targets(section, scene, &index, kinds, errors);
            (errors.len() == before).then_some(ResolvedOutput {
                section,
                color: settings.color,
                alpha: settings.alpha,
                colorspace: settings.colorspace,
            })
        }
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
    let nodes = nodes.into_iter().collect::<Option<Vec<_>>>()?;
    Some(Graph {
        nodes,
        index,
        output: output?,
    })
}

pub fn link_of(value: &Spanned<ParamValue>) -> Option<&Link> {
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

/// A node's parameters, each with whether it came from the node's `inputs`
/// sub-table (`[nodes.x.inputs]`), where a key is always one of the node's
/// own sockets: the way to a socket whose name is not a plain key or is
/// also a fixed input's. A node with an input named `inputs` takes a table
/// there as that input's value.
fn params_of<'s>(
    desc: &'s NodeDesc,
    spec: &NodeSpec,
) -> impl Iterator<Item = (&'s Param, bool)> + use<'s> {
    let takes_inputs_key = spec.find_input("inputs").is_some();
    desc.params.iter().flat_map(move |param| {
        let sub_table: Option<&'s [Param]> = match &param.value.value {
            ParamValue::Table(entries) if param.name.value == "inputs" && !takes_inputs_key => {
                Some(entries)
            }
            _ => None,
        };
        let top_level = sub_table.is_none().then_some((param, false));
        let entries = sub_table.unwrap_or_default().iter();
        top_level
            .into_iter()
            .chain(entries.map(|entry| (entry, true)))
    })
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
    for (param, own) in params_of(desc, spec) {
        let found = if own {
            spec.find_own_input(&param.name.value)
        } else {
            spec.find_input(&param.name.value)
        };
        let Some((i, input)) = found else {
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
        if let Some(earlier) = params[i] {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::Structure,
                    format!(
                        "input `{}` of node `{}` is given twice",
                        input.name, desc.id.value
                    ),
                    param.name.span.clone(),
                )
                .label("given again here")
                .related(earlier.name.span.clone(), "first given here"),
            );
            continue;
        }
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

/// `[output]`'s links (scene index, output index) and colour space.
#[derive(Default)]
struct OutputSettings {
    color: Option<(usize, usize)>,
    alpha: Option<(usize, usize)>,
    colorspace: Option<ColorSpace>,
}

/// The `colorspace` of `[output]`: a string, one of the names Tessera knows.
fn colorspace_input() -> InputSpec {
    let names: Vec<&str> = ColorSpace::names().collect();
    InputSpec::fixed(
        "colorspace",
        ValueType::String,
        Value::String(String::new()),
        "the colour space the image is written in",
    )
    .choices(&names)
}

/// Checks `[output]`: its keys, that its links exist, its colour space.
fn output_targets(
    section: &Section,
    scene: &SceneDesc,
    index: &HashMap<&str, usize>,
    kinds: &[Option<Arc<dyn NodeKind>>],
    errors: &mut Vec<Diagnostic>,
) -> OutputSettings {
    const KEYS: [&str; 3] = ["color", "alpha", "colorspace"];
    let mut targets = OutputSettings::default();
    for param in &section.params {
        let slot = match param.name.value.as_str() {
            "color" => &mut targets.color,
            "alpha" => &mut targets.alpha,
            "colorspace" => {
                match constant(&param.value, ValueType::String, &colorspace_input()) {
                    Ok(Value::String(name)) => targets.colorspace = ColorSpace::parse(&name),
                    Ok(_) => {}
                    Err(d) => errors.push(d),
                }
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::kinds::resolve_kinds;
    use crate::compile::test_scenes::{messages, registry, scene};
    use std::path::Path;

    /// Pass 2 over `text` (after pass 1): the graph, and every error.
    fn links_of(scene: &SceneDesc) -> (Option<Graph<'_>>, Vec<Diagnostic>) {
        let mut errors = Vec::new();
        let kinds = resolve_kinds(scene, &registry(), Path::new("."), &mut errors);
        let graph = resolve_links(scene, &kinds, &mut errors);
        (graph, errors)
    }

    #[test]
    fn parameters_find_their_inputs_and_links_their_nodes() {
        let scene = scene(
            "[nodes.uv]\ntype = \"texcoord\"\n[nodes.m]\ntype = \"multiply\"\nin1 = \"@uv\"\nin2 = 4.0\n\
             [output]\ncolor = \"@m\"\nalpha = \"@uv\"\n",
        );
        let (graph, errors) = links_of(&scene);
        assert!(errors.is_empty(), "{errors:?}");
        let graph = graph.unwrap();
        assert_eq!(graph.nodes[1].deps, [0]);
        let in2 = graph.nodes[1].params[1].map(|p| p.name.value.as_str());
        assert_eq!(in2, Some("in2"));
        assert_eq!(graph.output.color, Some((1, 0)));
        assert_eq!(graph.output.alpha, Some((0, 0)));
    }

    #[test]
    fn every_bad_parameter_and_link_is_reported_at_once() {
        let scene = scene(
            "[nodes.a]\ntype = \"constant\"\nvalu = 1.0\n\
             [nodes.b]\ntype = \"blur\"\nin = \"@nowhere\"\nradius = \"@a\"\n\
             [nodes.c]\ntype = \"mix\"\nfg = \"@a.rgb\"\n\
             [output]\ncolour = \"@c\"\n",
        );
        let (graph, errors) = links_of(&scene);
        assert!(graph.is_none());
        assert_eq!(
            messages(&errors),
            [
                "node `a` (constant) has no input `valu`",
                "link to a missing node `nowhere`",
                "input `radius` of node `b` takes a constant integer, not a link",
                "node `a` (constant) has no output `rgb`",
                "unknown [output] setting `colour`",
                "[output] needs `color`",
            ]
        );
    }

    #[test]
    fn a_scene_without_output_is_reported() {
        let scene = scene("[nodes.a]\ntype = \"constant\"\n");
        let (graph, errors) = links_of(&scene);
        assert!(graph.is_none());
        assert_eq!(messages(&errors), ["the scene has no [output] table"]);
    }
}
