//! Compiles a [`SceneDesc`] against a [`Registry`] into a [`Plan`]: every
//! node type, input, link and constant checked, types resolved, nodes built
//! and topologically ordered, with the margin each node must produce around
//! a tile so that neighbourhood nodes (a blur) can read their halo.
//!
//! The compiler never names a concrete node: everything it knows about a
//! node comes from its [`tessera_core::NodeSpec`].

// A Diagnostic is large, but it is built only on the cold path (once per
// mistake in a scene); boxing it everywhere would only add noise.
#![allow(clippy::result_large_err)]

mod compile;
mod constants;
mod image;
mod order;
mod suggest;

pub use compile::compile;
pub use image::{ImageSettings, MAX_PIXELS, MAX_SAMPLES, image_settings};

use tessera_core::{GeomProp, Node, ValueType};

/// A compiled scene, ready to render.
pub struct Plan {
    pub image: ImageSettings,
    /// The nodes the output depends on, each after everything it reads.
    pub nodes: Vec<PlannedNode>,
    pub output: PlannedOutput,
}

/// One node of a plan.
pub struct PlannedNode {
    pub id: String,
    pub type_name: String,
    pub node: Box<dyn Node>,
    /// The node's varying inputs, in spec order.
    pub inputs: Vec<PlannedInput>,
    /// The resolved type of each output, in spec order.
    pub outputs: Vec<ValueType>,
    /// Pixels to produce around each tile, for the halos of the nodes downstream.
    pub margin: u32,
}

impl PlannedNode {
    /// Pixels this node reads around what it produces.
    pub fn halo(&self) -> u32 {
        self.node.halo()
    }
}

/// Where a varying input's samples come from.
#[derive(Clone, Debug, PartialEq)]
pub enum PlannedInput {
    /// A constant, already converted to the input's type (its channels).
    Constant(Vec<f32>),
    /// A value the renderer computes per sample (an unlinked texcoord).
    Geometry(GeomProp),
    /// An output of an earlier node in the plan, converted from `from` to `to`.
    Link {
        node: usize,
        output: usize,
        from: ValueType,
        to: ValueType,
    },
}

impl PlannedInput {
    /// Channels of the value this input hands to its node.
    pub fn channels(&self) -> usize {
        match self {
            PlannedInput::Constant(c) => c.len(),
            PlannedInput::Geometry(g) => g.value_type().channels().expect("varying type"),
            PlannedInput::Link { to, .. } => to.channels().expect("varying type"),
        }
    }

    /// The index of the node a link reads; None for a constant or geometry.
    pub fn linked_node(&self) -> Option<usize> {
        match self {
            PlannedInput::Link { node, .. } => Some(*node),
            _ => None,
        }
    }
}

/// What is written to the image: an RGBA colour and an optional alpha.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedOutput {
    /// Converted to color4 (a float or color3 gets alpha 1).
    pub color: PlannedInput,
    /// Replaces the colour's alpha when given.
    pub alpha: Option<PlannedInput>,
    /// The colour space the scene asks the image to be written in
    /// (`[output] colorspace`); None leaves it to the file's format.
    pub colorspace: Option<tessera_core::ColorSpace>,
}

impl PlannedOutput {
    /// The colour, then the alpha if any.
    pub fn inputs(&self) -> impl Iterator<Item = &PlannedInput> {
        std::iter::once(&self.color).chain(&self.alpha)
    }
}
