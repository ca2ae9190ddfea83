//! Pass 5, the plan: only the nodes the output reads, in dependency order,
//! each built, its links renumbered to plan indices, with the margin it
//! must produce around a tile for the halos of the nodes downstream.

use super::Graph;
use super::kinds::build_failure;
use super::types::{OutputPlan, TypedNode};
use crate::{ImageSettings, Plan, PlannedInput, PlannedNode, PlannedOutput};
use std::path::Path;
use tessera_core::BuildArgs;
use tessera_scene::SceneErrors;

/// Builds the plan from the typed nodes (in dependency order) and the
/// output's planned colour and alpha (scene indices).
pub fn plan(
    graph: &Graph,
    typed: Vec<TypedNode>,
    (color, alpha): OutputPlan,
    image: ImageSettings,
    base_dir: &Path,
) -> Result<Plan, SceneErrors> {
    let read = read_by_output(graph, [&color].into_iter().chain(&alpha));
    let typed: Vec<TypedNode> = typed.into_iter().filter(|t| read[t.node]).collect();
    let mut plan_index = vec![usize::MAX; graph.nodes.len()];
    for (position, node) in typed.iter().enumerate() {
        plan_index[node.node] = position;
    }
    let reindex = |input: PlannedInput| match input {
        PlannedInput::Link {
            node,
            output,
            from,
            to,
        } => PlannedInput::Link {
            node: plan_index[node],
            output,
            from,
            to,
        },
        other => other,
    };
    let mut nodes = Vec::with_capacity(typed.len());
    let mut errors = Vec::new();
    for typed in typed {
        let resolved = &graph.nodes[typed.node];
        let desc = resolved.desc;
        let args = BuildArgs {
            node_id: &desc.id.value,
            generic: typed.generic,
            uniforms: &typed.uniforms,
            base_dir,
        };
        match resolved.kind.build(&args) {
            Ok(node) => nodes.push(PlannedNode {
                id: desc.id.value.clone(),
                type_name: desc.type_name.value.clone(),
                node,
                inputs: typed.inputs.into_iter().map(reindex).collect(),
                outputs: typed.outputs,
                margin: 0,
            }),
            Err(e) => errors.push(build_failure(desc, &e)),
        }
    }
    if !errors.is_empty() {
        return Err(SceneErrors(errors));
    }
    set_margins(&mut nodes);
    Ok(Plan {
        image,
        nodes,
        output: PlannedOutput {
            color: reindex(color),
            alpha: alpha.map(reindex),
            colorspace: graph.output.colorspace,
        },
    })
}

/// By scene index: the nodes the output reads, directly or through others.
fn read_by_output<'p>(graph: &Graph, output: impl Iterator<Item = &'p PlannedInput>) -> Vec<bool> {
    let mut read = vec![false; graph.nodes.len()];
    let mut unvisited: Vec<usize> = output.filter_map(PlannedInput::linked_node).collect();
    while let Some(node) = unvisited.pop() {
        if !std::mem::replace(&mut read[node], true) {
            unvisited.extend(&graph.nodes[node].deps);
        }
    }
    read
}

/// Margins, consumers first: a node must produce what its readers need plus
/// their halo.
fn set_margins(nodes: &mut [PlannedNode]) {
    for consumer in (0..nodes.len()).rev() {
        let need = nodes[consumer].margin + nodes[consumer].halo();
        let sources: Vec<usize> = (nodes[consumer].inputs.iter())
            .filter_map(PlannedInput::linked_node)
            .collect();
        for node in sources {
            nodes[node].margin = nodes[node].margin.max(need);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::test_scenes::{registry, scene};
    use crate::{PlannedInput, compile};
    use std::path::Path;

    #[test]
    fn only_what_the_output_reads_is_planned_renumbered_with_margins() {
        let scene = scene(
            "[image]\nwidth = 8\nheight = 8\n\
             [nodes.unused]\ntype = \"constant\"\n[nodes.a]\ntype = \"constant\"\n\
             [nodes.b]\ntype = \"blur\"\nin = \"@a\"\nradius = 2\n\
             [nodes.c]\ntype = \"blur\"\nin = \"@b\"\nradius = 3\n[output]\ncolor = \"@c\"\n",
        );
        let plan =
            compile(&scene, &registry(), Path::new(".")).unwrap_or_else(|e| panic!("{:?}", e.0));
        let ids: Vec<&str> = plan.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        let margins: Vec<u32> = plan.nodes.iter().map(|n| n.margin).collect();
        // c is read as it is; b around c's halo (3); a around b's margin and halo.
        assert_eq!(margins, [5, 3, 0]);
        assert!(matches!(
            plan.nodes[1].inputs[0],
            PlannedInput::Link { node: 0, .. }
        ));
        assert!(matches!(
            plan.output.color,
            PlannedInput::Link { node: 2, .. }
        ));
    }
}
