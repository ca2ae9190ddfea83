//! MaterialX documents (`.mtlx`) as Tessera scenes.
//!
//! [`translate`] reads a document with a real XML parser (roxmltree), picks
//! the output to render (a node graph's, by default the first), and turns it
//! and every node it reads into a [`tessera_scene::SceneDesc`] whose spans
//! point into the document, so that the graph compiler's errors (an unknown
//! input, a type that does not connect, a cycle) name the `.mtlx` file's
//! line and column. Each MaterialX node becomes the Tessera node of the same
//! name ([`MATERIALX_NODES`]), its `type` the node's `value_type`.

// A Diagnostic is large, but it is built only on the cold path (once per
// mistake in a document), as in tessera-scene.
#![allow(clippy::result_large_err)]

mod document;
mod translate;

pub use translate::{Choice, Translated, translate};

use std::sync::Arc;
use tessera_core::{NodeKind, Registry, SocketType};

/// The MaterialX standard nodes Tessera renders, each by the Tessera node of
/// the same name, with MaterialX's inputs, defaults and semantics.
pub const MATERIALX_NODES: &[&str] = &[
    "texcoord",
    "position",
    "time",
    "constant",
    "place2d",
    "checkerboard",
    "ramplr",
    "ramptb",
    "noise2d",
    "noise3d",
    "fractal2d",
    "cellnoise2d",
    "worleynoise2d",
    "image",
    "add",
    "subtract",
    "multiply",
    "divide",
    "clamp",
    "remap",
    "smoothstep",
    "mix",
    "modulo",
    "fract",
    "invert",
    "absval",
    "sign",
    "floor",
    "ceil",
    "round",
    "power",
    "safepower",
    "sqrt",
    "ln",
    "exp",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan2",
    "min",
    "max",
    "contrast",
    "ifgreater",
    "ifgreatereq",
    "ifequal",
    "plus",
    "minus",
    "difference",
    "screen",
    "overlay",
    "burn",
    "dodge",
    "inside",
    "outside",
    "hsvadjust",
    "luminance",
    "over",
];

/// The Tessera node that renders MaterialX node `category`, if any.
pub fn supported_kind<'r>(registry: &'r Registry, category: &str) -> Option<&'r Arc<dyn NodeKind>> {
    MATERIALX_NODES
        .contains(&category)
        .then(|| registry.get(category))
        .flatten()
}

/// One line per supported MaterialX node: its name and the types of its
/// output (its signatures: `ND_<name>_<type>`), for `tessera nodes
/// --materialx`.
pub fn signatures(registry: &Registry) -> Vec<(String, Vec<String>)> {
    MATERIALX_NODES
        .iter()
        .filter_map(|&name| {
            let spec = registry.get(name)?.spec();
            let types = match spec.outputs.first().map(|o| o.ty) {
                Some(SocketType::Fixed(ty)) => vec![ty.name().to_string()],
                _ => spec
                    .generic_types
                    .iter()
                    .map(|t| t.name().to_string())
                    .collect(),
            };
            Some((name.to_string(), types))
        })
        .collect()
}
