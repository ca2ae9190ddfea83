//! `checkerboard`, `ramplr`, `ramptb` (MaterialX standard nodes).

use crate::float::{floor, lerp, lerp_planes_by};
use crate::kind::kind;
use crate::math::{clamp_of, smoothstep_of};
use glam::{Vec2, Vec3};
use multiversion::multiversion;
use multiversion::target::target_cfg_f;
use std::sync::Arc;
use tessera_core::{
    Buffer, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType, TileCtx, Value,
    ValueType,
};

/// Which cell each sample falls in, as 1 for odd cells and 0 for even:
/// `modulo(floor(u * tile_u - offset_u) + floor(v * tile_v - offset_v), 2)`,
/// with MaterialX's `modulo(a, b) = a - b * floor(a / b)`.
#[multiversion(targets("x86_64+avx2"))]
fn cell_parity(odd: &mut [f32], [u, v]: [&[f32]; 2], tiling: [&[f32]; 2], offset: [&[f32]; 2]) {
    // The AVX2 clone floors in one instruction (SSE4.1's `roundps`, which
    // AVX2 implies); the baseline gets the portable floor. Same bits.
    let floor = |x: f32| {
        if target_cfg_f!(target_feature = "avx2") {
            x.floor()
        } else {
            floor(x)
        }
    };
    let across = u.iter().zip(tiling[0]).zip(offset[0]);
    let up = v.iter().zip(tiling[1]).zip(offset[1]);
    for (odd, (((u, tile_u), offset_u), ((v, tile_v), offset_v))) in
        odd.iter_mut().zip(across.zip(up))
    {
        let cells = floor(u * tile_u - offset_u) + floor(v * tile_v - offset_v);
        *odd = cells - 2.0 * floor(cells / 2.0);
    }
}

struct Checkerboard;

impl Node for Checkerboard {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [color1, color2, tiling, offset, texcoord] =
            [inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]];
        // MaterialX's NG_checkerboard: mix(color2, color1, odd).
        lerp_planes_by(&mut outputs[0], color2, color1, |odd| {
            cell_parity(odd, texcoord.planes(), tiling.planes(), offset.planes());
        });
        Ok(())
    }
}

pub fn checkerboard() -> Arc<dyn NodeKind> {
    let color = |name: &str, v: f32, doc: &str| {
        InputSpec::fixed(name, ValueType::Color3, Value::Color3(Vec3::splat(v)), doc)
    };
    let vector = |name: &str, v: f32, doc: &str| {
        InputSpec::fixed(
            name,
            ValueType::Vector2,
            Value::Vector2(Vec2::splat(v)),
            doc,
        )
    };
    let spec = NodeSpec::new(
        "checkerboard",
        "a 2-colour checkerboard: cell (i, j) of texcoord * uvtiling - uvoffset has color2 when i + j is even (the cell at the origin) and color1 when odd, as in MaterialX",
    )
    .input(color("color1", 1.0, "colour of the odd cells"))
    .input(color("color2", 0.0, "colour of the even cells (the cell at the origin)"))
    .input(vector("uvtiling", 8.0, "cells across u and v"))
    .input(vector("uvoffset", 0.0, "shift of the pattern, in cells"))
    .input(InputSpec::texcoord())
    .output(OutputSpec::new("out", SocketType::Fixed(ValueType::Color3), "the pattern"));
    kind(spec, |_| Ok(Box::new(Checkerboard)))
}

/// MaterialX's `ramp4`, its graph's (NG_ramp4) operations in their order:
/// the texture coordinate clamped to 0..1, the top and bottom corners
/// mixed across by u, then the two by v.
struct Ramp4;

impl Node for Ramp4 {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [top_left, top_right, bottom_left, bottom_right, texcoord] =
            [inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]];
        let out = &mut outputs[0];
        for c in 0..out.channels() {
            let corners = [top_left, top_right, bottom_left, bottom_right].map(|b| b.plane(c));
            ramp4_plane(out.plane_mut(c), corners, texcoord.planes());
        }
        Ok(())
    }
}

