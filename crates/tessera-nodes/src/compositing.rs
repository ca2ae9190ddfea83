//! MaterialX's compositing nodes on float, color3 and color4: blends of a
//! foreground over a background by a mix amount, and masks.

use crate::kind::kind;
use std::sync::Arc;
use tessera_core::{
    Buffer, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType, TileCtx, Value,
    ValueType,
};

/// The types MaterialX's compositing nodes take.
const BLENDED: [ValueType; 3] = [ValueType::Float, ValueType::Color3, ValueType::Color4];

/// A node computing each channel from the same channel of its generic
/// inputs and the sample's value of one float input (a mix amount, a
/// mask), which every channel shares.
struct WithFloat<Op> {
    op: Op,
}

impl<Op: Fn(f32, f32, f32) -> f32 + Send + Sync> Node for WithFloat<Op> {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let out = &mut outputs[0];
        let scalar = inputs[inputs.len() - 1].plane(0);
        for c in 0..out.channels() {
            // One generic input (a mask's `in`) is read as both operands.
            let a = inputs[0].plane(c);
            let b = inputs[inputs.len() - 2].plane(c);
            for (s, out) in out.plane_mut(c).iter_mut().enumerate() {
                *out = (self.op)(a[s], b[s], scalar[s]);
            }
        }
        Ok(())
    }
}

/// MaterialX's `mix * blended + (1 - mix) * bg`, in its order of operations.
fn mixed(blended: f32, bg: f32, mix: f32) -> f32 {
    mix * blended + (1.0 - mix) * bg
}

/// A blend of `fg` over `bg` (MaterialX's fg, bg and mix inputs): `op` gives
/// each channel from fg, bg and the mix amount.
fn blend(
    name: &str,
    doc: &str,
    op: impl Fn(f32, f32, f32) -> f32 + Send + Sync + Copy + 'static,
) -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(name, doc)
        .generic_over(&BLENDED)
        .input(InputSpec::generic("fg", 0.0, "the foreground"))
        .input(InputSpec::generic("bg", 0.0, "the background"))
        .input(
            InputSpec::fixed(
                "mix",
                ValueType::Float,
                Value::Float(1.0),
                "how much of the blend: 0 gives bg",
            )
            .range(0.0, 1.0),
        )
        .output(OutputSpec::new("out", SocketType::Generic, "the blend"));
    kind(spec, move |_| Ok(Box::new(WithFloat { op })))
}

pub fn plus() -> Arc<dyn NodeKind> {
    blend(
        "plus",
        "bg + fg, mixed over bg by mix, per channel",
        |fg, bg, mix| mixed(bg + fg, bg, mix),
    )
}

pub fn minus() -> Arc<dyn NodeKind> {
    blend(
        "minus",
        "bg - fg, mixed over bg by mix, per channel",
        |fg, bg, mix| mixed(bg - fg, bg, mix),
    )
}

pub fn difference() -> Arc<dyn NodeKind> {
    blend(
        "difference",
        "|bg - fg|, mixed over bg by mix, per channel",
        |fg, bg, mix| mixed((bg - fg).abs(), bg, mix),
    )
}

pub fn screen() -> Arc<dyn NodeKind> {
    blend(
        "screen",
        "1 - (1 - fg)(1 - bg), mixed over bg by mix, per channel",
        |fg, bg, mix| mixed(1.0 - (1.0 - fg) * (1.0 - bg), bg, mix),
    )
}

pub fn overlay() -> Arc<dyn NodeKind> {
    blend(
        "overlay",
        "2 fg bg where bg < 0.5, else 1 - 2 (1 - fg)(1 - bg); mixed over bg by mix, per channel",
        |fg, bg, mix| {
            let blended = if bg >= 0.5 {
                1.0 - (1.0 - bg) * (1.0 - fg) * 2.0
            } else {
                fg * bg * 2.0
            };
            mixed(blended, bg, mix)
        },
    )
}

/// MaterialX's M_FLOAT_EPS: where burn and dodge would divide by (nearly) 0.
const EPSILON: f32 = 1e-8;

pub fn burn() -> Arc<dyn NodeKind> {
    blend(
        "burn",
        "1 - (1 - bg) / fg, mixed over bg by mix, per channel; 0 where fg is 0",
        |fg, bg, mix| match fg.abs() < EPSILON {
            true => 0.0,
            false => mixed(1.0 - (1.0 - bg) / fg, bg, mix),
        },
    )
}

pub fn dodge() -> Arc<dyn NodeKind> {
    blend(
        "dodge",
        "bg / (1 - fg), mixed over bg by mix, per channel; 0 where fg is 1",
        |fg, bg, mix| match (1.0 - fg).abs() < EPSILON {
            true => 0.0,
            false => mixed(bg / (1.0 - fg), bg, mix),
        },
    )
}

