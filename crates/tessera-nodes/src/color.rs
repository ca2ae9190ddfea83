//! Colour nodes: `colorramp` (Blender's Color Ramp), `hsvadjust` and
//! `luminance` (MaterialX), and the compositing node `over` (MaterialX).

use crate::kind::{Choices, kind};
use crate::math::range_of;
use glam::{Vec3, Vec4};
use multiversion::multiversion;
use std::sync::Arc;
use tessera_core::{
    Buffer, BuildArgs, BuildError, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec,
    RampInterpolation, RampStop, SocketType, TileCtx, Value, ValueType,
};

const INTERPOLATIONS: Choices<RampInterpolation> = Choices(&[
    ("linear", RampInterpolation::Linear),
    ("constant", RampInterpolation::Constant),
    ("ease", RampInterpolation::Ease),
]);

/// MaterialX's default luma coefficients (ACEScg primaries).
pub(crate) const LUMA_COEFFS: Vec3 = Vec3::new(0.272_228_7, 0.674_081_8, 0.053_689_5);

/// Checks that two buffers hold the same number of samples.
fn same_len(a: &Buffer, b: &Buffer) -> Result<(), NodeError> {
    if a.len() == b.len() {
        Ok(())
    } else {
        Err(NodeError::new(format!(
            "input buffers differ in length ({} and {} samples)",
            a.len(),
            b.len()
        )))
    }
}

// ---------------------------------------------------------------- colorramp

/// Blender's Color Ramp on fixed, sorted stops.
struct ColorRamp {
    stops: Vec<RampStop>,
    interpolation: RampInterpolation,
}

impl ColorRamp {
    /// The ramp's colour at `fac`.
    fn eval(&self, fac: f32) -> Vec4 {
        let stops = &self.stops;
        let (Some(first), Some(last)) = (stops.first(), stops.last()) else {
            return Vec4::ZERO;
        };
        if fac.is_nan() {
            return first.color;
        }
        // The number of stops at or before `fac`: the stop before is the last
        // one whose position <= fac, the one after the first with position > fac.
        let after = stops.partition_point(|s| s.position <= fac);
        if after == 0 {
            return first.color;
        }
        if after == stops.len() {
            return last.color;
        }
        let (lo, hi) = (&stops[after - 1], &stops[after]);
        // hi.position > fac >= lo.position, so the span is positive.
        let t = ((fac - lo.position) / (hi.position - lo.position)).clamp(0.0, 1.0);
        match self.interpolation {
            RampInterpolation::Constant => lo.color,
            RampInterpolation::Linear => lo.color.lerp(hi.color, t),
            RampInterpolation::Ease => lo.color.lerp(hi.color, t * t * (3.0 - 2.0 * t)),
        }
    }
}

impl Node for ColorRamp {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let fac = inputs[0];
        let out = &mut outputs[0];
        same_len(fac, out)?;
        out.write_samples(fac.plane(0).iter().map(|&fac| self.eval(fac).to_array()));
        Ok(())
    }
}

fn build_colorramp(args: &BuildArgs) -> Result<Box<dyn Node>, BuildError> {
    let stops = match args.uniform("stops") {
        Value::Ramp(stops) if !stops.is_empty() => stops.clone(),
        other => {
            return Err(BuildError::at_input(
                "stops",
                format!("expected at least one colour stop, got {other}"),
            ));
        }
    };
    if stops.iter().any(|s| s.position.is_nan())
        || stops.windows(2).any(|w| w[1].position < w[0].position)
    {
        return Err(BuildError::at_input(
            "stops",
            "stops must be in increasing order of position",
        ));
    }
    let interpolation = INTERPOLATIONS.pick(args, "interpolation")?;
    Ok(Box::new(ColorRamp {
        stops,
        interpolation,
    }))
}

