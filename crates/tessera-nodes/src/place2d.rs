//! `place2d` (MaterialX): moves, scales and rotates texture coordinates.

use crate::kind::kind;
use glam::Vec2;
use std::sync::Arc;
use tessera_core::{
    Buffer, BuildError, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType,
    TileCtx, Value, ValueType,
};

/// MaterialX's `rotate2d` (mx_rotate_vector2): `amount` in degrees turns the
/// vector clockwise (u right, v up). MaterialX's specification says
/// counter-clockwise, but its implementations, which this follows, turn
/// clockwise (MaterialX issue #2154).
#[inline]
fn rotate2d(v: Vec2, degrees: f32) -> Vec2 {
    let (sa, ca) = degrees.to_radians().sin_cos();
    Vec2::new(ca * v.x + sa * v.y, -sa * v.x + ca * v.y)
}

/// The order of place2d's operations: MaterialX's `operationorder`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    /// 0: scale, rotate, then translate.
    Srt,
    /// 1: translate, rotate, then scale.
    Trs,
}

/// MaterialX's NG_place2d_vector2, each operation in its order.
#[inline]
fn place(
    texcoord: Vec2,
    pivot: Vec2,
    scale: Vec2,
    rotate: f32,
    offset: Vec2,
    order: Order,
) -> Vec2 {
    let centred = texcoord - pivot;
    match order {
        Order::Srt => rotate2d(centred / scale, rotate) - offset + pivot,
        Order::Trs => rotate2d(centred - offset, rotate) / scale + pivot,
    }
}

struct Place2d {
    order: Order,
}

impl Node for Place2d {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [texcoord, pivot, scale, rotate, offset] =
            [inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]];
        let out = &mut outputs[0];
        let n = out.len();
        if [texcoord, pivot, scale, rotate, offset]
            .iter()
            .any(|b| b.len() != n)
        {
            return Err(NodeError::new("place2d: input buffers differ in length"));
        }
        let placed = (texcoord.samples::<2>())
            .zip(pivot.samples::<2>())
            .zip(scale.samples::<2>())
            .zip(rotate.plane(0).iter().zip(offset.samples::<2>()))
            .map(|(((t, p), s), (&r, o))| {
                let [t, p, s, o] = [t, p, s, o].map(Vec2::from_array);
                place(t, p, s, r, o, self.order).to_array()
            });
        out.write_samples(placed);
        Ok(())
    }
}