/// `in` scaled by `mask` (inside) or by `1 - mask` (outside).
fn masked(name: &str, doc: &str, default: f32, op: fn(f32, f32) -> f32) -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(name, doc)
        .generic_over(&BLENDED)
        .input(InputSpec::generic("in", 0.0, "the value"))
        .input(InputSpec::fixed(
            "mask",
            ValueType::Float,
            Value::Float(default),
            "the mask",
        ))
        .output(OutputSpec::new(
            "out",
            SocketType::Generic,
            "the masked value",
        ));
    kind(spec, move |_| {
        Ok(Box::new(WithFloat {
            op: move |v, _, m| op(v, m),
        }))
    })
}

pub fn inside() -> Arc<dyn NodeKind> {
    masked("inside", "in * mask, per channel", 1.0, |v, mask| v * mask)
}

pub fn outside() -> Arc<dyn NodeKind> {
    masked("outside", "in * (1 - mask), per channel", 0.0, |v, mask| {
        v * (1.0 - mask)
    })
}

/// A node on whole colour4 samples: `op` gives each from the foreground,
/// the background and the mix amount (a unary node's `in` is both
/// operands, with mix 1).
struct Rgba {
    op: fn([f32; 4], [f32; 4], f32) -> [f32; 4],
}

impl Node for Rgba {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let fg: Vec<[f32; 4]> = inputs[0].samples::<4>().collect();
        let bg = inputs.get(1).map(|b| b.samples::<4>().collect::<Vec<_>>());
        let mix = inputs.get(2).map(|m| m.plane(0));
        let composed = (0..fg.len()).map(|i| {
            let bg = bg.as_ref().map_or(fg[i], |bg| bg[i]);
            (self.op)(fg[i], bg, mix.map_or(1.0, |m| m[i]))
        });
        outputs[0].write_samples(composed);
        Ok(())
    }
}

fn color4_input(name: &str, doc: &str) -> InputSpec {
    InputSpec::fixed(name, ValueType::Color4, Value::Float(0.0), doc)
}

fn color4_output(doc: &str) -> OutputSpec {
    OutputSpec::new("out", SocketType::Fixed(ValueType::Color4), doc)
}

/// A colour4 blend of fg over bg by mix.
fn blend4(name: &str, doc: &str, op: fn([f32; 4], [f32; 4], f32) -> [f32; 4]) -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(name, doc)
        .input(color4_input("fg", "the foreground"))
        .input(color4_input("bg", "the background"))
        .input(
            InputSpec::fixed(
                "mix",
                ValueType::Float,
                Value::Float(1.0),
                "how much of the result: 0 gives bg",
            )
            .range(0.0, 1.0),
        )
        .output(color4_output("the composite"));
    kind(spec, move |_| Ok(Box::new(Rgba { op })))
}

/// MaterialX's `({{fg}} ... * {{mix}}) + ({{bg}} * (1.0 - {{mix}}))`.
fn faded(composite: [f32; 4], bg: [f32; 4], mix: f32) -> [f32; 4] {
    std::array::from_fn(|c| composite[c] * mix + bg[c] * (1.0 - mix))
}

pub fn in_() -> Arc<dyn NodeKind> {
    blend4(
        "in",
        "fg where bg is (fg times bg's alpha), faded over bg by mix",
        |fg, bg, mix| faded(fg.map(|f| f * bg[3]), bg, mix),
    )
}

pub fn out() -> Arc<dyn NodeKind> {
    blend4(
        "out",
        "fg where bg is not (fg times 1 - bg's alpha), faded over bg by mix",
        |fg, bg, mix| faded(fg.map(|f| f * (1.0 - bg[3])), bg, mix),
    )
}

pub fn mask() -> Arc<dyn NodeKind> {
    blend4(
        "mask",
        "bg where fg is (bg times fg's alpha), faded over bg by mix",
        |fg, bg, mix| faded(bg.map(|b| b * fg[3]), bg, mix),
    )
}

pub fn matte() -> Arc<dyn NodeKind> {
    blend4(
        "matte",
        "fg over bg by fg's alpha, on unpremultiplied colours: (fg.rgb fg.a + bg.rgb (1 - fg.a), fg.a + bg.a (1 - fg.a)), faded over bg by mix",
        |fg, bg, mix| {
            let a = fg[3];
            let rgb = |c: usize| fg[c] * a + bg[c] * (1.0 - a);
            faded([rgb(0), rgb(1), rgb(2), a + bg[3] * (1.0 - a)], bg, mix)
        },
    )
}

pub fn disjointover() -> Arc<dyn NodeKind> {
    blend4(
        "disjointover",
        "fg over bg as if their coverages did not overlap: fg + bg where the alphas sum to at most 1, else fg + bg (1 - fg.a) / bg.a; alpha min(fg.a + bg.a, 1); faded over bg by mix",
        |fg, bg, mix| {
            let summed = fg[3] + bg[3];
            let rgb: [f32; 3] = if summed <= 1.0 {
                std::array::from_fn(|c| fg[c] + bg[c])
            } else if bg[3].abs() < EPSILON {
                [0.0; 3]
            } else {
                let x = (1.0 - fg[3]) / bg[3];
                std::array::from_fn(|c| fg[c] + bg[c] * x)
            };
            let composite = [rgb[0], rgb[1], rgb[2], summed.min(1.0)];
            std::array::from_fn(|c| composite[c] * mix + (1.0 - mix) * bg[c])
        },
    )
}

