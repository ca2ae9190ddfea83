//! Per-channel arithmetic on any varying type (MaterialX's math nodes), and
//! `mix`.

use crate::float::lerp_plane;
use crate::kind::kind;
use multiversion::multiversion;
use std::sync::Arc;
use tessera_core::{
    Buffer, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType, TileCtx, Value,
    ValueType,
};

/// A node computing each output float from the floats at the same place in
/// its inputs, which all share the node's type.
struct Elementwise<const N: usize, Op> {
    op: Op,
}

impl<const N: usize, Op: Fn([f32; N]) -> f32 + Send + Sync> Node for Elementwise<N, Op> {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let out = outputs[0].data_mut();
        // Cut to the output's length, so that indexing below needs no bounds checks.
        let inputs: [&[f32]; N] = std::array::from_fn(|i| &inputs[i].data()[..out.len()]);
        apply(&self.op, out, inputs);
        Ok(())
    }
}

/// `out[k] = op(inputs[..][k])` for every float.
#[multiversion(targets("x86_64+avx2"))]
fn apply<const N: usize, Op: Fn([f32; N]) -> f32>(op: &Op, out: &mut [f32], inputs: [&[f32]; N]) {
    for (k, out) in out.iter_mut().enumerate() {
        *out = op(std::array::from_fn(|i| inputs[i][k]));
    }
}

fn elementwise<const N: usize>(
    name: &str,
    doc: &str,
    inputs: [(&str, f32, &str); N],
    op: impl Fn([f32; N]) -> f32 + Copy + Send + Sync + 'static,
) -> Arc<dyn NodeKind> {
    let mut spec = NodeSpec::new(name, doc)
        .generic_over(&ValueType::VARYING)
        .output(OutputSpec::new("out", SocketType::Generic, "the result"));
    for (input, default, input_doc) in inputs {
        spec = spec.input(InputSpec::generic(input, default, input_doc));
    }
    kind(spec, move |_| Ok(Box::new(Elementwise { op })))
}

pub fn add() -> Arc<dyn NodeKind> {
    elementwise(
        "add",
        "in1 + in2, per channel",
        [
            ("in1", 0.0, "first operand"),
            ("in2", 0.0, "second operand"),
        ],
        |[a, b]| a + b,
    )
}

pub fn subtract() -> Arc<dyn NodeKind> {
    elementwise(
        "subtract",
        "in1 - in2, per channel",
        [
            ("in1", 0.0, "first operand"),
            ("in2", 0.0, "second operand"),
        ],
        |[a, b]| a - b,
    )
}

pub fn multiply() -> Arc<dyn NodeKind> {
    elementwise(
        "multiply",
        "in1 * in2, per channel",
        [
            ("in1", 0.0, "first operand"),
            ("in2", 1.0, "second operand"),
        ],
        |[a, b]| a * b,
    )
}

pub fn divide() -> Arc<dyn NodeKind> {
    elementwise(
        "divide",
        "in1 / in2, per channel (division by zero gives infinity or NaN, as in MaterialX)",
        [("in1", 0.0, "dividend"), ("in2", 1.0, "divisor")],
        |[a, b]| a / b,
    )
}

pub fn clamp() -> Arc<dyn NodeKind> {
    elementwise(
        "clamp",
        "in limited to low..high, per channel",
        [
            ("in", 0.0, "the value"),
            ("low", 0.0, "lower bound"),
            ("high", 1.0, "upper bound"),
        ],
        |[v, low, high]| clamp_of(v, low, high),
    )
}

pub fn remap() -> Arc<dyn NodeKind> {
    elementwise(
        "remap",
        "maps in linearly from inlow..inhigh to outlow..outhigh, per channel (not clamped)",
        [
            ("in", 0.0, "the value"),
            ("inlow", 0.0, "input value mapped to outlow"),
            ("inhigh", 1.0, "input value mapped to outhigh"),
            ("outlow", 0.0, "output for inlow"),
            ("outhigh", 1.0, "output for inhigh"),
        ],
        |[v, inlow, inhigh, outlow, outhigh]| remap_of(v, inlow, inhigh, outlow, outhigh),
    )
}

