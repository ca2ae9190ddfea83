//! Evaluating the plan over one tile.

use crate::{NodeFailure, RenderError};
use std::borrow::Cow;
use tessera_core::hash::hash_str;
use tessera_core::{Buffer, FrameInfo, GeomProp, Rect, SampleFailures, TileCtx, ValueType};
use tessera_graph::{Plan, PlannedInput};

/// The colour of a sample a node failed on and painted (`--on-error=color`).
pub const FAILURE_COLOR: [f32; 4] = [1.0, 0.0, 1.0, 1.0];

/// A rendered tile.
#[derive(Debug, Clone, PartialEq)]
pub struct TilePixels {
    /// RGBA, row-major.
    pub pixels: Vec<f32>,
    /// Samples of this tile painted [`FAILURE_COLOR`] because a node failed on them.
    pub failed_samples: usize,
}

/// Renders one tile: every node of the plan over the tile grown by the
/// node's margin, then the output averaged over each pixel's samples.
pub fn render_tile(
    plan: &Plan,
    frame: &FrameInfo,
    tile_index: usize,
    tile: Rect,
) -> Result<TilePixels, RenderError> {
    let failures = SampleFailures::default();
    let mut results: Vec<(Rect, Vec<Buffer>)> = Vec::with_capacity(plan.nodes.len());
    for planned in &plan.nodes {
        let rect = tile.expand(planned.margin);
        let input_rect = rect.expand(planned.halo());
        let ctx = TileCtx {
            frame,
            rect,
            tile_index,
            node_id: &planned.id,
            node_hash: hash_str(&planned.id),
            failures: &failures,
        };
        let inputs: Vec<Cow<Buffer>> = planned
            .inputs
            .iter()
            .map(|input| input_buffer(input, frame, input_rect, &results))
            .collect();
        let input_refs: Vec<&Buffer> = inputs.iter().map(|b| b.as_ref()).collect();
        let mut outputs: Vec<Buffer> = planned
            .outputs
            .iter()
            .map(|ty| Buffer::new(ty.channels().expect("varying output"), ctx.len()))
            .collect();
        planned
            .node
            .eval_tile(&ctx, &input_refs, &mut outputs)
            .map_err(|error| {
                RenderError::Node(Box::new(NodeFailure {
                    node: planned.id.clone(),
                    type_name: planned.type_name.clone(),
                    tile: tile_index,
                    rect,
                    error,
                }))
            })?;
        results.push((rect, outputs));
    }
    let mut color = input_buffer(&plan.output.color, frame, tile, &results).into_owned();
    let mut alpha = plan
        .output
        .alpha
        .as_ref()
        .map(|a| input_buffer(a, frame, tile, &results).into_owned());
    let samples = frame.samples as usize;
    let mut failed_samples = 0;
    for (x, y, s) in failures.take() {
        let inside = x >= tile.x
            && y >= tile.y
            && x < tile.x + tile.width as i32
            && y < tile.y + tile.height as i32;
        if !inside {
            continue; // in a halo: the tile that owns the pixel paints it
        }
        let i = ((y - tile.y) as usize * tile.width as usize + (x - tile.x) as usize) * samples
            + s as usize;
        color.sample_mut(i).copy_from_slice(&FAILURE_COLOR);
        if let Some(alpha) = &mut alpha {
            alpha.sample_mut(i)[0] = FAILURE_COLOR[3];
        }
        failed_samples += 1;
    }
    Ok(TilePixels {
        pixels: resolve_pixels(&color, alpha.as_ref(), samples),
        failed_samples,
    })
}

