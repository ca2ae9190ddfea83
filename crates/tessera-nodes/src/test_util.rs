//! Evaluating one node on one tile, for unit tests.

use std::path::Path;
use std::sync::Arc;
use tessera_core::{
    Buffer, BuildArgs, FrameInfo, NodeError, NodeKind, Rect, SampleFailures, SocketType, TileCtx,
    Value, ValueType,
};

/// A frame of `width` x `height` pixels, one sample each.
pub fn frame(width: u32, height: u32) -> FrameInfo {
    FrameInfo {
        width,
        height,
        samples: 1,
        seed: 0,
        frame: 0,
        time: 0.0,
        fps: 24.0,
    }
}

/// Builds `kind` with its default uniforms overridden by `uniforms`, then
/// evaluates `rect` of `frame` with `inputs` (the varying inputs, in order).
pub fn eval_node(
    kind: &Arc<dyn NodeKind>,
    generic: Option<ValueType>,
    uniforms: &[(&str, Value)],
    frame: &FrameInfo,
    rect: Rect,
    inputs: &[Buffer],
) -> Result<Vec<Buffer>, NodeError> {
    let spec = kind.spec();
    let all_uniforms: Vec<(String, Value)> = spec
        .inputs
        .iter()
        .filter(|i| !i.is_varying())
        .map(|i| {
            let value = uniforms
                .iter()
                .find(|(n, _)| *n == i.name)
                .map_or(i.default.clone(), |(_, v)| v.clone());
            (i.name.clone(), value)
        })
        .collect();
    let args = BuildArgs {
        node_id: "test",
        generic,
        uniforms: &all_uniforms,
        base_dir: Path::new(env!("CARGO_MANIFEST_DIR")),
    };
    let node = kind.build(&args).expect("node builds");
    let ctx = TileCtx {
        frame,
        rect,
        tile_index: 0,
        node_id: "test",
        node_hash: 0,
        failures: &SampleFailures::default(),
        share: None,
    };
    let mut outputs: Vec<Buffer> = spec
        .outputs
        .iter()
        .map(|o| {
            let ty = match o.ty {
                SocketType::Fixed(t) => t,
                SocketType::Generic => generic.expect("generic node"),
            };
            Buffer::new(ty.channels().expect("varying output"), ctx.len())
        })
        .collect();
    let refs: Vec<&Buffer> = inputs.iter().collect();
    node.eval_tile(&ctx, &refs, &mut outputs)?;
    Ok(outputs)
}

/// Evaluates a node with one-sample inputs on a single pixel.
pub fn eval_one(
    kind: &Arc<dyn NodeKind>,
    generic: Option<ValueType>,
    inputs: &[&[f32]],
) -> Vec<Vec<f32>> {
    let buffers: Vec<Buffer> = inputs.iter().map(|s| Buffer::filled(s, 1)).collect();
    let frame = frame(1, 1);
    eval_node(kind, generic, &[], &frame, Rect::new(0, 0, 1, 1), &buffers)
        .expect("node evaluates")
        .into_iter()
        .map(Buffer::into_vec)
        .collect()
}

pub fn assert_close(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= 1e-6, "{actual:?} vs {expected:?}");
    }
}