/// MaterialX's `clamp` as its graphs use it: `max`, then `min` (so NaN
/// gives `low`, where `f32::clamp` keeps NaN and panics on NaN bounds).
#[allow(clippy::manual_clamp)]
pub(crate) fn clamp_of(v: f32, low: f32, high: f32) -> f32 {
    v.max(low).min(high)
}

/// `v` mapped linearly from `inlow..inhigh` to `outlow..outhigh`.
pub(crate) fn remap_of(v: f32, inlow: f32, inhigh: f32, outlow: f32, outhigh: f32) -> f32 {
    outlow + (v - inlow) * (outhigh - outlow) / (inhigh - inlow)
}

/// MaterialX's `range`, the operations of its definition's graph
/// (NG_range) in their order: `v` remapped from inlow..inhigh to 0..1, a
/// gamma applied (|v|^(1 / gamma), the sign kept), remapped to
/// outlow..outhigh, and clamped to that where `clamp`.
pub(crate) fn range_of([v, inlow, inhigh, gamma, outlow, outhigh]: [f32; 6], clamp: bool) -> f32 {
    let unit = remap_of(v, inlow, inhigh, 0.0, 1.0);
    let curved = unit.abs().powf(1.0 / gamma) * glsl_sign(unit);
    let out = remap_of(curved, 0.0, 1.0, outlow, outhigh);
    if clamp {
        clamp_of(out, outlow, outhigh)
    } else {
        out
    }
}

/// `range`: six inputs of the node's type and a per-sample boolean.
struct Range;

impl Node for Range {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let out = &mut outputs[0];
        let len = out.len();
        let floats = len * out.channels();
        if inputs.len() != 7 || inputs.iter().any(|b| b.len() != len) {
            return Err(NodeError::new("range: input buffers differ in length"));
        }
        let values: [&[f32]; 6] = std::array::from_fn(|i| &inputs[i].data()[..floats]);
        let doclamp = &inputs[6].plane(0)[..len];
        // A plane per channel, each against the one plane of doclamp.
        for (c, out) in out.data_mut().chunks_exact_mut(len).enumerate() {
            let planes = values.map(|v| &v[c * len..(c + 1) * len]);
            range_plane(out, planes, doclamp);
        }
        Ok(())
    }
}

/// [`range_of`] over one channel's plane.
#[multiversion(targets("x86_64+avx2"))]
fn range_plane(out: &mut [f32], values: [&[f32]; 6], doclamp: &[f32]) {
    for (i, (out, clamp)) in out.iter_mut().zip(doclamp).enumerate() {
        *out = range_of(values.map(|v| v[i]), *clamp == 1.0);
    }
}

pub fn range() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "range",
        "remaps in from inlow..inhigh to 0..1, applies a gamma (sign(v) * |v|^(1 / gamma)), \
         remaps to outlow..outhigh and, where doclamp is true, clamps to outlow..outhigh, per \
         channel (MaterialX's range, its graph's operations in their order)",
    )
    .generic_over(&ValueType::VARYING)
    .input(InputSpec::generic("in", 0.0, "the value"))
    .input(InputSpec::generic("inlow", 0.0, "input value mapped to 0"))
    .input(InputSpec::generic("inhigh", 1.0, "input value mapped to 1"))
    .input(InputSpec::generic(
        "gamma",
        1.0,
        "the curve between: the remapped value is raised to 1 / gamma",
    ))
    .input(InputSpec::generic("outlow", 0.0, "output for inlow"))
    .input(InputSpec::generic("outhigh", 1.0, "output for inhigh"))
    .input(InputSpec::fixed(
        "doclamp",
        ValueType::Float,
        Value::Float(0.0),
        "a boolean (1 true, 0 false, as the logical nodes'): 1 clamps the result to \
         outlow..outhigh",
    ))
    .output(OutputSpec::new("out", SocketType::Generic, "the result"));
    kind(spec, |_| Ok(Box::new(Range)))
}