/// Blender's Color Ramp: maps `fac` through colour stops.
pub fn colorramp() -> Arc<dyn NodeKind> {
    let default_stops = vec![
        RampStop {
            position: 0.0,
            color: Vec4::new(0.0, 0.0, 0.0, 1.0),
        },
        RampStop {
            position: 1.0,
            color: Vec4::ONE,
        },
    ];
    let spec = NodeSpec::new(
        "colorramp",
        "Blender's Color Ramp: the colour of the stops at fac. Before the first stop it is the \
         first stop's colour, after the last the last's; between two stops it blends them \
         (linear), eases with a smoothstep of the local position (ease), or holds the colour of \
         the last stop at or before fac (constant). A NaN fac gives the first stop's colour",
    )
    .input(InputSpec::fixed(
        "fac",
        ValueType::Float,
        Value::Float(0.5),
        "the position looked up in the ramp",
    ))
    .input(InputSpec::fixed(
        "stops",
        ValueType::Ramp,
        Value::Ramp(default_stops),
        "the colour stops `{ position, color }`, in increasing order of position \
         (default: opaque black at 0, white at 1)",
    ))
    .input(INTERPOLATIONS.input(
        "interpolation",
        "linear",
        "how colours blend between stops: linear, constant or ease",
    ))
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Color4),
        "the ramp's colour",
    ));
    kind(spec, build_colorramp)
}

// ---------------------------------------------------------------- hsvadjust

/// MaterialX's `mx_hsvtorgb` (mx_hsv.glsl, after OSL's opcolor.cpp): hue in
/// turns, wrapped to [0, 1).
pub(crate) fn hsv_to_rgb(hsv: Vec3) -> Vec3 {
    let (h, s, v) = (hsv.x, hsv.y, hsv.z);
    if s >= 0.0001 {
        let h = 6.0 * (h - h.floor()); // [0, 6)
        // A hue a hair below a whole turn rounds to 6 in f32; that is hue 0
        // (MaterialX would fall through to its last case and give magenta
        // for red).
        let h = if h >= 6.0 { 0.0 } else { h };
        let hi = h.trunc();
        let f = h - hi;
        let p = v * (1.0 - s);
        let q = v * (1.0 - s * f);
        let t = v * (1.0 - s * (1.0 - f));
        // A NaN or infinite hue gives NaN `hi`, which falls to the last case.
        if hi == 0.0 {
            Vec3::new(v, t, p)
        } else if hi == 1.0 {
            Vec3::new(q, v, p)
        } else if hi == 2.0 {
            Vec3::new(p, v, t)
        } else if hi == 3.0 {
            Vec3::new(p, q, v)
        } else if hi == 4.0 {
            Vec3::new(t, p, v)
        } else {
            Vec3::new(v, p, q)
        }
    } else {
        Vec3::splat(v)
    }
}

/// MaterialX's `mx_rgbtohsv` (mx_hsv.glsl): hue in turns in [0, 1).
fn rgb_to_hsv(c: Vec3) -> Vec3 {
    let (r, g, b) = (c.x, c.y, c.z);
    let mincomp = r.min(g.min(b));
    let maxcomp = r.max(g.max(b));
    let delta = maxcomp - mincomp;
    let v = maxcomp;
    let s = if maxcomp > 0.0 { delta / maxcomp } else { 0.0 };
    let h = if s <= 0.0 {
        0.0
    } else {
        let h = if r >= maxcomp {
            (g - b) / delta
        } else if g >= maxcomp {
            2.0 + (b - r) / delta
        } else {
            4.0 + (r - g) / delta
        } * (1.0 / 6.0);
        if h < 0.0 { h + 1.0 } else { h }
    };
    Vec3::new(h, s, v)
}

/// A node computing each sample's RGB from its colour's RGB and the
/// sample's values of its other inputs (their channels in order, at most
/// eight); a color4's alpha passes through.
struct RgbMap {
    map: fn(Vec3, &[f32]) -> Vec3,
}

