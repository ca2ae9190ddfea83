//! The vocabulary every Tessera crate shares: value types, pixel buffers, tile
//! context, the [`Node`] trait, node specifications and the [`Registry`].
//!
//! This crate knows no concrete node, no thread pool and no Python.

mod buffer;
mod color;
mod cores;
pub mod hash;
mod node;
mod paths;
mod pixels;
mod registry;
mod tile;
mod value;
mod words;

pub use buffer::{Buffer, BufferPool};
pub use color::ColorSpace;
pub use cores::{CoreHeld, Cores};
pub use node::{BuildArgs, BuildError, Evaluation, Node, NodeError, NodeKind, ScriptLine};
pub use paths::display_path;
pub use pixels::{Collected, PixelLayout, RowSink, SinkFailed};
pub use registry::{Registry, RegistryError};
pub use tile::{FrameInfo, Rect, SampleFailures, TileCtx, sample_offset};
pub use value::{
    GeomProp, InputSpec, NodeSpec, OutputSpec, PlaneSource, RampInterpolation, RampStop,
    SocketType, Value, ValueType,
};
pub use words::counted;
