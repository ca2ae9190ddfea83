//! `checkerboard`, `ramplr`, `ramptb` (MaterialX standard nodes).

use crate::float::{floor, lerp_planes_by};
use crate::kind::kind;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::eval_one;

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