pub fn smoothstep() -> Arc<dyn NodeKind> {
    elementwise(
        "smoothstep",
        "0 below low, 1 above high, a smooth Hermite step between, per channel",
        [
            ("in", 0.0, "the value"),
            ("low", 0.0, "where the step starts"),
            ("high", 1.0, "where the step ends"),
        ],
        |[v, low, high]| smoothstep_of(v, low, high),
    )
}

/// MaterialX's smoothstep: 0 at or below `low`, 1 at or above `high` (a
/// step where they meet), a Hermite curve between.
pub fn smoothstep_of(v: f32, low: f32, high: f32) -> f32 {
    if v >= high {
        1.0
    } else if v <= low {
        0.0
    } else {
        let t = (v - low) / (high - low);
        t * t * (3.0 - 2.0 * t)
    }
}

/// GLSL's `mod` (MaterialX's modulo): the result takes the sign of `b`.
pub(crate) fn glsl_mod(a: f32, b: f32) -> f32 {
    a - b * (a / b).floor()
}

/// GLSL's `sign`: 0 at 0 (Rust's `signum` gives 1).
fn glsl_sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

pub fn modulo() -> Arc<dyn NodeKind> {
    elementwise(
        "modulo",
        "in1 modulo in2, per channel, as GLSL's mod: in1 - in2 * floor(in1 / in2), so the result takes the sign of in2",
        [("in1", 0.0, "dividend"), ("in2", 1.0, "divisor")],
        |[a, b]| glsl_mod(a, b),
    )
}

pub fn fract() -> Arc<dyn NodeKind> {
    elementwise(
        "fract",
        "the fractional part, per channel: in - floor(in), in 0..1 for negative values too",
        [("in", 0.0, "the value")],
        |[v]| v - v.floor(),
    )
}

pub fn invert() -> Arc<dyn NodeKind> {
    elementwise(
        "invert",
        "amount - in, per channel",
        [
            ("in", 0.0, "the value"),
            ("amount", 1.0, "what the value is subtracted from"),
        ],
        |[v, amount]| amount - v,
    )
}

pub fn absval() -> Arc<dyn NodeKind> {
    elementwise(
        "absval",
        "the absolute value, per channel",
        [("in", 0.0, "the value")],
        |[v]| v.abs(),
    )
}

pub fn sign() -> Arc<dyn NodeKind> {
    elementwise(
        "sign",
        "-1, 0 or 1 by the sign of in, per channel",
        [("in", 0.0, "the value")],
        |[v]| glsl_sign(v),
    )
}

pub fn floor() -> Arc<dyn NodeKind> {
    elementwise(
        "floor",
        "the largest whole number not above in, per channel",
        [("in", 0.0, "the value")],
        |[v]| v.floor(),
    )
}

pub fn ceil() -> Arc<dyn NodeKind> {
    elementwise(
        "ceil",
        "the smallest whole number not below in, per channel",
        [("in", 0.0, "the value")],
        |[v]| v.ceil(),
    )
}

pub fn round() -> Arc<dyn NodeKind> {
    elementwise(
        "round",
        "the nearest whole number, per channel; halves go to the even neighbour (GLSL leaves them to the implementation: roundEven's choice)",
        [("in", 0.0, "the value")],
        |[v]| v.round_ties_even(),
    )
}

pub fn power() -> Arc<dyn NodeKind> {
    elementwise(
        "power",
        "in1 raised to in2, per channel (a negative in1 with a fractional in2 gives NaN; GLSL leaves it undefined)",
        [("in1", 0.0, "the base"), ("in2", 1.0, "the exponent")],
        |[a, b]| a.powf(b),
    )
}

pub fn safepower() -> Arc<dyn NodeKind> {
    elementwise(
        "safepower",
        "sign(in1) * abs(in1) raised to in2, per channel: power made odd, defined for a negative in1",
        [("in1", 0.0, "the base"), ("in2", 1.0, "the exponent")],
        |[a, b]| glsl_sign(a) * a.abs().powf(b),
    )
}

pub fn sqrt() -> Arc<dyn NodeKind> {
    elementwise(
        "sqrt",
        "the square root, per channel (NaN below 0)",
        [("in", 0.0, "the value")],
        |[v]| v.sqrt(),
    )
}

