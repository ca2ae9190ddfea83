//! MaterialX's vector math: products, lengths, normalising, rotating.

use crate::kind::kind;
use std::sync::Arc;
use tessera_core::{
    Buffer, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType, TileCtx, Value,
    ValueType,
};

/// A node computing each sample's output from its inputs' whole values
/// (vectors of up to 4 channels, floats of 1).
struct PerVector {
    op: fn(&[&[f32]], &mut [f32]),
}

impl Node for PerVector {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let out = &mut outputs[0];
        let (len, channels) = (out.len(), out.channels());
        let mut values = [[0.0f32; 4]; 3];
        let mut result = [0.0f32; 4];
        for i in 0..len {
            for (value, input) in values.iter_mut().zip(inputs) {
                for (c, v) in value.iter_mut().enumerate().take(input.channels()) {
                    *v = input.plane(c)[i];
                }
            }
            let operands: Vec<&[f32]> = (values.iter().zip(inputs))
                .map(|(value, input)| &value[..input.channels()])
                .collect();
            (self.op)(&operands, &mut result[..channels]);
            for (c, r) in result.iter().take(channels).enumerate() {
                out.plane_mut(c)[i] = *r;
            }
        }
        Ok(())
    }
}

/// GLSL's `dot`, summed in order.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0, |sum, (x, y)| sum + x * y)
}

const VECTORS: [ValueType; 3] = [ValueType::Vector2, ValueType::Vector3, ValueType::Vector4];

fn vector_node(
    name: &str,
    doc: &str,
    inputs: &[(&str, &str)],
    output: SocketType,
    op: fn(&[&[f32]], &mut [f32]),
) -> Arc<dyn NodeKind> {
    let mut spec = NodeSpec::new(name, doc).generic_over(&VECTORS);
    for (input, doc) in inputs {
        spec = spec.input(InputSpec::generic(input, 0.0, doc));
    }
    let spec = spec.output(OutputSpec::new("out", output, "the result"));
    kind(spec, move |_| Ok(Box::new(PerVector { op })))
}

const FLOAT: SocketType = SocketType::Fixed(ValueType::Float);

pub fn dotproduct() -> Arc<dyn NodeKind> {
    vector_node(
        "dotproduct",
        "the dot product of in1 and in2",
        &[("in1", "first vector"), ("in2", "second vector")],
        FLOAT,
        |v, out| out[0] = dot(v[0], v[1]),
    )
}

pub fn magnitude() -> Arc<dyn NodeKind> {
    vector_node(
        "magnitude",
        "the length of in",
        &[("in", "the vector")],
        FLOAT,
        |v, out| out[0] = dot(v[0], v[0]).sqrt(),
    )
}

pub fn distance() -> Arc<dyn NodeKind> {
    vector_node(
        "distance",
        "the distance between in1 and in2",
        &[("in1", "first point"), ("in2", "second point")],
        FLOAT,
        |v, out| {
            let mut diff = [0.0f32; 4];
            for ((d, a), b) in diff.iter_mut().zip(v[0]).zip(v[1]) {
                *d = a - b;
            }
            let diff = &diff[..v[0].len()];
            out[0] = dot(diff, diff).sqrt();
        },
    )
}

pub fn normalize() -> Arc<dyn NodeKind> {
    vector_node(
        "normalize",
        "in scaled to length 1 (NaN for the zero vector, as GLSL's normalize may give)",
        &[("in", "the vector")],
        SocketType::Generic,
        |v, out| {
            let length = dot(v[0], v[0]).sqrt();
            for (o, x) in out.iter_mut().zip(v[0]) {
                *o = x / length;
            }
        },
    )
}

pub fn crossproduct() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "crossproduct",
        "the cross product in1 x in2 of two vector3s",
    )
    .input(InputSpec::fixed(
        "in1",
        ValueType::Vector3,
        Value::Float(0.0),
        "first vector",
    ))
    .input(InputSpec::fixed(
        "in2",
        ValueType::Vector3,
        Value::Float(0.0),
        "second vector",
    ))
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Vector3),
        "the result",
    ));
    kind(spec, |_| {
        Ok(Box::new(PerVector {
            op: |v, out| {
                let (a, b) = (v[0], v[1]);
                out[0] = a[1] * b[2] - b[1] * a[2];
                out[1] = a[2] * b[0] - b[2] * a[0];
                out[2] = a[0] * b[1] - b[0] * a[1];
            },
        }))
    })
}