impl Node for RgbMap {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let (color, parameters) = (inputs[0], &inputs[1..]);
        let out = &mut outputs[0];
        same_len(color, out)?;
        for parameter in parameters {
            same_len(parameter, out)?;
        }
        let len = out.len();
        let (rgb, alpha) = out.data_mut().split_at_mut(3 * len);
        let input = [color.plane(0), color.plane(1), color.plane(2)];
        let mut values = [0.0; 8];
        for i in 0..len {
            let mut count = 0;
            for parameter in parameters {
                for c in 0..parameter.channels() {
                    values[count] = parameter.plane(c)[i];
                    count += 1;
                }
            }
            let c = (self.map)(
                Vec3::from_array(input.map(|plane| plane[i])),
                &values[..count],
            );
            for (channel, value) in c.to_array().into_iter().enumerate() {
                rgb[channel * len + i] = value;
            }
        }
        // A colour4's alpha passes through.
        alpha.copy_from_slice(&color.data()[3 * len..]);
        Ok(())
    }
}

/// MaterialX's NG_hsvadjust: to HSV, add amount.x to the hue, multiply the
/// saturation by amount.y and the value by amount.z, back to RGB.
fn adjust_hsv(rgb: Vec3, amount: &[f32]) -> Vec3 {
    let amount = Vec3::from_slice(amount);
    let hsv = rgb_to_hsv(rgb);
    hsv_to_rgb(Vec3::new(
        hsv.x + amount.x,
        hsv.y * amount.y,
        hsv.z * amount.z,
    ))
}

/// MaterialX's `hsvadjust`.
pub fn hsvadjust() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "hsvadjust",
        "adjusts hue, saturation and value (MaterialX): the colour goes to HSV (MaterialX's \
         rgbtohsv), amount.x is added to the hue (in turns, wrapping), the saturation is \
         multiplied by amount.y and the value by amount.z, and it comes back with hsvtorgb; \
         alpha passes through",
    )
    .generic_over(&[ValueType::Color3, ValueType::Color4])
    .input(InputSpec::generic("in", 0.0, "the colour to adjust"))
    .input(InputSpec::fixed(
        "amount",
        ValueType::Vector3,
        Value::Vector3(Vec3::new(0.0, 1.0, 1.0)),
        "(hue offset in turns, saturation multiplier, value multiplier)",
    ))
    .output(OutputSpec::new(
        "out",
        SocketType::Generic,
        "the adjusted colour",
    ));
    kind(spec, |_| Ok(Box::new(RgbMap { map: adjust_hsv })))
}

// ---------------------------------------------------------------- luminance

/// r = g = b = dot(rgb, lumacoeffs).
fn luminance_of(rgb: Vec3, coeffs: &[f32]) -> Vec3 {
    Vec3::splat(rgb.x * coeffs[0] + rgb.y * coeffs[1] + rgb.z * coeffs[2])
}

/// MaterialX's `luminance`.
pub fn luminance() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "luminance",
        "the colour's luminance (MaterialX): r = g = b = dot(rgb, lumacoeffs); alpha passes \
         through",
    )
    .generic_over(&[ValueType::Color3, ValueType::Color4])
    .input(InputSpec::generic("in", 0.0, "the colour"))
    .input(InputSpec::fixed(
        "lumacoeffs",
        ValueType::Color3,
        Value::Color3(LUMA_COEFFS),
        "the weights of r, g and b (default: MaterialX's, for ACEScg primaries)",
    ))
    .output(OutputSpec::new(
        "out",
        SocketType::Generic,
        "the luminance as a grey colour",
    ));
    kind(spec, |_| Ok(Box::new(RgbMap { map: luminance_of })))
}

/// MaterialX's NG_saturate: mix(luminance(in), in, amount).
fn saturate_rgb(rgb: Vec3, parameters: &[f32]) -> Vec3 {
    let (amount, coeffs) = (parameters[0], &parameters[1..4]);
    let grey = luminance_of(rgb, coeffs);
    grey * (1.0 - amount) + rgb * amount
}