pub fn ln() -> Arc<dyn NodeKind> {
    elementwise(
        "ln",
        "the natural logarithm, per channel (-infinity at 0, NaN below)",
        [("in", 1.0, "the value")],
        |[v]| v.ln(),
    )
}

pub fn exp() -> Arc<dyn NodeKind> {
    elementwise(
        "exp",
        "e raised to in, per channel",
        [("in", 0.0, "the exponent")],
        |[v]| v.exp(),
    )
}

pub fn sin() -> Arc<dyn NodeKind> {
    elementwise(
        "sin",
        "the sine of in radians, per channel",
        [("in", 0.0, "an angle in radians")],
        |[v]| v.sin(),
    )
}

pub fn cos() -> Arc<dyn NodeKind> {
    elementwise(
        "cos",
        "the cosine of in radians, per channel",
        [("in", 0.0, "an angle in radians")],
        |[v]| v.cos(),
    )
}

pub fn tan() -> Arc<dyn NodeKind> {
    elementwise(
        "tan",
        "the tangent of in radians, per channel",
        [("in", 0.0, "an angle in radians")],
        |[v]| v.tan(),
    )
}

pub fn asin() -> Arc<dyn NodeKind> {
    elementwise(
        "asin",
        "the arcsine in radians, per channel (NaN outside -1..1)",
        [("in", 0.0, "the sine")],
        |[v]| v.asin(),
    )
}

pub fn acos() -> Arc<dyn NodeKind> {
    elementwise(
        "acos",
        "the arccosine in radians, per channel (NaN outside -1..1)",
        [("in", 0.0, "the cosine")],
        |[v]| v.acos(),
    )
}

pub fn atan2() -> Arc<dyn NodeKind> {
    elementwise(
        "atan2",
        "the angle of the point (inx, iny) in radians, -pi..pi, per channel",
        [
            ("iny", 0.0, "the y coordinate"),
            ("inx", 1.0, "the x coordinate"),
        ],
        |[y, x]| y.atan2(x),
    )
}

pub fn min() -> Arc<dyn NodeKind> {
    elementwise(
        "min",
        "the smaller of in1 and in2, per channel",
        [
            ("in1", 0.0, "first operand"),
            ("in2", 0.0, "second operand"),
        ],
        |[a, b]| a.min(b),
    )
}

pub fn max() -> Arc<dyn NodeKind> {
    elementwise(
        "max",
        "the larger of in1 and in2, per channel",
        [
            ("in1", 0.0, "first operand"),
            ("in2", 0.0, "second operand"),
        ],
        |[a, b]| a.max(b),
    )
}

pub fn contrast() -> Arc<dyn NodeKind> {
    elementwise(
        "contrast",
        "(in - pivot) * amount + pivot, per channel: amount above 1 pushes values away from the pivot",
        [
            ("in", 0.0, "the value"),
            ("amount", 1.0, "the contrast factor"),
            ("pivot", 0.5, "the value left in place"),
        ],
        |[v, amount, pivot]| (v - pivot) * amount + pivot,
    )
}

pub fn trianglewave() -> Arc<dyn NodeKind> {
    elementwise(
        "trianglewave",
        "a triangle wave of period 1 between 0 and 0.5: 0.5 - |(|in| mod 1) - 0.5|, per channel",
        [("in", 0.0, "the value")],
        |[v]| 0.5 - (glsl_mod(v.abs(), 1.0) - 0.5).abs(),
    )
}

pub fn dot() -> Arc<dyn NodeKind> {
    elementwise(
        "dot",
        "in, unchanged: MaterialX's organisational dot, which routes a connection",
        [("in", 0.0, "the value")],
        |[v]| v,
    )
}

/// `bg * (1 - mix) + fg * mix`, with one mix amount for every channel.
struct Mix;

impl Node for Mix {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [fg, bg, amount] = [inputs[0], inputs[1], inputs[2]];
        let out = &mut outputs[0];
        for c in 0..out.channels() {
            lerp_plane(out.plane_mut(c), bg.plane(c), fg.plane(c), amount.plane(0));
        }
        Ok(())
    }
}

