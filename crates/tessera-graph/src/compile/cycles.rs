//! Pass 3, cycles: an order in which every node comes after what it reads,
//! or the cycle that makes one impossible.

use super::{Graph, Resolved};
use crate::order::topological_order;
use tessera_scene::{Diagnostic, DiagnosticKind, SceneErrors};

/// Scene indices, each node after the nodes it links to.
pub fn order(graph: &Graph) -> Result<Vec<usize>, SceneErrors> {
    let deps: Vec<Vec<usize>> = graph.nodes.iter().map(|r| r.deps.clone()).collect();
    topological_order(&deps).map_err(|cycle| cycle_error(&cycle, &graph.nodes))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::kinds::resolve_kinds;
    use crate::compile::links::resolve_links;
    use crate::compile::test_scenes::{messages, registry, scene};
    use std::path::Path;

    fn order_of(text: &str) -> Result<Vec<usize>, SceneErrors> {
        let scene = scene(text);
        let mut errors = Vec::new();
        let kinds = resolve_kinds(&scene, &registry(), Path::new("."), &mut errors);
        let graph = resolve_links(&scene, &kinds, &mut errors).expect("links resolve");
        order(&graph)
    }

    #[test]
    fn every_node_comes_after_what_it_reads() {
        let order = order_of(
            "[nodes.c]\ntype = \"mix\"\nfg = \"@b\"\nbg = \"@a\"\n[nodes.b]\ntype = \"blur\"\nin = \"@a\"\n\
             [nodes.a]\ntype = \"constant\"\n[output]\ncolor = \"@c\"\n",
        )
        .unwrap_or_else(|e| panic!("{:?}", e.0));
        let position = |node: usize| order.iter().position(|&n| n == node).unwrap();
        assert!(
            position(2) < position(1) && position(1) < position(0),
            "{order:?}"
        );
    }

    #[test]
    fn a_cycle_is_named_node_by_node() {
        let errors = order_of(
            "[nodes.a]\ntype = \"blur\"\nin = \"@b\"\n[nodes.b]\ntype = \"blur\"\nin = \"@a\"\n\
             [output]\ncolor = \"@a\"\n",
        )
        .unwrap_err();
        assert_eq!(
            messages(&errors.0),
            ["the nodes link in a cycle: a -> b -> a"]
        );
    }
}