/// A colour4 made from `in` alone (by default opaque black, as
/// MaterialX's).
fn unary4(name: &str, doc: &str, op: fn([f32; 4], [f32; 4], f32) -> [f32; 4]) -> Arc<dyn NodeKind> {
    let opaque_black = Value::Color4(glam::Vec4::new(0.0, 0.0, 0.0, 1.0));
    let spec = NodeSpec::new(name, doc)
        .input(InputSpec::fixed(
            "in",
            ValueType::Color4,
            opaque_black,
            "the colour",
        ))
        .output(color4_output("the colour"));
    kind(spec, move |_| Ok(Box::new(Rgba { op })))
}

pub fn premult() -> Arc<dyn NodeKind> {
    unary4(
        "premult",
        "rgb multiplied by alpha; alpha kept",
        |c, _, _| [c[0] * c[3], c[1] * c[3], c[2] * c[3], c[3]],
    )
}

pub fn unpremult() -> Arc<dyn NodeKind> {
    unary4(
        "unpremult",
        "rgb divided by alpha (infinite or NaN where alpha is 0); alpha kept",
        |c, _, _| [c[0] / c[3], c[1] / c[3], c[2] / c[3], c[3]],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, eval_one};
    use ValueType::*;

    #[test]
    fn blends_follow_materialx_and_mix_over_bg() {
        let fg: &[f32] = &[0.25, 0.75, 2.0];
        let bg: &[f32] = &[0.5, 0.25, -1.0];
        let at = |kind: Arc<dyn NodeKind>, mix: f32| {
            eval_one(&kind, Some(Color3), &[fg, bg, &[mix]])[0].clone()
        };
        assert_eq!(at(plus(), 1.0), [0.75, 1.0, 1.0]);
        assert_eq!(at(minus(), 1.0), [0.25, -0.5, -3.0]);
        assert_eq!(at(difference(), 1.0), [0.25, 0.5, 3.0]);
        assert_eq!(at(screen(), 1.0), [0.625, 0.8125, 3.0]);
        // bg 0.5 takes the upper branch; 0.25 and -1 the lower one.
        assert_eq!(at(overlay(), 1.0), [0.25, 0.375, -4.0]);
        assert_eq!(at(burn(), 1.0), [-1.0, 0.0, 0.0]);
        assert_eq!(at(dodge(), 1.0), [2.0 / 3.0, 1.0, 1.0]);
        // mix 0 gives bg; 0.5 halfway.
        assert_eq!(at(plus(), 0.0), bg);
        assert_eq!(at(plus(), 0.5), [0.625, 0.625, 0.0]);
        // Where burn and dodge would divide by zero: 0, not mixed.
        assert_eq!(
            eval_one(&burn(), Some(Float), &[&[0.0], &[0.5], &[0.5]])[0],
            [0.0]
        );
        assert_eq!(
            eval_one(&dodge(), Some(Float), &[&[1.0], &[0.5], &[0.5]])[0],
            [0.0]
        );
    }

    #[test]
    fn inside_and_outside_scale_by_the_mask() {
        let value: &[f32] = &[2.0, -1.0, 0.5, 1.0];
        assert_eq!(
            eval_one(&inside(), Some(Color4), &[value, &[0.25]])[0],
            [0.5, -0.25, 0.125, 0.25]
        );
        assert_eq!(
            eval_one(&outside(), Some(Color4), &[value, &[0.25]])[0],
            [1.5, -0.75, 0.375, 0.75]
        );
    }

    #[test]
    fn colour4_composites_follow_materialx() {
        let fg: &[f32] = &[0.5, 0.25, 1.0, 0.5];
        let bg: &[f32] = &[0.2, 0.4, 0.6, 0.8];
        let at =
            |kind: Arc<dyn NodeKind>, mix: f32| eval_one(&kind, None, &[fg, bg, &[mix]])[0].clone();
        assert_eq!(at(in_(), 1.0), [0.4, 0.2, 0.8, 0.4]);
        assert_close(&at(out(), 1.0), &[0.1, 0.05, 0.2, 0.1]);
        assert_eq!(at(mask(), 1.0), [0.1, 0.2, 0.3, 0.4]);
        assert_eq!(at(matte(), 1.0), [0.35, 0.325, 0.8, 0.9]);
        // Alphas summing over 1: bg scaled by (1 - 0.5) / 0.8.
        assert_close(&at(disjointover(), 1.0), &[0.625, 0.5, 1.375, 1.0]);
        assert_eq!(at(in_(), 0.0), bg);
        assert_eq!(
            eval_one(&premult(), None, &[fg])[0],
            [0.25, 0.125, 0.5, 0.5]
        );
        assert_eq!(eval_one(&unpremult(), None, &[fg])[0], [1.0, 0.5, 2.0, 0.5]);
    }
}
