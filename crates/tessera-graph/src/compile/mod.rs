//! SceneDesc + Registry -> Plan, in named passes, each with its own result
//! type and unit tests:
//!
//! 1. [`kinds`]: each node's type (specialised on its own constants);
//! 2. [`links`]: parameters matched to inputs, links to nodes and outputs;
//! 3. [`cycles`]: a dependency order, or the cycle that prevents one;
//! 4. [`types`]: generic types, conversions, constants read in their types;
//! 5. [`plan`]: only what the output reads, built, reindexed, with margins.
//!
//! Passes 1, 2, 4 and the `[image]` table report every mistake they find
//! (pass 4 but those of nodes reading a node with one); a later pass runs
//! only on a scene the earlier ones found no mistake in.

mod cycles;
mod kinds;
mod links;
mod plan;
mod types;

use crate::Plan;
use crate::image::image_settings;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tessera_core::{ColorSpace, NodeKind, Registry};
use tessera_scene::{NodeDesc, Param, SceneDesc, SceneErrors, Section};

/// Pass 1's result, by scene index: each node's kind, None where it has
/// none (reported).
type Kinds = Vec<Option<Arc<dyn NodeKind>>>;

/// A scene node whose type is known, with each parameter matched to an input.
struct Resolved<'s> {
    desc: &'s NodeDesc,
    kind: Arc<dyn NodeKind>,
    /// Per spec input, the parameter that sets it, if any.
    params: Vec<Option<&'s Param>>,
    /// Scene indices of the nodes this one links to.
    deps: Vec<usize>,
}

/// The `[output]` table, its links checked: (scene index, output index).
struct ResolvedOutput<'s> {
    section: &'s Section,
    color: Option<(usize, usize)>,
    alpha: Option<(usize, usize)>,
    /// The colour space the scene asks the image to be written in.
    colorspace: Option<ColorSpace>,
}

/// Pass 2's result: every node of the scene resolved, and the output.
struct Graph<'s> {
    /// By scene index.
    nodes: Vec<Resolved<'s>>,
    /// Scene index by node id.
    index: HashMap<&'s str, usize>,
    output: ResolvedOutput<'s>,
}

/// Checks and builds a scene. Reports every mistake it can find in one go.
pub fn compile(
    scene: &SceneDesc,
    registry: &Registry,
    base_dir: &Path,
) -> Result<Plan, SceneErrors> {
    let mut errors = Vec::new();
    let image = image_settings(scene, &mut errors);
    let kinds = kinds::resolve_kinds(scene, registry, base_dir, &mut errors);
    let graph = links::resolve_links(scene, &kinds, &mut errors);
    let (Some(image), Some(graph), true) = (image, graph, errors.is_empty()) else {
        return Err(SceneErrors(errors));
    };
    let order = cycles::order(&graph)?;
    let typed = types::resolve_types(&graph, &order)?;
    let output = types::plan_output(&graph, &typed)?;
    plan::plan(&graph, typed, output, image, base_dir)
}

#[cfg(test)]
mod test_scenes {
    //! Scenes for the passes' unit tests, over the built-in nodes.

    use tessera_core::Registry;
    use tessera_scene::SceneDesc;

    pub fn scene(text: &str) -> SceneDesc {
        tessera_scene::parse_scene(text).expect("the test scene parses")
    }

    pub fn registry() -> Registry {
        tessera_nodes::registry()
    }

    /// The messages of `errors`, in order.
    pub fn messages(errors: &[tessera_scene::Diagnostic]) -> Vec<&str> {
        errors.iter().map(|d| d.message.as_str()).collect()
    }
}
