//! MaterialX's `randomfloat` and `randomcolor`: a value drawn per input
//! value from the cell noise (the same input, the same draw). MaterialX
//! defines both by graphs (`stdlib_ng.mtlx`); these follow them operation
//! for operation, so the pixels are the graphs'.

use crate::color::hsv_to_rgb;
use crate::kind::kind;
use crate::math::range_of;
use crate::noise::cell2;
use crate::per_sample::PerSample;
use glam::{Vec2, Vec3};
use std::sync::Arc;
use tessera_core::{InputSpec, NodeKind, NodeSpec, OutputSpec, SocketType, ValueType};

/// How far apart MaterialX's randomfloat of a float draws: `in * 4096`
/// (its integer form draws for `in` itself).
const FLOAT_IN_SCALE: f32 = 4096.0;

/// NG_randomfloat_float (`in_scale` 4096) and NG_randomfloat_integer
/// (`in_scale` 1, the multiplication exact): the cell noise at (in *
/// in_scale, seed), ranged to `min..max` (clamped).
fn random_of(input: f32, in_scale: f32, seed: f32, [min, max]: [f32; 2]) -> f32 {
    let drawn = cell2(Vec2::new(input * in_scale, seed));
    range_of([drawn, 0.0, 1.0, 1.0, min, max], true)
}

/// NG_randomcolor_float: a hue, saturation and brightness each drawn by
/// [`random_of`] with its own seed (the seed moved by 413.3, 1522.4 and
/// 1813.8, rounded up), ranged (not clamped) to its low..high, as RGB.
fn random_colour_of(input: f32, ranges: [[f32; 2]; 3], seed: f32) -> [f32; 3] {
    let channel = |offset: f32, [low, high]: [f32; 2]| {
        let drawn = random_of(input, FLOAT_IN_SCALE, (seed + offset).ceil(), [0.0, 1.0]);
        range_of([drawn, 0.0, 1.0, 1.0, low, high], false)
    };
    let hsv = Vec3::new(
        channel(413.3, ranges[0]),
        channel(1522.4, ranges[1]),
        channel(1813.8, ranges[2]),
    );
    hsv_to_rgb(hsv).to_array()
}

const SEED: &str = "an integer that draws other values for the same input";

pub fn randomfloat() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "randomfloat",
        "a random value in min..max drawn for the value of in (the same in, the same value): \
         the cell noise at (in * inscale, seed) (MaterialX's randomfloat)",
    )
    .input(InputSpec::float(
        "in",
        0.0,
        "the value a random one is drawn for",
    ))
    .input(InputSpec::float("min", 0.0, "the lowest value drawn"))
    .input(InputSpec::float("max", 1.0, "the highest value drawn"))
    .input(InputSpec::float("seed", 0.0, SEED))
    .input(InputSpec::float(
        "inscale",
        FLOAT_IN_SCALE,
        "how far apart values of in draw: 4096 as MaterialX's randomfloat of a float, 1 as \
         its randomfloat of an integer (which a MaterialX document's integer in gets)",
    ))
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Float),
        "the value drawn",
    ));
    kind(spec, |_| {
        Ok(Box::new(PerSample {
            of: |[input, min, max, seed, in_scale]: [f32; 5]| {
                [random_of(input, in_scale, seed, [min, max])]
            },
        }))
    })
}

pub fn randomcolor() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "randomcolor",
        "a random colour drawn for the value of in (the same in, the same colour): hue, \
         saturation and brightness each drawn in its range (MaterialX's randomcolor)",
    )
    .input(InputSpec::float(
        "in",
        0.0,
        "the value a colour is drawn for (a float or an integer)",
    ))
    .input(InputSpec::float("huelow", 0.0, "the lowest hue, in turns"))
    .input(InputSpec::float("huehigh", 1.0, "the highest hue"))
    .input(InputSpec::float(
        "saturationlow",
        0.825,
        "the lowest saturation",
    ))
    .input(InputSpec::float(
        "saturationhigh",
        1.0,
        "the highest saturation",
    ))
    .input(InputSpec::float(
        "brightnesslow",
        1.0,
        "the lowest brightness (value)",
    ))
    .input(InputSpec::float(
        "brightnesshigh",
        1.0,
        "the highest brightness",
    ))
    .input(InputSpec::float("seed", 0.0, SEED))
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Color3),
        "the colour drawn",
    ));
    kind(spec, |_| {
        Ok(Box::new(PerSample {
            of: |[input, h0, h1, s0, s1, v0, v1, seed]: [f32; 8]| {
                random_colour_of(input, [[h0, h1], [s0, s1], [v0, v1]], seed)
            },
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_input_draws_the_same_value_within_the_range() {
        let random_of = |input, seed, range| random_of(input, FLOAT_IN_SCALE, seed, range);
        let drawn: Vec<f32> = (0..64)
            .map(|i| random_of(i as f32 * 0.37, 0.0, [2.0, 3.0]))
            .collect();
        assert!(drawn.iter().all(|v| (2.0..=3.0).contains(v)), "{drawn:?}");
        assert_eq!(random_of(0.37, 0.0, [2.0, 3.0]), drawn[1]);
        // Another seed, other values; an input in the same 1/4096 step, the same.
        assert_ne!(random_of(0.37, 1.0, [2.0, 3.0]), drawn[1]);
        assert_eq!(random_of(0.37 + 1e-5, 0.0, [2.0, 3.0]), drawn[1]);
        // A reversed range: MaterialX's range clamps with max(3) then
        // min(2), which gives 2 whatever was drawn.
        for i in 0..16 {
            assert_eq!(random_of(i as f32 * 0.1, 0.0, [3.0, 2.0]), 2.0);
        }
    }

    #[test]
    fn an_integer_in_draws_for_itself() {
        // MaterialX's integer form: the cell noise at (in, seed) itself.
        for k in -3..4 {
            let drawn = random_of(k as f32, 1.0, 5.0, [0.0, 1.0]);
            assert_eq!(drawn, cell2(Vec2::new(k as f32, 5.0)));
        }
    }

    #[test]
    fn random_colours_keep_their_ranges() {
        for i in 0..32 {
            let rgb = random_colour_of(i as f32, [[0.0, 1.0], [0.0, 0.0], [0.25, 0.5]], 7.0);
            // No saturation: a grey of the brightness drawn.
            assert!(rgb[0] == rgb[1] && rgb[1] == rgb[2], "{rgb:?}");
            assert!((0.25..=0.5).contains(&rgb[0]), "{rgb:?}");
        }
    }
}
