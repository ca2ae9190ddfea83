//! MaterialX's `ramp` (up to ten colours along a line, an angle, a radius
//! or a box) and `ramp_gradient` (one of its intervals). MaterialX defines
//! both by graphs (`stdlib_ng.mtlx`: ramp's is nine ramp_gradients of nine
//! nodes each and fourteen nodes for the position, 95 nodes); these follow
//! the graphs operation for operation, so the pixels are the graphs'.

use crate::conditional::switched;
use crate::float::lerp;
use crate::kind::kind;
use crate::math::{clamp_of, remap_of, smoothstep_of};
use crate::per_sample::PerSample;
use crate::vector::dot;
use glam::Vec4;
use std::sync::Arc;
use tessera_core::{InputSpec, NodeKind, NodeSpec, OutputSpec, SocketType, Value, ValueType};

type Color = [f32; 4];

/// The most colours a ramp has.
const COLOURS: usize = 10;

/// One interval of a ramp (NG_ramp_gradient): where `x` is past `low`, the
/// blend from `from` at `low` to `to` at `high` (by `interpolation`: 0
/// linear, 1 smooth, 2 a step at `high`; others 0), else `previous`; and
/// `previous` for an interval past the ramp's last (`beyond`).
fn interval(
    x: f32,
    [low, high]: [f32; 2],
    [from, to]: [Color; 2],
    interpolation: f32,
    previous: Color,
    beyond: bool,
) -> Color {
    // The graph's ifgreater(x, low, blend, previous): NaN keeps previous.
    let past_start = x > low;
    if beyond || !past_start {
        return previous;
    }
    let weight = match switched(interpolation, 2) {
        Some(0) => remap_of(clamp_of(x, low, high), low, high, 0.0, 1.0),
        Some(1) => smoothstep_of(x, low, high),
        _ => 0.0,
    };
    match switched(interpolation, 3) {
        Some(0 | 1) => std::array::from_fn(|c| lerp(from[c], to[c], weight)),
        Some(_) if high > x => from,
        Some(_) => to,
        None => [0.0; 4],
    }
}

fn colour(values: &[f32]) -> Color {
    std::array::from_fn(|c| values[c])
}

/// NG_ramp_gradient's inputs, one float each: x, interval1, interval2,
/// color1 (4), color2 (4), interpolation, prev_color (4), interval_num,
/// num_intervals.
fn ramp_gradient_of(v: [f32; 18]) -> Color {
    let [x, low, high] = [v[0], v[1], v[2]];
    let (from, to, previous) = (colour(&v[3..7]), colour(&v[7..11]), colour(&v[12..16]));
    interval(x, [low, high], [from, to], v[11], previous, v[16] >= v[17])
}

/// The position along a ramp of `type` (NG_ramp's switch): 0 u, 1 the
/// angle about the texture's centre (0 and 1 straight below it, 0.75 to its
/// right), 2 the distance from the centre times 1.414 (about 1 at the
/// corners), 3 the box distance (twice the larger of |u - 0.5| and
/// |v - 0.5|); other types 0.
fn ramp_position(ramp_type: f32, [u, v]: [f32; 2]) -> f32 {
    let centred = [u - 0.5, v - 0.5];
    match switched(ramp_type, 4) {
        Some(0) => u,
        Some(1) => centred[0].atan2(centred[1]) / GRAPH_TAU + 0.5,
        Some(2) => {
            let scaled = [centred[0] * 1.414, centred[1] * 1.414];
            dot(&scaled, &scaled).sqrt()
        }
        Some(_) => {
            let [x, y] = [centred[0].abs(), centred[1].abs()];
            if x > y { x * 2.0 } else { y * 2.0 }
        }
        None => 0.0,
    }
}

/// A turn as NG_ramp writes it (six digits; not `TAU`, whose division
/// gives other bits).
#[allow(clippy::approx_constant)]
const GRAPH_TAU: f32 = 6.28319;

/// NG_ramp's inputs, one float each: texcoord (2), type, interpolation,
/// num_intervals, then interval1, color1 (4), ... interval10, color10 (4).
fn ramp_of(v: [f32; 5 + COLOURS * 5]) -> Color {
    let x = ramp_position(v[2], [v[0], v[1]]);
    let (interpolation, intervals) = (v[3], v[4]);
    let stop = |k: usize| (v[5 + k * 5], colour(&v[6 + k * 5..10 + k * 5]));
    let mut ramp = stop(0).1;
    for k in 0..COLOURS - 1 {
        let ((low, from), (high, to)) = (stop(k), stop(k + 1));
        let beyond = (k + 1) as f32 >= intervals;
        ramp = interval(x, [low, high], [from, to], interpolation, ramp, beyond);
    }
    ramp
}

fn color(name: &str, v: Color, doc: &str) -> InputSpec {
    InputSpec::fixed(name, ValueType::Color4, Value::Color4(Vec4::from(v)), doc)
}

const INTERPOLATION: &str =
    "an integer: 0 linear, 1 smooth (smoothstep), 2 a step at the interval's end";

const BLACK: Color = [0.0, 0.0, 0.0, 1.0];
const WHITE: Color = [1.0; 4];

fn colour_output(spec: NodeSpec, doc: &str) -> NodeSpec {
    spec.output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Color4),
        doc,
    ))
}