#[multiversion(targets("x86_64+avx2"))]
fn ramp4_plane(out: &mut [f32], corners: [&[f32]; 4], [u, v]: [&[f32]; 2]) {
    let [top_left, top_right, bottom_left, bottom_right] = corners;
    for (k, out) in out.iter_mut().enumerate() {
        let across = clamp_of(u[k], 0.0, 1.0);
        let up = clamp_of(v[k], 0.0, 1.0);
        let top = lerp(top_left[k], top_right[k], across);
        let bottom = lerp(bottom_left[k], bottom_right[k], across);
        *out = lerp(bottom, top, up);
    }
}

pub fn ramp4() -> Arc<dyn NodeKind> {
    let corner = |name: &str, doc: &str| InputSpec::generic(name, 0.0, doc);
    let spec = NodeSpec::new(
        "ramp4",
        "a bilinear blend of four corner values over the texture coordinate, clamped to 0..1 \
         (MaterialX's ramp4)",
    )
    .generic_over(&ValueType::VARYING)
    .input(corner("valuetl", "value at the top left, (0, 1)"))
    .input(corner("valuetr", "value at the top right, (1, 1)"))
    .input(corner("valuebl", "value at the bottom left, (0, 0)"))
    .input(corner("valuebr", "value at the bottom right, (1, 0)"))
    .input(InputSpec::texcoord())
    .output(OutputSpec::new("out", SocketType::Generic, "the blend"));
    kind(spec, |_| Ok(Box::new(Ramp4)))
}

/// `mix(first, second, clamp(texcoord[axis], 0, 1))`.
struct Ramp {
    axis: usize,
}

impl Node for Ramp {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [first, second, texcoord] = [inputs[0], inputs[1], inputs[2]];
        lerp_planes_by(&mut outputs[0], first, second, |t| {
            for (t, coordinate) in t.iter_mut().zip(texcoord.plane(self.axis)) {
                *t = coordinate.clamp(0.0, 1.0);
            }
        });
        Ok(())
    }
}

fn ramp(
    name: &str,
    doc: &str,
    first: (&str, &str),
    second: (&str, &str),
    axis: usize,
) -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(name, doc)
        .generic_over(&ValueType::VARYING)
        .input(InputSpec::generic(first.0, 0.0, first.1))
        .input(InputSpec::generic(second.0, 0.0, second.1))
        .input(InputSpec::texcoord())
        .output(OutputSpec::new("out", SocketType::Generic, "the ramp"));
    kind(spec, move |_| Ok(Box::new(Ramp { axis })))
}

pub fn ramplr() -> Arc<dyn NodeKind> {
    ramp(
        "ramplr",
        "a linear ramp from valuel at u = 0 to valuer at u = 1",
        ("valuel", "value at the left edge"),
        ("valuer", "value at the right edge"),
        0,
    )
}

pub fn ramptb() -> Arc<dyn NodeKind> {
    ramp(
        "ramptb",
        "a linear ramp from valueb at v = 0 (bottom) to valuet at v = 1 (top)",
        ("valueb", "value at the bottom edge"),
        ("valuet", "value at the top edge"),
        1,
    )
}

/// MaterialX's splitlr and splittb: `mix(below, above, aastep(center,
/// texcoord[axis]))`, where aastep is a smoothstep as wide as the coordinate
/// changes across a pixel: its screen-space derivatives, which a GPU takes
/// between the pixels of a 2x2 quad, here the difference to the other pixel
/// of the quad in each direction (sample for sample), read from a one-pixel
/// halo. Where the coordinate does not change, the step is sharp.
struct Split {
    axis: usize,
    /// The indices of the inputs on either side of the split.
    below: usize,
    above: usize,
}

impl Node for Split {
    fn halo(&self) -> u32 {
        1
    }