/// MaterialX's `saturate`.
pub fn saturate() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "saturate",
        "scales the colour's saturation (MaterialX): mix(luminance, colour, amount); 0 gives grey, above 1 more saturated; alpha passes through",
    )
    .generic_over(&[ValueType::Color3, ValueType::Color4])
    .input(InputSpec::generic("in", 0.0, "the colour"))
    .input(InputSpec::fixed("amount", ValueType::Float, Value::Float(1.0), "the saturation multiplier"))
    .input(InputSpec::fixed(
        "lumacoeffs",
        ValueType::Color3,
        Value::Color3(LUMA_COEFFS),
        "the weights of r, g and b for the grey (default: MaterialX's, for ACEScg primaries)",
    ))
    .output(OutputSpec::new("out", SocketType::Generic, "the colour"));
    kind(spec, |_| Ok(Box::new(RgbMap { map: saturate_rgb })))
}

/// MaterialX's NG_colorcorrect, its nodes' operations in their order: the
/// hue turned (hsvadjust) and the saturation scaled (saturate), a sample at
/// a time; then per channel a gamma (range), lift, gain, contrast about a
/// pivot, and an exposure in stops, over planes.
struct ColorCorrect;

impl Node for ColorCorrect {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [
            color,
            hue,
            saturation,
            gamma,
            lift,
            gain,
            contrast,
            pivot,
            exposure,
        ] = std::array::from_fn(|i| inputs[i]);
        let out = &mut outputs[0];
        same_len(color, out)?;
        let len = out.len();
        let (rgb, alpha) = out.data_mut().split_at_mut(3 * len);
        let luma = LUMA_COEFFS.to_array();
        let [hue, saturation] = [hue.plane(0), saturation.plane(0)];
        let [red, green, blue] = [0, 1, 2].map(|c| color.plane(c));
        for i in 0..len {
            let input = Vec3::new(red[i], green[i], blue[i]);
            let turned = adjust_hsv(input, &[hue[i], 1.0, 1.0]);
            let saturated = saturate_rgb(turned, &[saturation[i], luma[0], luma[1], luma[2]]);
            for (c, v) in saturated.to_array().into_iter().enumerate() {
                rgb[c * len + i] = v;
            }
        }
        let curve = [gamma, lift, gain, contrast, pivot, exposure].map(|b| b.plane(0));
        for plane in rgb.chunks_exact_mut(len.max(1)) {
            colorcorrect_curve(plane, curve);
        }
        // A colour4's alpha passes through.
        alpha.copy_from_slice(&color.data()[3 * len..]);
        Ok(())
    }
}

/// The per-channel part of NG_colorcorrect, in place over one plane.
#[multiversion(targets("x86_64+avx2"))]
fn colorcorrect_curve(plane: &mut [f32], curve: [&[f32]; 6]) {
    let [gamma, lift, gain, contrast, pivot, exposure] = curve;
    for (i, v) in plane.iter_mut().enumerate() {
        let curved = range_of([*v, 0.0, 1.0, gamma[i], 0.0, 1.0], false);
        let lifted = curved * (1.0 - lift[i]) + lift[i];
        let contrasted = (lifted * gain[i] - pivot[i]) * contrast[i] + pivot[i];
        *v = contrasted * 2.0f32.powf(exposure[i]);
    }
}

