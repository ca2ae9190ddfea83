//! The noise nodes: MaterialX's `noise2d`, `noise3d`, `fractal2d`,
//! `cellnoise2d` and `worleynoise2d`, on the functions of [`crate::noise`].

use crate::kind::{Choices, kind};
use crate::noise::{WorleyMetric, cell2, fractal2, perlin2, perlin3, worley2};
use glam::{Vec2, Vec3};
use std::sync::Arc;
use tessera_core::{
    Buffer, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType, TileCtx, Value,
    ValueType,
};

fn float_input(name: &str, default: f32, doc: &str) -> InputSpec {
    InputSpec::fixed(name, ValueType::Float, Value::Float(default), doc)
}

fn float_output(doc: &str) -> OutputSpec {
    OutputSpec::new("out", SocketType::Fixed(ValueType::Float), doc)
}

/// `noise(p) * amplitude + pivot` for a 2D or 3D coordinate `p`.
struct Perlin<const D: usize>;

impl<const D: usize> Node for Perlin<D> {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [amplitude, pivot, coord] = [inputs[0], inputs[1], inputs[2]];
        for (((out, a), p), c) in outputs[0]
            .data_mut()
            .iter_mut()
            .zip(amplitude.data())
            .zip(pivot.data())
            .zip(coord.samples::<D>())
        {
            let n = if D == 2 {
                perlin2(Vec2::from_slice(&c))
            } else {
                perlin3(Vec3::from_slice(&c))
            };
            *out = n * a + p;
        }
        Ok(())
    }
}

fn perlin_spec(name: &str, coord: InputSpec) -> NodeSpec {
    NodeSpec::new(
        name,
        "Perlin gradient noise as in OSL and MaterialX (lookup3 lattice hash, quintic fade), in -1..1, times amplitude plus pivot",
    )
    .input(float_input("amplitude", 1.0, "scale of the noise"))
    .input(float_input("pivot", 0.0, "added after scaling"))
    .input(coord)
    .output(float_output("noise * amplitude + pivot"))
}

pub fn noise2d() -> Arc<dyn NodeKind> {
    kind(perlin_spec("noise2d", InputSpec::texcoord()), |_| {
        Ok(Box::new(Perlin::<2>))
    })
}

pub fn noise3d() -> Arc<dyn NodeKind> {
    kind(perlin_spec("noise3d", InputSpec::position()), |_| {
        Ok(Box::new(Perlin::<3>))
    })
}

struct Fractal {
    octaves: u32,
}

impl Node for Fractal {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [amplitude, lacunarity, diminish, texcoord] =
            [inputs[0], inputs[1], inputs[2], inputs[3]];
        for ((((out, a), l), d), uv) in outputs[0]
            .data_mut()
            .iter_mut()
            .zip(amplitude.data())
            .zip(lacunarity.data())
            .zip(diminish.data())
            .zip(texcoord.samples::<2>())
        {
            *out = a * fractal2(Vec2::from(uv), self.octaves, *l, *d);
        }
        Ok(())
    }
}

pub fn fractal2d() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "fractal2d",
        "fractal Brownian motion: octaves of noise2d, each lacunarity times finer and diminish times weaker, times amplitude",
    )
    .input(float_input("amplitude", 1.0, "scale of the result"))
    .input(
        InputSpec::fixed("octaves", ValueType::Integer, Value::Integer(3), "number of noise layers")
            .range(1.0, 16.0),
    )
    .input(float_input("lacunarity", 2.0, "frequency ratio between successive octaves"))
    .input(float_input("diminish", 0.5, "amplitude ratio between successive octaves"))
    .input(InputSpec::texcoord())
    .output(float_output("the fractal noise"));
    kind(spec, |args| {
        Ok(Box::new(Fractal {
            octaves: args.integer("octaves") as u32,
        }))
    })
}

struct Cell;

impl Node for Cell {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        for (out, uv) in outputs[0]
            .data_mut()
            .iter_mut()
            .zip(inputs[0].samples::<2>())
        {
            *out = cell2(Vec2::from(uv));
        }
        Ok(())
    }
}

pub fn cellnoise2d() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "cellnoise2d",
        "a random value in 0..1 per unit cell of texcoord (OSL's cellnoise: the hash of the floored coordinate)",
    )
    .input(InputSpec::texcoord())
    .output(float_output("the cell's value"));
    kind(spec, |_| Ok(Box::new(Cell)))
}

struct Worley {
    metric: WorleyMetric,
}

impl Node for Worley {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [jitter, texcoord] = [inputs[0], inputs[1]];
        for ((out, j), uv) in outputs[0]
            .data_mut()
            .iter_mut()
            .zip(jitter.data())
            .zip(texcoord.samples::<2>())
        {
            *out = worley2(Vec2::from(uv), *j, self.metric);
        }
        Ok(())
    }
}

const METRICS: Choices<WorleyMetric> = Choices(&[
    ("euclidean", WorleyMetric::Euclidean),
    ("distance2", WorleyMetric::DistanceSquared),
    ("manhattan", WorleyMetric::Manhattan),
    ("chebyshev", WorleyMetric::Chebyshev),
]);

pub fn worleynoise2d() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "worleynoise2d",
        "Worley (cellular) noise: the distance from texcoord to the nearest of one jittered feature point per unit cell",
    )
    .input(float_input("jitter", 1.0, "how far feature points stray from cell centres").range(0.0, 1.0))
    .input(
        METRICS.input(
            "metric",
            "euclidean",
            "distance measure: euclidean, distance2 (squared), manhattan or chebyshev",
        ),
    )
    .input(InputSpec::texcoord())
    .output(float_output("distance to the nearest feature point"));
    kind(spec, |args| {
        let metric = METRICS.pick(args, "metric")?;
        Ok(Box::new(Worley { metric }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::eval_one;

    #[test]
    fn noise_nodes_scale_and_offset_the_noise() {
        let p = [0.3f32, 1.7];
        let n = perlin2(Vec2::from(p));
        assert_eq!(
            eval_one(&noise2d(), None, &[&[2.0], &[0.5], &p])[0],
            [n * 2.0 + 0.5]
        );
        let q = [0.3f32, 1.7, -2.2];
        assert_eq!(
            eval_one(&noise3d(), None, &[&[1.0], &[0.0], &q])[0],
            [perlin3(Vec3::from(q))]
        );
        // Exactly the pivot at lattice points.
        assert_eq!(
            eval_one(&noise2d(), None, &[&[2.0], &[0.5], &[3.0, -4.0]])[0],
            [0.5]
        );
    }

    #[test]
    fn fractal_cell_and_worley_call_their_functions() {
        let p = [0.3f32, 1.7];
        assert_eq!(
            eval_one(&fractal2d(), None, &[&[0.5], &[2.0], &[0.5], &p])[0],
            [0.5 * fractal2(Vec2::from(p), 3, 2.0, 0.5)]
        );
        assert_eq!(
            eval_one(&cellnoise2d(), None, &[&p])[0],
            [cell2(Vec2::from(p))]
        );
        assert_eq!(
            eval_one(&worleynoise2d(), None, &[&[1.0], &p])[0],
            [worley2(Vec2::from(p), 1.0, WorleyMetric::Euclidean)]
        );
    }
}
