//! MaterialX's `unifiednoise2d` and `unifiednoise3d`: one node for four
//! noises (Perlin, cell, Worley, fractal), chosen by `type`, with a
//! frequency, an offset, a jitter that also turns the coordinate, and the
//! result ranged to outmin..outmax. MaterialX defines them by graphs that
//! compute all four noises and switch between them; these follow the
//! graphs operation for operation, the same pixels, computing only the
//! noises a tile's samples choose.

use crate::conditional::switched;
use crate::kind::kind;
use crate::math::range_of;
use crate::noise::{WorleyMetric, WorleyStyle, cell_plane, worley_plane};
use crate::noise_nodes::{fractal_float_plane, perlin_plane, worley_style};
use crate::vector::{rotate2d_of, rotate3d_of};
use glam::{Vec2, Vec3};
use std::sync::Arc;
use tessera_core::{
    Buffer, BuildArgs, BuildError, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec,
    SocketType, TileCtx, Value, ValueType,
};

fn slices<const D: usize>(planes: &[Vec<f32>; D]) -> [&[f32]; D] {
    planes.each_ref().map(Vec::as_slice)
}

/// How many noises `type` chooses from: 0 Perlin, 1 cell, 2 Worley, 3
/// fractal.
const NOISES: usize = 4;

struct Unified<const D: usize> {
    octaves: u32,
    style: WorleyStyle,
}

impl<const D: usize> Unified<D> {
    /// The graph's coordinates, `coord * freq + offset`, and its turn,
    /// `(jitter - 1) * 90000` degrees.
    fn coordinates(
        coords: [&[f32]; D],
        [freq, offset]: [[&[f32]; D]; 2],
        jitter: &[f32],
    ) -> ([Vec<f32>; D], Vec<f32>) {
        let len = jitter.len();
        let moved: [Vec<f32>; D] = std::array::from_fn(|d| {
            (0..len)
                .map(|k| coords[d][k] * freq[d][k] + offset[d][k])
                .collect()
        });
        let turn: Vec<f32> = jitter.iter().map(|j| (j - 1.0) * 90000.0).collect();
        (moved, turn)
    }

    /// The coordinates `moved` turned by `turn` degrees (about (0.1, 1, 0)
    /// in 3D): only where a chosen noise reads them (a sine and a cosine a
    /// sample).
    fn turned(moved: &[Vec<f32>; D], turn: &[f32]) -> [Vec<f32>; D] {
        let len = turn.len();
        let mut turned: [Vec<f32>; D] = std::array::from_fn(|_| vec![0.0; len]);
        for k in 0..len {
            let at: [f32; D] = std::array::from_fn(|d| moved[d][k]);
            let rotated: [f32; D] = match at[..] {
                [x, y] => {
                    let [x, y] = rotate2d_of([x, y], turn[k]);
                    std::array::from_fn(|d| [x, y][d])
                }
                [x, y, z] => {
                    let axis = Vec3::new(0.1, 1.0, 0.0);
                    let v = rotate3d_of(Vec3::new(x, y, z), turn[k], axis).to_array();
                    std::array::from_fn(|d| v[d])
                }
                _ => unreachable!("noise coordinates are 2D or 3D"),
            };
            for d in 0..D {
                turned[d][k] = rotated[d];
            }
        }
        turned
    }
}

impl<const D: usize> Node for Unified<D> {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [
            coord,
            freq,
            offset,
            jitter,
            outmin,
            outmax,
            clamp,
            lacunarity,
            diminish,
            ty,
        ] = std::array::from_fn(|i| inputs[i]);
        let (jitter, ty) = (jitter.plane(0), ty.plane(0));
        let len = jitter.len();
        let planes = [freq.planes::<D>(), offset.planes::<D>()];
        let (moved, turn) = Self::coordinates(coord.planes::<D>(), planes, jitter);
        let mut chosen = [false; NOISES];
        for &which in ty {
            if let Some(noise) = switched(which, NOISES) {
                chosen[noise] = true;
            }
        }
        // Perlin, cell and the 3D fractal read the turned coordinates.
        let turned = if chosen[0] || chosen[1] || (chosen[3] && D == 3) {
            Self::turned(&moved, &turn)
        } else {
            std::array::from_fn(|_| Vec::new())
        };
        let mut noises: [Vec<f32>; NOISES] = std::array::from_fn(|_| Vec::new());
        if chosen[0] {
            let half = vec![0.5; len];
            noises[0] = vec![0.0; len];
            perlin_plane(&mut noises[0], &half, &half, slices(&turned));
        }
        if chosen[1] {
            noises[1] = vec![0.0; len];
            cell_plane(&mut noises[1], slices(&turned));
        }
        if chosen[2] {
            noises[2] = vec![0.0; len];
            let (metric, at) = (WorleyMetric::Euclidean, slices(&moved));
            worley_plane([&mut noises[2]], jitter, at, self.style, metric);
        }
        if chosen[3] {
            noises[3] = vec![0.0; len];
            let amplitude = vec![1.0; len];
            let octave_planes = [&amplitude[..], lacunarity.plane(0), diminish.plane(0)];
            // 2D: the fractal3d at (the moved coordinate, the turn); 3D: at
            // the turned coordinate.
            let position: [&[f32]; 3] = match D {
                2 => [&moved[0], &moved[1], &turn],
                _ => std::array::from_fn(|d| &turned[d][..]),
            };
            fractal_float_plane(&mut noises[3], octave_planes, position, self.octaves);
        }
        let (outmin, outmax, clamp) = (outmin.plane(0), outmax.plane(0), clamp.plane(0));
        for (k, out) in outputs[0].plane_mut(0).iter_mut().enumerate() {
            let noise = switched(ty[k], NOISES).map_or(0.0, |n| noises[n][k]);
            *out = range_of(
                [noise, 0.0, 1.0, 1.0, outmin[k], outmax[k]],
                clamp[k] == 1.0,
            );
        }
        Ok(())
    }
}