/// MaterialX's `colorcorrect`.
pub fn colorcorrect() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "colorcorrect",
        "MaterialX's colour correction, in order: the hue turned by hue (in turns), the \
         saturation scaled, a gamma, lift (raising the blacks), gain, contrast about \
         contrastpivot, and exposure in stops; alpha passes through",
    )
    .generic_over(&[ValueType::Color3, ValueType::Color4])
    .input(InputSpec::generic(
        "in",
        1.0,
        "the colour (a colour4's default is (1, 1, 1, 1); MaterialX's is (1, 1, 1, 0), which a \
         MaterialX document's colorcorrect gets)",
    ))
    .input(InputSpec::float("hue", 0.0, "the hue's turn, in turns"))
    .input(InputSpec::float(
        "saturation",
        1.0,
        "the saturation multiplier",
    ))
    .input(InputSpec::float(
        "gamma",
        1.0,
        "the gamma: values are raised to 1 / gamma",
    ))
    .input(InputSpec::float(
        "lift",
        0.0,
        "raises the blacks: v * (1 - lift) + lift",
    ))
    .input(InputSpec::float(
        "gain",
        1.0,
        "the multiplier after the lift",
    ))
    .input(InputSpec::float("contrast", 1.0, "the contrast factor"))
    .input(InputSpec::float(
        "contrastpivot",
        0.5,
        "the value contrast leaves in place",
    ))
    .input(InputSpec::float(
        "exposure",
        0.0,
        "stops: the colour is multiplied by 2^exposure",
    ))
    .output(OutputSpec::new(
        "out",
        SocketType::Generic,
        "the corrected colour",
    ));
    kind(spec, |_| Ok(Box::new(ColorCorrect)))
}

/// A conversion between RGB and HSV (MaterialX's `rgbtohsv` and `hsvtorgb`).
fn hsv_conversion(name: &str, doc: &str, convert: fn(Vec3, &[f32]) -> Vec3) -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(name, doc)
        .generic_over(&[ValueType::Color3, ValueType::Color4])
        .input(InputSpec::generic("in", 0.0, "the colour"))
        .output(OutputSpec::new(
            "out",
            SocketType::Generic,
            "the converted colour",
        ));
    kind(spec, move |_| Ok(Box::new(RgbMap { map: convert })))
}

pub fn rgbtohsv() -> Arc<dyn NodeKind> {
    hsv_conversion(
        "rgbtohsv",
        "RGB to HSV (MaterialX): hue in turns (0..1), saturation, value; alpha passes through",
        |rgb, _| rgb_to_hsv(rgb),
    )
}

pub fn hsvtorgb() -> Arc<dyn NodeKind> {
    hsv_conversion(
        "hsvtorgb",
        "HSV to RGB (MaterialX): hue in turns (wrapping), saturation, value; alpha passes through",
        |hsv, _| hsv_to_rgb(hsv),
    )
}

// ---------------------------------------------------------------- over

/// Porter-Duff `over` on premultiplied colours, faded by `mix`.
struct Over;

impl Node for Over {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [fg, bg, mix] = [inputs[0], inputs[1], inputs[2]];
        let out = &mut outputs[0];
        same_len(fg, out)?;
        same_len(bg, out)?;
        same_len(mix, out)?;
        let (fg_alpha, mix) = (fg.plane(3), mix.plane(0));
        for c in 0..4 {
            let (out, fg, bg) = (out.plane_mut(c), fg.plane(c), bg.plane(c));
            for ((((out, f), b), a), m) in out.iter_mut().zip(fg).zip(bg).zip(fg_alpha).zip(mix) {
                *out = m * (f + b * (1.0 - a)) + (1.0 - m) * b;
            }
        }
        Ok(())
    }
}

