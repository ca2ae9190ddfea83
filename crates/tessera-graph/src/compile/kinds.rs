//! Pass 1, node types: each scene node's kind from the registry,
//! specialised on its own constants where its spec says so.

use super::Kinds;
use crate::constants::constant;
use crate::suggest::help_for;
use std::path::Path;
use std::sync::Arc;
use tessera_core::{BuildError, NodeKind, Registry, ValueType};
use tessera_scene::{Diagnostic, DiagnosticKind, NodeDesc, SceneDesc};

/// Each scene node's kind, None (and an error) where its type is unknown or
/// it cannot be specialised.
pub fn resolve_kinds(
    scene: &SceneDesc,
    registry: &Registry,
    base_dir: &Path,
    errors: &mut Vec<Diagnostic>,
) -> Kinds {
    scene
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
        .collect()
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
        let (_, input) = spec
            .find_input(name)
            .expect("specialised_by names inputs of the spec");
        let Some(param) = node.params.iter().find(|p| &p.name.value == name) else {
            if spec.optional_specialisers.contains(name) {
                constants.push((name.clone(), input.default.clone()));
                continue;
            }
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
        let value = constant(&param.value, ValueType::String, input)?;
        constants.push((name.clone(), value));
    }
    kind.specialise(&constants, base_dir)
        .map_err(|e| build_failure(node, &e))
}

/// A node that could not be built or specialised, pointing at the input to
/// blame: the first line of the error is the message, the rest (a Python
/// traceback) is printed after it.
pub fn build_failure(node: &NodeDesc, error: &BuildError) -> Diagnostic {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::test_scenes::{messages, registry, scene};

    #[test]
    fn every_node_gets_its_kind_and_every_unknown_type_is_reported() {
        let scene = scene(
            "[nodes.a]\ntype = \"constant\"\n[nodes.b]\ntype = \"constnat\"\n\
             [nodes.c]\ntype = \"blurr\"\n",
        );
        let mut errors = Vec::new();
        let kinds = resolve_kinds(&scene, &registry(), Path::new("."), &mut errors);
        let names: Vec<Option<&str>> = (kinds.iter())
            .map(|k| k.as_ref().map(|k| k.spec().type_name.as_str()))
            .collect();
        assert_eq!(names, [Some("constant"), None, None]);
        assert_eq!(
            messages(&errors),
            ["unknown node type `constnat`", "unknown node type `blurr`"]
        );
        assert!(
            errors[0].notes.iter().any(|n| n.contains("constant")),
            "{:?}",
            errors[0].notes
        );
    }
}