pub fn ramp_gradient() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "ramp_gradient",
        "one interval of a ramp: where x is past interval1, color1 blended to color2 at \
         interval2; elsewhere, and where interval_num >= num_intervals, prev_color \
         (MaterialX's ramp_gradient)",
    )
    .input(InputSpec::float("x", 0.0, "the position along the ramp"))
    .input(InputSpec::float(
        "interval1",
        0.0,
        "where the interval starts",
    ))
    .input(InputSpec::float("interval2", 1.0, "where it ends"))
    .input(color("color1", BLACK, "the colour at its start"))
    .input(color("color2", WHITE, "the colour at its end"))
    .input(InputSpec::float("interpolation", 1.0, INTERPOLATION))
    .input(color(
        "prev_color",
        BLACK,
        "the ramp's colour before the interval",
    ))
    .input(InputSpec::float(
        "interval_num",
        1.0,
        "the interval's number, an integer",
    ))
    .input(InputSpec::float(
        "num_intervals",
        2.0,
        "the ramp's number of intervals, an integer",
    ));
    let spec = colour_output(spec, "the interval's colour, or prev_color");
    kind(spec, |_| {
        Ok(Box::new(PerSample {
            of: ramp_gradient_of,
        }))
    })
}

pub fn ramp() -> Arc<dyn NodeKind> {
    let mut spec = NodeSpec::new(
        "ramp",
        "up to ten colours at positions interval1..interval10 along u, the angle about the \
         centre, the distance from it or a box around it (type), blended (interpolation); \
         num_intervals of them used (MaterialX's ramp)",
    )
    .input(InputSpec::texcoord())
    .input(InputSpec::float(
        "type",
        0.0,
        "an integer: 0 along u, 1 the angle about the centre, 2 the distance from it, 3 a box",
    ))
    .input(InputSpec::float("interpolation", 1.0, INTERPOLATION))
    .input(InputSpec::float(
        "num_intervals",
        2.0,
        "how many colours are used (an integer, 2 to 10)",
    ));
    for k in 1..=COLOURS {
        let (at, paint) = if k == 1 { (0.0, BLACK) } else { (1.0, WHITE) };
        spec = spec
            .input(InputSpec::float(
                &format!("interval{k}"),
                at,
                "where this colour is",
            ))
            .input(color(&format!("color{k}"), paint, "the colour there"));
    }
    let spec = colour_output(spec, "the ramp's colour");
    kind(spec, |_| Ok(Box::new(PerSample { of: ramp_of })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RED: Color = [1.0, 0.0, 0.0, 1.0];
    const BLUE: Color = [0.0, 0.0, 1.0, 0.5];

    #[test]
    fn an_interval_blends_past_its_start_and_keeps_the_previous_colour_before() {
        let at = |x: f32, interpolation: f32, beyond: bool| {
            interval(x, [0.25, 0.75], [RED, BLUE], interpolation, WHITE, beyond)
        };
        assert_eq!(at(0.1, 0.0, false), WHITE);
        assert_eq!(at(0.25, 0.0, false), WHITE);
        assert_eq!(at(0.5, 0.0, false), [0.5, 0.0, 0.5, 0.75]);
        // Smooth: smoothstep's weight, the same at the middle, less before.
        assert_eq!(at(0.5, 1.0, false), [0.5, 0.0, 0.5, 0.75]);
        assert!(at(0.3, 1.0, false)[2] < at(0.3, 0.0, false)[2]);
        // Step: `from` until the end, `to` from it.
        assert_eq!(at(0.5, 2.0, false), RED);
        assert_eq!(at(0.75, 2.0, false), BLUE);
        // Past the end, linear holds `to`; an unknown interpolation gives 0.
        assert_eq!(at(0.9, 0.0, false), BLUE);
        assert_eq!(at(0.5, 3.0, false), [0.0; 4]);
        // An interval past the ramp's last keeps the previous colour.
        assert_eq!(at(0.5, 0.0, true), WHITE);
    }

    #[test]
    fn ramp_positions_follow_its_type() {
        assert_eq!(ramp_position(0.0, [0.3, 0.9]), 0.3);
        // Angle: straight below the centre is 0.5 - 0.5 = 0, to the right a
        // quarter turn on.
        assert!((ramp_position(1.0, [0.5, 0.2]) - 1.0).abs() < 1e-5);
        assert!((ramp_position(1.0, [0.9, 0.5]) - 0.75).abs() < 1e-5);
        assert!((ramp_position(2.0, [1.0, 0.5]) - 0.707).abs() < 1e-6);
        assert_eq!(ramp_position(3.0, [0.875, 0.625]), 0.75);
        assert_eq!(ramp_position(4.0, [0.875, 0.625]), 0.0);
    }

    #[test]
    fn ramp_of_three_colours_passes_through_each_and_ignores_the_rest() {
        let mut inputs = [0.0; 55];
        inputs[3] = 0.0; // linear
        inputs[4] = 3.0; // three colours
        let stops = [(0.0, RED), (0.5, BLUE), (1.0, WHITE), (0.7, BLACK)];
        for (k, (at, colour)) in stops.iter().enumerate() {
            inputs[5 + k * 5] = *at;
            inputs[6 + k * 5..10 + k * 5].copy_from_slice(colour);
        }
        let at_u = |u: f32| {
            let mut v = inputs;
            v[0] = u;
            ramp_of(v)
        };
        // At 0 no interval has started: the first colour.
        assert_eq!(at_u(0.0), RED);
        assert_eq!(at_u(0.25), [0.5, 0.0, 0.5, 0.75]);
        assert_eq!(at_u(0.75), [0.5, 0.5, 1.0, 0.75]);
        // The fourth stop (0.7) is past num_intervals: not used.
        assert_eq!(at_u(1.0), WHITE);
    }
}