/// MaterialX's `place2d`.
pub fn place2d() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "place2d",
        "transforms texture coordinates (MaterialX's NG_place2d_vector2): in the default \
         order (SRT), out = rotate2d((texcoord - pivot) / scale, rotate) - offset + pivot, where \
         rotate2d(v, a) = (cos a * v.x + sin a * v.y, -sin a * v.x + cos a * v.y). \
         So scale divides (scale 2 shows the texture twice as large), a positive rotate turns \
         the coordinates clockwise (the texture appears turned counter-clockwise about the \
         pivot), and offset is subtracted after the rotation (offset (0.25, 0) moves the \
         texture a quarter to the right). With operationorder 1 (TRS), \
         out = rotate2d(texcoord - pivot - offset, rotate) / scale + pivot",
    )
    .input(InputSpec::texcoord())
    .input(InputSpec::fixed(
        "pivot",
        ValueType::Vector2,
        Value::Vector2(Vec2::ZERO),
        "the point that scale and rotate keep in place",
    ))
    .input(InputSpec::fixed(
        "scale",
        ValueType::Vector2,
        Value::Vector2(Vec2::ONE),
        "the size of the texture: the coordinates are divided by it (0 gives non-finite values, as in MaterialX)",
    ))
    .input(InputSpec::fixed(
        "rotate",
        ValueType::Float,
        Value::Float(0.0),
        "rotation in degrees; positive turns the coordinates clockwise",
    ))
    .input(InputSpec::fixed(
        "offset",
        ValueType::Vector2,
        Value::Vector2(Vec2::ZERO),
        "translation, subtracted from the coordinates after scale and rotate (SRT) or first (TRS)",
    ))
    .input(
        InputSpec::fixed(
            "operationorder",
            ValueType::Integer,
            Value::Integer(0),
            "0: scale, rotate, translate (SRT); 1: translate, rotate, scale (TRS)",
        )
        .range(0.0, 1.0),
    )
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Vector2),
        "the transformed texture coordinates",
    ));
    kind(spec, |args| {
        let order = match args.integer("operationorder") {
            0 => Order::Srt,
            1 => Order::Trs,
            other => {
                return Err(BuildError::at_input(
                    "operationorder",
                    format!("operationorder is 0 (SRT) or 1 (TRS), not {other}"),
                ));
            }
        };
        Ok(Box::new(Place2d { order }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, eval_one};

    fn run(
        texcoord: [f32; 2],
        pivot: [f32; 2],
        scale: [f32; 2],
        rotate: f32,
        offset: [f32; 2],
    ) -> Vec<f32> {
        eval_one(
            &place2d(),
            None,
            &[&texcoord, &pivot, &scale, &[rotate], &offset],
        )
        .remove(0)
    }

    #[test]
    fn defaults_are_the_identity() {
        assert_eq!(
            run([0.3, 0.7], [0.0, 0.0], [1.0, 1.0], 0.0, [0.0, 0.0]),
            [0.3, 0.7]
        );
    }

    #[test]
    fn scale_divides_about_the_pivot() {
        assert_close(
            &run([0.75, 0.5], [0.5, 0.5], [2.0, 4.0], 0.0, [0.0, 0.0]),
            &[0.625, 0.5],
        );
        assert_close(
            &run([1.0, 1.0], [0.0, 0.0], [2.0, 0.5], 0.0, [0.0, 0.0]),
            &[0.5, 2.0],
        );
    }

    #[test]
    fn rotate_turns_the_coordinates_clockwise() {
        // (1, 0) turned 90 degrees clockwise is (0, -1).
        assert_close(
            &run([1.0, 0.0], [0.0, 0.0], [1.0, 1.0], 90.0, [0.0, 0.0]),
            &[0.0, -1.0],
        );
        assert_close(
            &run([0.0, 1.0], [0.0, 0.0], [1.0, 1.0], 90.0, [0.0, 0.0]),
            &[1.0, 0.0],
        );
        // About the pivot (0.5, 0.5): (1, 0.5) -> (0.5, 0).
        assert_close(
            &run([1.0, 0.5], [0.5, 0.5], [1.0, 1.0], 90.0, [0.0, 0.0]),
            &[0.5, 0.0],
        );
    }

    #[test]
    fn offset_is_subtracted_after_scale_and_rotate() {
        assert_close(
            &run([0.5, 0.5], [0.0, 0.0], [1.0, 1.0], 0.0, [0.25, -0.5]),
            &[0.25, 1.0],
        );
        // SRT: (1, 0) / 2 = (0.5, 0); turned 90 degrees -> (0, -0.5); minus (0.1, 0.2).
        assert_close(
            &run([1.0, 0.0], [0.0, 0.0], [2.0, 2.0], 90.0, [0.1, 0.2]),
            &[-0.1, -0.7],
        );
        // With a pivot: ((0.9, 0.5) - 0.5) / 2 = (0.2, 0); -90 deg -> (0, 0.2);
        // minus (0.1, 0.1), plus the pivot.
        assert_close(
            &run([0.9, 0.5], [0.5, 0.5], [2.0, 2.0], -90.0, [0.1, 0.1]),
            &[0.4, 0.6],
        );
    }

    #[test]
    fn trs_translates_first_and_scales_last() {
        // ((1, 0.5) - (0.5, 0.5) - (0.1, 0.2)) = (0.4, -0.2); turned 90 degrees
        // clockwise: (-0.2, -0.4); divided by (2, 4): (-0.1, -0.1); plus the pivot.
        let placed = place(
            Vec2::new(1.0, 0.5),
            Vec2::new(0.5, 0.5),
            Vec2::new(2.0, 4.0),
            90.0,
            Vec2::new(0.1, 0.2),
            Order::Trs,
        );
        assert_close(&placed.to_array(), &[0.4, 0.4]);
    }

    #[test]
    fn zero_scale_and_nan_do_not_panic() {
        let out = run([0.5, 0.5], [0.0, 0.0], [0.0, 0.0], 0.0, [0.0, 0.0]);
        // inf * 0 inside the rotation gives NaN, as in MaterialX's GLSL.
        assert!(out.iter().all(|v| !v.is_finite()));
        let out = run(
            [f32::NAN, 0.5],
            [0.0, 0.0],
            [1.0, 1.0],
            f32::NAN,
            [0.0, 0.0],
        );
        assert!(out.iter().all(|v| v.is_nan()));
    }
}