pub fn mix() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "mix",
        "blends bg towards fg by mix: bg * (1 - mix) + fg * mix",
    )
    .generic_over(&ValueType::VARYING)
    .input(InputSpec::generic(
        "fg",
        0.0,
        "the foreground, returned at mix = 1",
    ))
    .input(InputSpec::generic(
        "bg",
        0.0,
        "the background, returned at mix = 0",
    ))
    .input(
        InputSpec::fixed("mix", ValueType::Float, Value::Float(0.0), "blend amount")
            .range(0.0, 1.0),
    )
    .output(OutputSpec::new("out", SocketType::Generic, "the blend"));
    kind(spec, |_| Ok(Box::new(Mix)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, eval_one};
    use ValueType::*;

    #[test]
    fn add_subtract_multiply_divide_work_per_channel() {
        assert_eq!(
            eval_one(&add(), Some(Color3), &[&[1.0, 2.0, 3.0], &[0.5, 0.5, 0.5]])[0],
            [1.5, 2.5, 3.5]
        );
        assert_eq!(
            eval_one(&subtract(), Some(Float), &[&[1.0], &[0.25]])[0],
            [0.75]
        );
        assert_eq!(
            eval_one(&multiply(), Some(Vector2), &[&[2.0, 3.0], &[4.0, 0.5]])[0],
            [8.0, 1.5]
        );
        assert_eq!(
            eval_one(&divide(), Some(Float), &[&[1.0], &[4.0]])[0],
            [0.25]
        );
        assert!(eval_one(&divide(), Some(Float), &[&[1.0], &[0.0]])[0][0].is_infinite());
    }

    #[test]
    fn clamp_remap_smoothstep_follow_materialx() {
        assert_eq!(
            eval_one(&clamp(), Some(Float), &[&[1.5], &[0.0], &[1.0]])[0],
            [1.0]
        );
        assert_eq!(
            eval_one(&clamp(), Some(Float), &[&[-1.0], &[0.0], &[1.0]])[0],
            [0.0]
        );
        let remapped = eval_one(
            &remap(),
            Some(Float),
            &[&[0.5], &[0.0], &[1.0], &[10.0], &[20.0]],
        );
        assert_eq!(remapped[0], [15.0]);
        assert_eq!(
            eval_one(&smoothstep(), Some(Float), &[&[0.5], &[0.0], &[1.0]])[0],
            [0.5]
        );
        // range: 2 is 0.75 of the way from -1 to 3; to the 1/2: 0.866...;
        // to 10..20: 18.66...
        let range_of = |values: [f32; 7]| {
            let samples = values.map(|v| [v]);
            eval_one(&range(), Some(Float), &samples.each_ref().map(|s| &s[..]))[0][0]
        };
        let curved = range_of([2.0, -1.0, 3.0, 2.0, 10.0, 20.0, 0.0]);
        assert!(
            (curved - (10.0 + 10.0 * 0.75f32.sqrt())).abs() < 1e-5,
            "{curved}"
        );
        // 5 is 1.5 of the way: 25, clamped to 20 only where doclamp is
        // exactly true.
        assert_eq!(range_of([5.0, -1.0, 3.0, 1.0, 10.0, 20.0, 0.0]), 25.0);
        assert_eq!(range_of([5.0, -1.0, 3.0, 1.0, 10.0, 20.0, 1.0]), 20.0);
        assert_eq!(range_of([5.0, -1.0, 3.0, 1.0, 10.0, 20.0, 0.5]), 25.0);
        // Below inlow the gamma keeps the sign: -0.25 -> -0.5 with gamma 2.
        assert_eq!(range_of([-2.0, -1.0, 3.0, 2.0, 0.0, 1.0, 0.0]), -0.5);
        assert_close(
            &eval_one(&smoothstep(), Some(Float), &[&[0.25], &[0.0], &[1.0]])[0],
            &[0.15625],
        );
        assert_eq!(
            eval_one(&smoothstep(), Some(Float), &[&[2.0], &[0.0], &[1.0]])[0],
            [1.0]
        );
    }

    /// Each node of the MaterialX math batch on values where a wrong
    /// implementation shows: negatives, zero, halves.
    #[test]
    fn materialx_math_follows_glsl() {
        let one = |kind: Arc<dyn NodeKind>, inputs: &[&[f32]]| {
            eval_one(&kind, Some(Float), inputs)[0].clone()
        };
        let each = |kind: fn() -> Arc<dyn NodeKind>, values: &[f32]| -> Vec<f32> {
            values.iter().map(|v| one(kind(), &[&[*v]])[0]).collect()
        };
        assert_eq!(one(modulo(), &[&[-0.25], &[1.0]]), [0.75]);
        assert_eq!(one(modulo(), &[&[0.25], &[-1.0]]), [-0.75]);
        assert_eq!(each(fract, &[-1.25, 2.5]), [0.75, 0.5]);
        assert_eq!(one(invert(), &[&[0.25], &[2.0]]), [1.75]);
        assert_eq!(each(absval, &[-2.0, 3.0]), [2.0, 3.0]);
        assert_eq!(each(sign, &[-2.0, 0.0, 3.0]), [-1.0, 0.0, 1.0]);
        assert_eq!(each(floor, &[-0.5, 1.5]), [-1.0, 1.0]);
        assert_eq!(each(ceil, &[-0.5, 1.5]), [-0.0, 2.0]);
        assert_eq!(each(round, &[0.5, 1.5, -2.5, 2.6]), [0.0, 2.0, -2.0, 3.0]);
        assert_eq!(one(power(), &[&[2.0], &[3.0]]), [8.0]);
        assert!(one(power(), &[&[-2.0], &[0.5]])[0].is_nan());
        assert_eq!(one(safepower(), &[&[-4.0], &[0.5]]), [-2.0]);
        assert_eq!(each(sqrt, &[4.0]), [2.0]);
        assert_eq!(each(ln, &[1.0]), [0.0]);
        assert_eq!(each(exp, &[0.0]), [1.0]);
        assert_close(&each(sin, &[std::f32::consts::FRAC_PI_2]), &[1.0]);
        assert_close(&each(cos, &[std::f32::consts::PI]), &[-1.0]);
        assert_close(&each(tan, &[std::f32::consts::FRAC_PI_4]), &[1.0]);
        assert_close(&each(asin, &[1.0]), &[std::f32::consts::FRAC_PI_2]);
        assert_close(&each(acos, &[-1.0]), &[std::f32::consts::PI]);
        assert_close(
            &one(atan2(), &[&[1.0], &[-1.0]]),
            &[0.75 * std::f32::consts::PI],
        );
        assert_eq!(one(min(), &[&[-1.0], &[2.0]]), [-1.0]);
        assert_eq!(one(max(), &[&[-1.0], &[2.0]]), [2.0]);
        assert_eq!(one(contrast(), &[&[0.75], &[2.0], &[0.5]]), [1.0]);
        assert_eq!(
            each(trianglewave, &[-0.25, 0.5, 1.75, 2.0]),
            [0.25, 0.5, 0.25, 0.0]
        );
        assert_eq!(each(dot, &[-1.5]), [-1.5]);
        // The FA forms: a float second input widened to the node's type.
        assert_eq!(
            eval_one(
                &power(),
                Some(Color3),
                &[&[2.0, 3.0, 4.0], &[2.0, 2.0, 2.0]]
            )[0],
            [4.0, 9.0, 16.0]
        );
    }

    #[test]
    fn mix_blends_from_bg_to_fg() {
        let fg: &[f32] = &[1.0, 1.0, 1.0];
        let bg: &[f32] = &[0.0, 0.5, 1.0];
        assert_eq!(eval_one(&mix(), Some(Color3), &[fg, bg, &[0.0]])[0], bg);
        assert_eq!(eval_one(&mix(), Some(Color3), &[fg, bg, &[1.0]])[0], fg);
        assert_eq!(
            eval_one(&mix(), Some(Color3), &[fg, bg, &[0.5]])[0],
            [0.5, 0.75, 1.0]
        );
    }
}