    fn eval_tile(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [below, above, center, texcoord] =
            [inputs[self.below], inputs[self.above], inputs[2], inputs[3]];
        let rect = ctx.rect;
        let (width, height) = (rect.width as usize, rect.height as usize);
        let samples = ctx.frame.samples as usize;
        let grown_width = width + 2;
        let out = &mut outputs[0];
        if texcoord.len() != grown_width * (height + 2) * samples
            || out.len() != width * height * samples
        {
            return Err(NodeError::new(format!(
                "split: inputs of {} samples for a {width}x{height} tile with a one-pixel halo",
                texcoord.len()
            )));
        }
        let at = |x: usize, y: usize, s: usize| (y * grown_width + x) * samples + s;
        let coordinate = texcoord.plane(self.axis);
        let center = center.plane(0);
        // The difference to the quad's other pixel along one direction.
        let across = |here: usize, absolute: i32, next: usize, previous: usize| {
            if absolute.rem_euclid(2) == 0 {
                coordinate[next] - coordinate[here]
            } else {
                coordinate[here] - coordinate[previous]
            }
        };
        let mut index = 0;
        for y in 1..=height {
            for x in 1..=width {
                let (px, py) = (rect.x + x as i32 - 1, rect.y + y as i32 - 1);
                for s in 0..samples {
                    let here = at(x, y, s);
                    let dx = across(here, px, at(x + 1, y, s), at(x - 1, y, s));
                    let dy = across(here, py, at(x, y + 1, s), at(x, y - 1, s));
                    let half_width = (dx * dx + dy * dy).sqrt() * std::f32::consts::FRAC_1_SQRT_2;
                    let c = center[here];
                    let t = smoothstep_of(coordinate[here], c - half_width, c + half_width);
                    for channel in 0..out.channels() {
                        let (b, a) = (below.plane(channel)[here], above.plane(channel)[here]);
                        out.plane_mut(channel)[index] = lerp(b, a, t);
                    }
                    index += 1;
                }
            }
        }
        Ok(())
    }
}

fn split(
    name: &str,
    doc: &str,
    first: (&str, &str),
    second: (&str, &str),
    axis: usize,
    [below, above]: [usize; 2],
) -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(name, doc)
        .generic_over(&ValueType::VARYING)
        .input(InputSpec::generic(first.0, 0.0, first.1))
        .input(InputSpec::generic(second.0, 0.0, second.1))
        .input(InputSpec::fixed(
            "center",
            ValueType::Float,
            Value::Float(0.5),
            "where the split lies",
        ))
        .input(InputSpec::texcoord())
        .output(OutputSpec::new("out", SocketType::Generic, "the split"));
    kind(spec, move |_| Ok(Box::new(Split { axis, below, above })))
}

pub fn splitlr() -> Arc<dyn NodeKind> {
    split(
        "splitlr",
        "valuel left of u = center, valuer right of it, blended over a pixel's width \
         (MaterialX's antialiased step, from the change of u between neighbouring pixels)",
        ("valuel", "value on the left"),
        ("valuer", "value on the right"),
        0,
        [0, 1],
    )
}

