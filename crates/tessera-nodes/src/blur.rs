//! `blur`: a Gaussian blur, the one neighbourhood node.

use crate::kind::kind;
use std::sync::Arc;
use tessera_core::{
    Buffer, BuildArgs, BuildError, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec,
    SocketType, TileCtx, Value, ValueType,
};

/// The largest radius, in pixels.
const MAX_RADIUS: i64 = 64;

/// The normalised Gaussian weights for offsets -radius..=radius, with
/// sigma = radius / 2, truncated at the radius. Radius 0 is the single
/// weight 1. Symmetric exactly: weight(-d) and weight(d) are computed alike.
fn gaussian_kernel(radius: usize) -> Vec<f32> {
    if radius == 0 {
        return vec![1.0];
    }
    let sigma = radius as f64 / 2.0;
    let r = radius as i64;
    let raw: Vec<f64> = (-r..=r)
        .map(|d| (-((d * d) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.iter().map(|w| (w / sum) as f32).collect()
}

/// A separable Gaussian blur over pixels: a horizontal pass over the rows of
/// the grown input, then a vertical pass. Sample s of a pixel is blurred only
/// with sample s of its neighbours. Each output value is summed over the
/// kernel in the same order wherever its tile lies, so the result does not
/// depend on the tiling.
struct Blur {
    radius: usize,
    weights: Vec<f32>,
}

impl Node for Blur {
    fn halo(&self) -> u32 {
        self.radius as u32
    }

    fn eval_tile(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let input = inputs[0];
        let out = &mut outputs[0];
        let r = self.radius;
        let (width, height) = (ctx.rect.width as usize, ctx.rect.height as usize);
        let (in_width, in_height) = (width + 2 * r, height + 2 * r);
        // Floats per pixel in a plane: its samples.
        let stride = ctx.frame.samples as usize;
        if input.channels() != out.channels()
            || input.len() != in_width * in_height * stride
            || out.len() != width * height * stride
        {
            return Err(NodeError::new(format!(
                "blur: input of {} samples for a {width}x{height} tile with radius {r} \
                 and an output of {} samples",
                input.len(),
                out.len()
            )));
        }
        if r == 0 {
            out.data_mut().copy_from_slice(input.data());
            return Ok(());
        }
        let row_len = width * stride;
        let in_row_len = in_width * stride;
        let mut rows = vec![0.0f32; in_height * row_len];
        for channel in 0..input.channels() {
            // Horizontal: every input row, narrowed to the tile's columns.
            rows.fill(0.0);
            for (dst, src) in rows
                .chunks_exact_mut(row_len)
                .zip(input.plane(channel).chunks_exact(in_row_len))
            {
                for (k, &w) in self.weights.iter().enumerate() {
                    let shifted = &src[k * stride..k * stride + row_len];
                    for (d, &v) in dst.iter_mut().zip(shifted) {
                        *d += w * v;
                    }
                }
            }

            // Vertical: each output row from the 2r + 1 rows around it.
            let plane = out.plane_mut(channel);
            for (y, dst) in plane.chunks_exact_mut(row_len).enumerate() {
                dst.fill(0.0);
                for (k, &w) in self.weights.iter().enumerate() {
                    let src = &rows[(y + k) * row_len..(y + k + 1) * row_len];
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d += w * v;
                    }
                }
            }
        }
        Ok(())
    }
}

fn build_blur(args: &BuildArgs) -> Result<Box<dyn Node>, BuildError> {
    let radius = args.integer("radius");
    if !(0..=MAX_RADIUS).contains(&radius) {
        return Err(BuildError::at_input(
            "radius",
            format!("radius {radius} is outside 0 to {MAX_RADIUS}"),
        ));
    }
    let radius = radius as usize;
    Ok(Box::new(Blur {
        radius,
        weights: gaussian_kernel(radius),
    }))
}

/// A Gaussian blur (Blender's Blur node with a Gaussian filter).
pub fn blur() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "blur",
        "a Gaussian blur of its input over neighbouring pixels: sigma = radius / 2, the kernel \
         cut at the radius and normalised to sum 1, applied across then down; each sample of a \
         pixel blurs with the same sample of the neighbouring pixels. Beyond the image's edge \
         the input is evaluated as anywhere else. Radius 0 copies the input",
    )
    .generic_over(&ValueType::VARYING)
    .input(InputSpec::generic("in", 0.0, "the value to blur"))
    .input(
        InputSpec::fixed(
            "radius",
            ValueType::Integer,
            Value::Integer(2),
            "the blur radius in pixels",
        )
        .range(0.0, MAX_RADIUS as f64),
    )
    .output(OutputSpec::new(
        "out",
        SocketType::Generic,
        "the blurred value",
    ));
    kind(spec, build_blur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{eval_node, frame};
    use tessera_core::{FrameInfo, Rect};

    fn run(ty: ValueType, radius: i64, frame: &FrameInfo, rect: Rect, input: Buffer) -> Vec<f32> {
        eval_node(
            &blur(),
            Some(ty),
            &[("radius", Value::Integer(radius))],
            frame,
            rect,
            &[input],
        )
        .expect("blur evaluates")
        .remove(0)
        .to_interleaved()
    }

    /// The input of a tile: `f(x, y, sample, channel)` over `rect` grown by
    /// `radius`.
    fn grown_input(
        rect: Rect,
        radius: u32,
        samples: u32,
        channels: usize,
        f: impl Fn(i32, i32, u32, usize) -> f32,
    ) -> Buffer {
        let grown = rect.expand(radius);
        let mut data = Vec::new();
        for y in grown.y..grown.y + grown.height as i32 {
            for x in grown.x..grown.x + grown.width as i32 {
                for s in 0..samples {
                    for c in 0..channels {
                        data.push(f(x, y, s, c));
                    }
                }
            }
        }
        Buffer::from_interleaved(channels, &data)
    }

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        for radius in [1, 2, 5, 64] {
            let k = gaussian_kernel(radius);
            assert_eq!(k.len(), 2 * radius + 1);
            let sum: f32 = k.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "radius {radius}: sum {sum}");
            for d in 0..radius {
                assert_eq!(k[d], k[2 * radius - d]);
                assert!(k[d] < k[d + 1]);
            }
        }
        assert_eq!(gaussian_kernel(0), [1.0]);
    }

    #[test]
    fn constant_input_stays_constant() {
        let f = frame(8, 8);
        let rect = Rect::new(1, 2, 5, 4);
        let value = [0.25, -3.0, 7.5];
        let input = grown_input(rect, 3, 1, 3, |_, _, _, c| value[c]);
        let out = run(ValueType::Color3, 3, &f, rect, input);
        assert_eq!(out.len(), 5 * 4 * 3);
        for px in out.chunks_exact(3) {
            for (v, e) in px.iter().zip(value) {
                assert!((v - e).abs() <= 1e-5 * e.abs().max(1.0), "{px:?}");
            }
        }
    }

    #[test]
    fn an_impulse_spreads_symmetrically_and_sums_to_one() {
        let f = frame(9, 9);
        let rect = Rect::new(0, 0, 9, 9);
        let radius = 2;
        let input = grown_input(
            rect,
            radius,
            1,
            1,
            |x, y, _, _| {
                if (x, y) == (4, 4) { 1.0 } else { 0.0 }
            },
        );
        let out = run(ValueType::Float, radius as i64, &f, rect, input);
        let at = |x: i32, y: i32| out[(y * 9 + x) as usize];
        let k = gaussian_kernel(radius as usize);
        let mut sum = 0.0;
        for y in 0..9 {
            for x in 0..9 {
                let (dx, dy) = (x - 4, y - 4);
                let v = at(x, y);
                sum += v;
                if dx.abs() > 2 || dy.abs() > 2 {
                    assert_eq!(v, 0.0, "({x}, {y}) is beyond the radius");
                    continue;
                }
                assert_eq!(v, at(4 - dx, y));
                assert_eq!(v, at(x, 4 - dy));
                assert_eq!(v, at(4 + dy, 4 + dx), "symmetric across the diagonal");
                assert_eq!(v, k[(dx + 2) as usize] * k[(dy + 2) as usize]);
            }
        }
        assert!((sum - 1.0).abs() < 1e-5, "sum {sum}");
        assert!(at(4, 4) > at(5, 4) && at(5, 4) > at(6, 4) && at(6, 4) > 0.0);
    }

    #[test]
    fn samples_blur_only_with_the_same_sample() {
        let mut f = frame(5, 5);
        f.samples = 3;
        let rect = Rect::new(0, 0, 5, 5);
        // Sample 1 of pixel (2, 2) is 1, everything else 0.
        let input = grown_input(rect, 1, 3, 2, |x, y, s, _| {
            if (x, y, s) == (2, 2, 1) { 1.0 } else { 0.0 }
        });
        let out = run(ValueType::Vector2, 1, &f, rect, input);
        let sum_of = |sample: usize| -> f32 {
            out.chunks_exact(2)
                .enumerate()
                .filter(|(i, _)| i % 3 == sample)
                .map(|(_, v)| v[0] + v[1])
                .sum()
        };
        assert_eq!(sum_of(0), 0.0);
        assert_eq!(sum_of(2), 0.0);
        assert!((sum_of(1) - 2.0).abs() < 1e-5);
    }

    #[test]
    fn radius_zero_copies() {
        let f = frame(4, 4);
        let rect = Rect::new(0, 0, 4, 3);
        let input = grown_input(rect, 0, 1, 4, |x, y, _, c| {
            (x * 10 + y) as f32 + c as f32 * 0.1
        });
        let expected = input.to_interleaved();
        assert_eq!(run(ValueType::Color4, 0, &f, rect, input), expected);
    }

    #[test]
    fn output_does_not_depend_on_the_tiling() {
        // An arbitrary function of the pixel, the sample and the channel.
        let value = |x: i32, y: i32, s: u32, c: usize| {
            ((x * 7 + y * 13) as f32 * 0.37 + s as f32 * 1.9 + c as f32 * 0.61).sin() * 3.0 + 0.1
        };
        let mut f = frame(12, 12);
        f.samples = 2;
        let radius = 3;
        let channels = 3;
        let stride = 2 * channels;
        let whole_rect = Rect::new(0, 0, 12, 12);
        let whole = run(
            ValueType::Color3,
            radius as i64,
            &f,
            whole_rect,
            grown_input(whole_rect, radius, 2, channels, value),
        );
        let mut tiled = vec![f32::NAN; whole.len()];
        for (tx, ty) in [(0, 0), (6, 0), (0, 6), (6, 6)] {
            let rect = Rect::new(tx, ty, 6, 6);
            let tile = run(
                ValueType::Color3,
                radius as i64,
                &f,
                rect,
                grown_input(rect, radius, 2, channels, value),
            );
            for (row, chunk) in tile.chunks_exact(6 * stride).enumerate() {
                let start = ((ty as usize + row) * 12 + tx as usize) * stride;
                tiled[start..start + 6 * stride].copy_from_slice(chunk);
            }
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&whole), bits(&tiled));
    }

    #[test]
    fn wrong_buffer_sizes_are_errors_not_panics() {
        let f = frame(4, 4);
        let result = eval_node(
            &blur(),
            Some(ValueType::Float),
            &[],
            &f,
            Rect::new(0, 0, 4, 4),
            &[Buffer::new(1, 3)],
        );
        assert!(result.is_err());
    }
}