/// MaterialX's compositing `over`.
pub fn over() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "over",
        "composites fg over bg (MaterialX, premultiplied alpha): \
         mix * (fg + bg * (1 - fg.a)) + (1 - mix) * bg",
    )
    .input(InputSpec::fixed(
        "fg",
        ValueType::Color4,
        Value::Color4(Vec4::ZERO),
        "the foreground, premultiplied",
    ))
    .input(InputSpec::fixed(
        "bg",
        ValueType::Color4,
        Value::Color4(Vec4::ZERO),
        "the background, premultiplied",
    ))
    .input(
        InputSpec::fixed(
            "mix",
            ValueType::Float,
            Value::Float(1.0),
            "how much of the composite to use: 0 gives bg, 1 the full composite",
        )
        .range(0.0, 1.0),
    )
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Color4),
        "the composite",
    ));
    kind(spec, |_| Ok(Box::new(Over)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, eval_node, eval_one, frame};
    use tessera_core::Rect;

    fn ramp(fac: &[f32], stops: Vec<RampStop>, interpolation: &str) -> Vec<[f32; 4]> {
        let frame = frame(fac.len() as u32, 1);
        let out = eval_node(
            &colorramp(),
            None,
            &[
                ("stops", Value::Ramp(stops)),
                ("interpolation", Value::String(interpolation.into())),
            ],
            &frame,
            Rect::new(0, 0, fac.len() as u32, 1),
            &[Buffer::from_planar(1, fac.to_vec())],
        )
        .expect("colorramp evaluates");
        out[0].samples::<4>().collect()
    }

    fn three_stops() -> Vec<RampStop> {
        vec![
            RampStop {
                position: 0.2,
                color: Vec4::new(1.0, 0.0, 0.0, 1.0),
            },
            RampStop {
                position: 0.6,
                color: Vec4::new(0.0, 1.0, 0.0, 0.5),
            },
            RampStop {
                position: 0.8,
                color: Vec4::new(0.0, 0.0, 1.0, 0.0),
            },
        ]
    }

    #[test]
    fn colorramp_default_is_black_to_white() {
        let out = eval_one(&colorramp(), None, &[&[0.25]]);
        assert_close(&out[0], &[0.25, 0.25, 0.25, 1.0]);
    }

    #[test]
    fn colorramp_linear_holds_the_ends_and_blends_between() {
        let fac = [-1.0, 0.0, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 2.0];
        let out = ramp(&fac, three_stops(), "linear");
        let red = [1.0, 0.0, 0.0, 1.0];
        let blue = [0.0, 0.0, 1.0, 0.0];
        assert_eq!(out[0], red);
        assert_eq!(out[1], red);
        assert_eq!(out[2], red);
        assert_close(&out[3], &[0.75, 0.25, 0.0, 0.875]);
        assert_close(&out[4], &[0.5, 0.5, 0.0, 0.75]);
        assert_close(&out[5], &[0.0, 1.0, 0.0, 0.5]);
        assert_close(&out[6], &[0.0, 0.5, 0.5, 0.25]);
        assert_eq!(out[7], blue);
        assert_eq!(out[8], blue);
        assert_eq!(out[9], blue);
    }

    #[test]
    fn colorramp_constant_takes_the_last_stop_at_or_before_fac() {
        let fac = [0.0, 0.2, 0.3, 0.59, 0.6, 0.79, 0.8, 1.0];
        let out = ramp(&fac, three_stops(), "constant");
        let (red, green, blue) = (
            [1.0, 0.0, 0.0, 1.0],
            [0.0, 1.0, 0.0, 0.5],
            [0.0, 0.0, 1.0, 0.0],
        );
        assert_eq!(out, [red, red, red, red, green, green, blue, blue]);
    }

    #[test]
    fn colorramp_ease_is_a_smoothstep_between_stops() {
        let fac = [0.1, 0.3, 0.4, 0.5, 0.7, 0.9];
        let out = ramp(&fac, three_stops(), "ease");
        assert_eq!(out[0], [1.0, 0.0, 0.0, 1.0]);
        // t = 0.25 -> 0.15625; t = 0.5 -> 0.5; t = 0.75 -> 0.84375.
        assert_close(&out[1], &[0.84375, 0.15625, 0.0, 0.921875]);
        assert_close(&out[2], &[0.5, 0.5, 0.0, 0.75]);
        assert_close(&out[3], &[0.15625, 0.84375, 0.0, 0.578125]);
        assert_close(&out[4], &[0.0, 0.5, 0.5, 0.25]);
        assert_eq!(out[5], [0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn colorramp_nan_gives_the_first_stop_and_coincident_stops_step() {
        let mut stops = three_stops();
        stops[1].position = 0.2; // red and green both at 0.2
        let out = ramp(&[f32::NAN, 0.2, 0.5], stops.clone(), "linear");
        assert_eq!(out[0], [1.0, 0.0, 0.0, 1.0]);
        assert_eq!(out[1], [0.0, 1.0, 0.0, 0.5]);
        assert_close(&out[2], &[0.0, 0.5, 0.5, 0.25]);
        let one = vec![stops[2]];
        let out = ramp(&[0.0, 0.8, 1.0, f32::INFINITY], one, "ease");
        assert!(out.iter().all(|c| *c == [0.0, 0.0, 1.0, 0.0]));
    }

    #[test]
    fn hsv_conversions_match_materialx() {
        assert_close(
            &rgb_to_hsv(Vec3::new(1.0, 0.0, 0.0)).to_array(),
            &[0.0, 1.0, 1.0],
        );
        assert_close(
            &rgb_to_hsv(Vec3::new(0.0, 0.5, 0.5)).to_array(),
            &[0.5, 1.0, 0.5],
        );
        assert_close(
            &rgb_to_hsv(Vec3::new(0.5, 0.25, 0.5)).to_array(),
            &[5.0 / 6.0, 0.5, 0.5],
        );
        for rgb in [
            Vec3::new(0.2, 0.4, 0.9),
            Vec3::new(0.9, 0.1, 0.3),
            Vec3::new(0.3, 0.8, 0.1),
        ] {
            assert_close(&hsv_to_rgb(rgb_to_hsv(rgb)).to_array(), &rgb.to_array());
        }
        assert_eq!(hsv_to_rgb(Vec3::new(0.3, 0.0, 0.7)), Vec3::splat(0.7));
        // A hue just below 0 wraps to just below 1 turn, which rounds to 6
        // sextants in f32: still red, not MaterialX's fall-through magenta.
        assert_close(
            &hsv_to_rgb(Vec3::new(-1e-9, 1.0, 1.0)).to_array(),
            &[1.0, 0.0, 0.0],
        );
    }

    #[test]
    fn hsvadjust_turns_red_to_green_and_scales_saturation_and_value() {
        let kind = hsvadjust();
        let red: &[f32] = &[1.0, 0.0, 0.0];
        let out = eval_one(
            &kind,
            Some(ValueType::Color3),
            &[red, &[1.0 / 3.0, 1.0, 1.0]],
        );
        assert_close(&out[0], &[0.0, 1.0, 0.0]);
        // A whole turn plus a third wraps to the same place.
        let out = eval_one(
            &kind,
            Some(ValueType::Color3),
            &[red, &[4.0 / 3.0, 1.0, 1.0]],
        );
        assert_close(&out[0], &[0.0, 1.0, 0.0]);
        // Negative offsets wrap backwards: red - 1/3 turn is blue.
        let out = eval_one(
            &kind,
            Some(ValueType::Color3),
            &[red, &[-1.0 / 3.0, 1.0, 1.0]],
        );
        assert_close(&out[0], &[0.0, 0.0, 1.0]);
        // Half saturation, half value, alpha untouched.
        let out = eval_one(
            &kind,
            Some(ValueType::Color4),
            &[&[1.0, 0.0, 0.0, 0.25], &[0.0, 0.5, 0.5]],
        );
        assert_close(&out[0], &[0.5, 0.25, 0.25, 0.25]);
        // The default amount is the identity.
        let c: &[f32] = &[0.2, 0.4, 0.9];
        let out = eval_one(&kind, Some(ValueType::Color3), &[c, &[0.0, 1.0, 1.0]]);
        assert_close(&out[0], c);
    }

    #[test]
    fn hsvadjust_survives_nan() {
        let out = eval_one(
            &hsvadjust(),
            Some(ValueType::Color4),
            &[&[f32::NAN, 0.0, 0.0, 1.0], &[f32::NAN, 1.0, 1.0]],
        );
        assert_eq!(out[0].len(), 4);
        assert_eq!(out[0][3], 1.0);
    }

    #[test]
    fn colorcorrect_lifts_scales_and_exposes_in_order() {
        // in, hue, saturation, gamma, lift, gain, contrast, pivot, exposure.
        let correct = |rgba: [f32; 4], p: [f32; 8]| {
            let mut inputs: Vec<&[f32]> = vec![&rgba];
            let p = p.map(|v| [v]);
            inputs.extend(p.iter().map(|v| &v[..]));
            eval_one(&colorcorrect(), Some(ValueType::Color4), &inputs)[0].clone()
        };
        let neutral = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.5, 0.0];
        let grey = [0.25, 0.25, 0.25, 0.5];
        assert_close(&correct(grey, neutral), &grey);
        // One stop up doubles; alpha passes through.
        let mut exposed = neutral;
        exposed[7] = 1.0;
        assert_close(&correct(grey, exposed), &[0.5, 0.5, 0.5, 0.5]);
        // Lift 0.2 takes black to 0.2, then gain 2 to 0.4, then contrast 2
        // about 0.5 to 0.3.
        let mut lifted = neutral;
        (lifted[3], lifted[4], lifted[5]) = (0.2, 2.0, 2.0);
        assert_close(
            &correct([0.0, 0.0, 0.0, 1.0], lifted),
            &[0.3, 0.3, 0.3, 1.0],
        );
        // No saturation: the luminance's grey.
        let mut grey_out = neutral;
        grey_out[1] = 0.0;
        let out = correct([1.0, 0.0, 0.0, 1.0], grey_out);
        assert_close(
            &out,
            &[LUMA_COEFFS.x; 3]
                .into_iter()
                .chain([1.0])
                .collect::<Vec<_>>(),
        );
    }

    #[test]
    fn luminance_of_white_is_the_sum_of_the_coefficients() {
        let coeffs = LUMA_COEFFS.to_array();
        let sum = coeffs[0] + coeffs[1] + coeffs[2];
        let out = eval_one(
            &luminance(),
            Some(ValueType::Color4),
            &[&[1.0, 1.0, 1.0, 0.5], &coeffs],
        );
        assert_close(&out[0], &[sum, sum, sum, 0.5]);
        let out = eval_one(
            &luminance(),
            Some(ValueType::Color3),
            &[&[0.0, 1.0, 0.0], &coeffs],
        );
        assert_close(&out[0], &[coeffs[1]; 3]);
        let out = eval_one(
            &luminance(),
            Some(ValueType::Color3),
            &[&[0.5, 0.25, 1.0], &[0.2, 0.4, 0.4]],
        );
        assert_close(&out[0], &[0.6; 3]);
    }

    #[test]
    fn over_composites_premultiplied_colours() {
        let fg: &[f32] = &[0.2, 0.4, 0.6, 1.0];
        let bg: &[f32] = &[1.0, 0.5, 0.0, 1.0];
        assert_eq!(eval_one(&over(), None, &[fg, bg, &[1.0]])[0], fg);
        let clear: &[f32] = &[0.0, 0.0, 0.0, 0.0];
        assert_eq!(eval_one(&over(), None, &[clear, bg, &[1.0]])[0], bg);
        // A half-transparent premultiplied fg lets half the bg through.
        let half: &[f32] = &[0.5, 0.0, 0.0, 0.5];
        let out = eval_one(&over(), None, &[half, bg, &[1.0]]);
        assert_close(&out[0], &[1.0, 0.25, 0.0, 1.0]);
        // mix = 0 gives bg; mix = 0.5 half way.
        assert_eq!(eval_one(&over(), None, &[fg, bg, &[0.0]])[0], bg);
        let out = eval_one(&over(), None, &[fg, bg, &[0.5]]);
        assert_close(&out[0], &[0.6, 0.45, 0.3, 1.0]);
    }
}