pub fn splittb() -> Arc<dyn NodeKind> {
    split(
        "splittb",
        "valueb below v = center, valuet above it, blended over a pixel's height \
         (MaterialX's antialiased step, from the change of v between neighbouring pixels)",
        ("valuet", "value at the top"),
        ("valueb", "value at the bottom"),
        1,
        [1, 0],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::eval_one;

    /// splitlr over an 8 x 2 tile starting at column `left` of a 16 x 2
    /// image, at center 0.5, its texture coordinate over the grown
    /// rectangle given by `u(x)` for image column x.
    fn split_row_at(left: i32, u: impl Fn(i32) -> f32) -> Vec<f32> {
        let frame = crate::test_util::frame(16, 2);
        let (grown_width, grown_height) = (10, 4);
        let n = grown_width * grown_height;
        let us: Vec<f32> = (0..n)
            .map(|i| u(left + (i % grown_width) as i32 - 1))
            .collect();
        let texcoord = Buffer::from_planar(2, [us, vec![0.5; n]].concat());
        let inputs = [
            Buffer::filled(&[-1.0], n),
            Buffer::filled(&[3.0], n),
            Buffer::filled(&[0.5], n),
            texcoord,
        ];
        let rect = tessera_core::Rect::new(left, 0, 8, 2);
        let out = crate::test_util::eval_node(
            &splitlr(),
            Some(ValueType::Float),
            &[],
            &frame,
            rect,
            &inputs,
        );
        out.unwrap()[0].data()[..8].to_vec()
    }

    fn split_row(u: impl Fn(i32) -> f32) -> Vec<f32> {
        split_row_at(0, u)
    }

    #[test]
    fn split_blends_over_a_pixel_where_the_coordinate_changes_and_steps_where_not() {
        // u at pixel centres: the step is 1/8 * 0.7071 either side of 0.5.
        let row = split_row(|x| (x as f32 + 0.5) / 8.0);
        assert_eq!(row[..3], [-1.0; 3]);
        assert_eq!(row[5..], [3.0; 3]);
        let t = (0.4375 - (0.5 - 0.125 * std::f32::consts::FRAC_1_SQRT_2))
            / (0.25 * std::f32::consts::FRAC_1_SQRT_2);
        let hermite = t * t * (3.0 - 2.0 * t);
        assert!(
            (row[3] - (-(1.0 - hermite) + 3.0 * hermite)).abs() < 1e-6,
            "{row:?}"
        );
        // Symmetric about the centre: the two weights sum to 1.
        assert!(
            ((row[3] + 1.0) / 4.0 + (row[4] + 1.0) / 4.0 - 1.0).abs() < 1e-6,
            "{row:?}"
        );
        // A coordinate that changes only between quads (columns 3 and 4):
        // no change within any quad, so a sharp step.
        let sharp = split_row(|x| if x < 4 { 0.25 } else { 0.75 });
        assert_eq!(sharp, [-1.0, -1.0, -1.0, -1.0, 3.0, 3.0, 3.0, 3.0]);
        // The quads are the image's, not the tile's: the same from a tile
        // starting at an odd column.
        let shifted = split_row_at(1, |x| if x < 4 { 0.25 } else { 0.75 });
        assert_eq!(shifted, [-1.0, -1.0, -1.0, 3.0, 3.0, 3.0, 3.0, 3.0]);
    }

    #[test]
    fn checkerboard_alternates_cells_with_color2_at_the_origin() {
        let color1: &[f32] = &[1.0, 1.0, 1.0];
        let color2: &[f32] = &[0.0, 0.0, 0.0];
        let eval = |uv: [f32; 2]| {
            eval_one(
                &checkerboard(),
                None,
                &[color1, color2, &[2.0, 2.0], &[0.0, 0.0], &uv],
            )[0]
            .clone()
        };
        // MaterialX's NG_checkerboard: color2 on the even cells.
        assert_eq!(eval([0.25, 0.25]), color2);
        assert_eq!(eval([0.75, 0.25]), color1);
        assert_eq!(eval([0.75, 0.75]), color2);
        // Negative cells keep alternating (MaterialX's modulo is never negative).
        assert_eq!(eval([-0.25, 0.25]), color1);
    }

    #[test]
    fn ramp4_blends_its_corners_bilinearly_within_the_unit_square() {
        let corners: [&[f32]; 4] = [&[1.0], &[2.0], &[3.0], &[5.0]];
        let at = |u: f32, v: f32| {
            let texcoord = [u, v];
            let mut inputs = corners.to_vec();
            inputs.push(&texcoord);
            eval_one(&ramp4(), Some(ValueType::Float), &inputs)[0][0]
        };
        // (0, 1) is the top left, (1, 0) the bottom right.
        assert_eq!(
            [at(0.0, 1.0), at(1.0, 1.0), at(0.0, 0.0), at(1.0, 0.0)],
            [1.0, 2.0, 3.0, 5.0]
        );
        // The middle: the bottom's 4 and the top's 1.5, halved.
        assert_eq!(at(0.5, 0.5), 2.75);
        // Outside the square, clamped to its edge.
        assert_eq!(at(-3.0, 7.0), 1.0);
        assert_eq!(at(2.0, 0.5), 3.5);
    }

    #[test]
    fn ramps_interpolate_along_their_axis_and_clamp() {
        let l: &[f32] = &[0.0];
        let r: &[f32] = &[1.0];
        assert_eq!(
            eval_one(&ramplr(), Some(ValueType::Float), &[l, r, &[0.25, 0.9]])[0],
            [0.25]
        );
        assert_eq!(
            eval_one(&ramplr(), Some(ValueType::Float), &[l, r, &[1.5, 0.9]])[0],
            [1.0]
        );
        assert_eq!(
            eval_one(&ramptb(), Some(ValueType::Float), &[l, r, &[0.25, 0.75]])[0],
            [0.75]
        );
    }
}