/// The samples an input hands its node over `rect`.
fn input_buffer<'a>(
    input: &PlannedInput,
    frame: &FrameInfo,
    rect: Rect,
    results: &'a [(Rect, Vec<Buffer>)],
) -> Cow<'a, Buffer> {
    let samples = frame.samples as usize;
    let len = rect.area() * samples;
    match input {
        PlannedInput::Constant(value) => Cow::Owned(Buffer::filled(value, len)),
        PlannedInput::Geometry(prop) => Cow::Owned(geometry(*prop, frame, rect)),
        PlannedInput::Link {
            node,
            output,
            from,
            to,
        } => {
            let (source_rect, outputs) = &results[*node];
            let source = &outputs[*output];
            let cropped = if *source_rect == rect {
                Cow::Borrowed(source)
            } else {
                Cow::Owned(crop(source, *source_rect, rect, samples))
            };
            if from == to {
                cropped
            } else {
                Cow::Owned(convert(&cropped, *from, *to))
            }
        }
    }
}

fn geometry(prop: GeomProp, frame: &FrameInfo, rect: Rect) -> Buffer {
    let ctx = TileCtx {
        frame,
        rect,
        tile_index: 0,
        node_id: "",
        node_hash: 0,
        failures: &SampleFailures::default(),
    };
    let channels = prop.value_type().channels().expect("varying");
    let mut buffer = Buffer::new(channels, ctx.len());
    for (i, sample) in buffer.data_mut().chunks_exact_mut(channels).enumerate() {
        let uv = ctx.texcoord(i);
        sample[0] = uv.x;
        sample[1] = uv.y;
    }
    buffer
}

/// The part of `source` (covering `from`) that covers `to`.
fn crop(source: &Buffer, from: Rect, to: Rect, samples: usize) -> Buffer {
    debug_assert!(from.contains_rect(&to));
    let pixel = source.channels() * samples;
    let row = to.width as usize * pixel;
    let mut data = Vec::with_capacity(to.height as usize * row);
    for y in 0..to.height as usize {
        let sy = (to.y - from.y) as usize + y;
        let sx = (to.x - from.x) as usize;
        let start = (sy * from.width as usize + sx) * pixel;
        data.extend_from_slice(&source.data()[start..start + row]);
    }
    Buffer::from_vec(source.channels(), data)
}

fn convert(source: &Buffer, from: ValueType, to: ValueType) -> Buffer {
    let channels = to.channels().expect("varying");
    let mut out = Buffer::new(channels, source.len());
    for (src, dst) in source
        .data()
        .chunks_exact(source.channels())
        .zip(out.data_mut().chunks_exact_mut(channels))
    {
        from.convert_sample(to, src, dst);
    }
    out
}

/// Averages each pixel's samples into RGBA; `alpha` replaces the colour's alpha.
fn resolve_pixels(color: &Buffer, alpha: Option<&Buffer>, samples: usize) -> Vec<f32> {
    let pixels = color.len() / samples;
    let mut out = Vec::with_capacity(pixels * 4);
    for p in 0..pixels {
        let mut sum = [0.0f32; 4];
        let mut alpha_sum = 0.0f32;
        for s in 0..samples {
            let i = p * samples + s;
            for (channel, value) in sum.iter_mut().zip(color.sample(i)) {
                *channel += value;
            }
            if let Some(alpha) = alpha {
                alpha_sum += alpha.sample(i)[0];
            }
        }
        if alpha.is_some() {
            sum[3] = alpha_sum;
        }
        out.extend(sum.map(|v| v / samples as f32));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_takes_the_inner_rectangle() {
        // A 4x3 one-channel, one-sample buffer holding x + 10 * y.
        let from = Rect::new(-1, -1, 4, 3);
        let data: Vec<f32> = (0..3)
            .flat_map(|y| (0..4).map(move |x| (x + 10 * y) as f32))
            .collect();
        let cropped = crop(&Buffer::from_vec(1, data), from, Rect::new(0, 0, 2, 1), 1);
        assert_eq!(cropped.data(), &[11.0, 12.0]);
    }

    #[test]
    fn samples_average_and_alpha_replaces() {
        let color = Buffer::from_vec(4, vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
        assert_eq!(resolve_pixels(&color, None, 2), [0.5, 0.0, 0.5, 1.0]);
        let alpha = Buffer::from_vec(1, vec![0.0, 0.5]);
        assert_eq!(
            resolve_pixels(&color, Some(&alpha), 2),
            [0.5, 0.0, 0.5, 0.25]
        );
    }
}