/// MaterialX's rotate2d: `v` turned by `degrees` about the origin.
pub(crate) fn rotate2d_of(v: [f32; 2], degrees: f32) -> [f32; 2] {
    let radians = degrees.to_radians();
    let (sa, ca) = (radians.sin(), radians.cos());
    [ca * v[0] + sa * v[1], -sa * v[0] + ca * v[1]]
}

/// MaterialX's rotate3d: `v` turned by `degrees` about `axis` (normalised
/// here), by Rodrigues' formula.
pub(crate) fn rotate3d_of(v: glam::Vec3, degrees: f32, axis: glam::Vec3) -> glam::Vec3 {
    let axis = axis / dot(&axis.to_array(), &axis.to_array()).sqrt();
    let radians = degrees.to_radians();
    let (s, c) = (radians.sin(), radians.cos());
    v * c + v.cross(axis) * s + axis * axis.dot(v) * (1.0 - c)
}

pub fn rotate2d() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "rotate2d",
        "in rotated by amount degrees about the origin (MaterialX): (cos a x + sin a y, -sin a x + cos a y)",
    )
    .input(InputSpec::fixed("in", ValueType::Vector2, Value::Float(0.0), "the vector"))
    .input(InputSpec::fixed("amount", ValueType::Float, Value::Float(0.0), "the angle in degrees"))
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Vector2),
        "the rotated vector",
    ));
    kind(spec, |_| {
        Ok(Box::new(PerVector {
            op: |v, out| out.copy_from_slice(&rotate2d_of([v[0][0], v[0][1]], v[1][0])),
        }))
    })
}

pub fn rotate3d() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "rotate3d",
        "in rotated by amount degrees about axis (MaterialX, Rodrigues' formula with the axis normalised): \
         in cos a + (in x axis) sin a + axis (axis . in)(1 - cos a)",
    )
    .input(InputSpec::fixed("in", ValueType::Vector3, Value::Float(0.0), "the vector"))
    .input(InputSpec::fixed("amount", ValueType::Float, Value::Float(0.0), "the angle in degrees"))
    .input(InputSpec::fixed(
        "axis",
        ValueType::Vector3,
        Value::Vector3(glam::Vec3::Y),
        "the axis to rotate about (any length but zero)",
    ))
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Vector3),
        "the rotated vector",
    ));
    kind(spec, |_| {
        Ok(Box::new(PerVector {
            op: |v, out| {
                let (input, axis) = (glam::Vec3::from_slice(v[0]), glam::Vec3::from_slice(v[2]));
                out.copy_from_slice(&rotate3d_of(input, v[1][0], axis).to_array());
            },
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, eval_one};
    use ValueType::*;

    #[test]
    fn rotate3d_turns_about_its_axis() {
        // A quarter turn about z takes x to -y (MaterialX's v * M order);
        // the axis need not be unit length, and a vector along it stays.
        let turned = eval_one(
            &rotate3d(),
            None,
            &[&[1.0, 0.0, 0.0], &[90.0], &[0.0, 0.0, 2.0]],
        );
        assert_close(&turned[0], &[0.0, -1.0, 0.0]);
        let along = eval_one(
            &rotate3d(),
            None,
            &[&[0.0, 3.0, 0.0], &[37.0], &[0.0, 1.0, 0.0]],
        );
        assert_close(&along[0], &[0.0, 3.0, 0.0]);
    }

    #[test]
    fn products_lengths_and_rotations() {
        assert_eq!(
            eval_one(
                &dotproduct(),
                Some(Vector3),
                &[&[1.0, 2.0, 3.0], &[4.0, -5.0, 6.0]]
            )[0],
            [12.0]
        );
        assert_eq!(
            eval_one(&magnitude(), Some(Vector2), &[&[3.0, 4.0]])[0],
            [5.0]
        );
        assert_eq!(
            eval_one(&distance(), Some(Vector2), &[&[1.0, 1.0], &[4.0, 5.0]])[0],
            [5.0]
        );
        assert_eq!(
            eval_one(&normalize(), Some(Vector2), &[&[3.0, -4.0]])[0],
            [0.6, -0.8]
        );
        assert_eq!(
            eval_one(&crossproduct(), None, &[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0]])[0],
            [0.0, 0.0, 1.0]
        );
        // A positive amount turns (1, 0) towards (0, -1), as MaterialX's.
        assert_close(
            &eval_one(&rotate2d(), None, &[&[1.0, 0.0], &[90.0]])[0],
            &[0.0, -1.0],
        );
    }
}