fn vector<const D: usize>(name: &str, v: f32, doc: &str) -> InputSpec {
    let (ty, value) = match D {
        2 => (ValueType::Vector2, Value::Vector2(Vec2::splat(v))),
        _ => (ValueType::Vector3, Value::Vector3(Vec3::splat(v))),
    };
    InputSpec::fixed(name, ty, value, doc)
}

fn unified_spec<const D: usize>(name: &str, coord: InputSpec) -> NodeSpec {
    let integer = |name: &str, v: i64, doc: &str| {
        InputSpec::fixed(name, ValueType::Integer, Value::Integer(v), doc)
    };
    NodeSpec::new(
        name,
        "one of four noises by type (0 Perlin, 1 cell, 2 Worley, 3 fractal) at coord * freq + \
         offset, ranged from 0..1 to outmin..outmax (MaterialX's unified noise); a jitter other \
         than 1 turns the coordinate by (jitter - 1) * 90000 degrees for Perlin and cell noise \
         (and the 3D fractal; the 2D fractal takes the turn as its third coordinate)",
    )
    .input(coord)
    .input(vector::<D>("freq", 1.0, "the coordinate's scale, per axis"))
    .input(vector::<D>("offset", 0.0, "added to the scaled coordinate"))
    .input(InputSpec::float(
        "jitter",
        1.0,
        "Worley's feature points' jitter; other than 1 it also turns the other noises' \
         coordinate",
    ))
    .input(InputSpec::float(
        "outmin",
        0.0,
        "the value for the noise's 0",
    ))
    .input(InputSpec::float(
        "outmax",
        1.0,
        "the value for the noise's 1",
    ))
    .input(InputSpec::float(
        "clampoutput",
        1.0,
        "a boolean (1 true, 0 false): 1 clamps the result to outmin..outmax",
    ))
    .input(integer("octaves", 3, "the fractal's octaves").range(1.0, 16.0))
    .input(InputSpec::float(
        "lacunarity",
        2.0,
        "the fractal's frequency ratio between octaves",
    ))
    .input(InputSpec::float(
        "diminish",
        0.5,
        "the fractal's amplitude ratio between octaves",
    ))
    .input(InputSpec::float(
        "type",
        0.0,
        "an integer: 0 Perlin, 1 cell, 2 Worley, 3 fractal (others give outmin)",
    ))
    .input(integer("style", 0, "Worley's style: 0 distance, 1 solid").range(0.0, 1.0))
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Float),
        "the noise",
    ))
}

fn build<const D: usize>(args: &BuildArgs) -> Result<Box<dyn Node>, BuildError> {
    Ok(Box::new(Unified::<D> {
        octaves: args.integer("octaves") as u32,
        style: worley_style(args)?,
    }))
}

pub fn unifiednoise2d() -> Arc<dyn NodeKind> {
    kind(
        unified_spec::<2>("unifiednoise2d", InputSpec::texcoord()),
        build::<2>,
    )
}

pub fn unifiednoise3d() -> Arc<dyn NodeKind> {
    kind(
        unified_spec::<3>("unifiednoise3d", InputSpec::position()),
        build::<3>,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::{cell2, perlin2};
    use crate::test_util::eval_one;

    /// unifiednoise2d at `texcoord` with `type` and outmin..outmax; the
    /// other inputs MaterialX's defaults.
    fn unified(texcoord: [f32; 2], ty: f32, [outmin, outmax]: [f32; 2]) -> f32 {
        let inputs: [&[f32]; 10] = [
            &texcoord,
            &[1.0, 1.0],
            &[0.0, 0.0],
            &[1.0],
            &[outmin],
            &[outmax],
            &[1.0],
            &[2.0],
            &[0.5],
            &[ty],
        ];
        eval_one(&unifiednoise2d(), None, &inputs)[0][0]
    }

    #[test]
    fn type_chooses_the_noise_and_the_range_maps_it() {
        let at = [2.3, -0.7];
        let perlin = perlin2(Vec2::from(at)) * 0.5 + 0.5;
        assert_eq!(unified(at, 0.0, [0.0, 1.0]), perlin);
        assert_eq!(unified(at, 1.0, [0.0, 1.0]), cell2(Vec2::from(at)));
        // Ranged: 0..1 to 2..4, clamped.
        assert_eq!(
            unified(at, 1.0, [2.0, 4.0]),
            2.0 + cell2(Vec2::from(at)) * 2.0
        );
        // A type past the fourth chooses none: 0, ranged to outmin.
        assert_eq!(unified(at, 4.0, [0.25, 1.0]), 0.25);
        assert_eq!(unified(at, f32::NAN, [0.25, 1.0]), 0.25);
        // Worley and the fractal give other values in 0..1.
        for ty in [2.0, 3.0] {
            let v = unified(at, ty, [0.0, 1.0]);
            assert!((0.0..=1.0).contains(&v) && v != perlin, "{ty}: {v}");
        }
    }
}
