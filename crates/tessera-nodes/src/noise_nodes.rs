//! The noise nodes: MaterialX's `noise2d`, `noise3d`, `fractal2d`,
//! `fractal3d`, `cellnoise2d`, `cellnoise3d`, `worleynoise2d` and
//! `worleynoise3d`, on the functions of [`crate::noise`]. Each 2D node reads
//! `texcoord`, its 3D twin `position`.

use crate::kind::{Choices, kind};
use crate::noise::{
    WorleyMetric, cell2, cell3, fractal2, fractal3, perlin2, perlin3, worley2, worley3,
};
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

struct Fractal<const D: usize> {
    octaves: u32,
}

impl<const D: usize> Node for Fractal<D> {
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
            .zip(texcoord.samples::<D>())
        {
            let n = if D == 2 {
                fractal2(Vec2::from_slice(&uv), self.octaves, *l, *d)
            } else {
                fractal3(Vec3::from_slice(&uv), self.octaves, *l, *d)
            };
            *out = a * n;
        }
        Ok(())
    }
}

fn fractal_spec(name: &str, coord: InputSpec) -> NodeSpec {
    NodeSpec::new(
        name,
        "fractal Brownian motion: octaves of Perlin noise, each lacunarity times finer and diminish times weaker, times amplitude",
    )
    .input(float_input("amplitude", 1.0, "scale of the result"))
    .input(
        InputSpec::fixed("octaves", ValueType::Integer, Value::Integer(3), "number of noise layers")
            .range(1.0, 16.0),
    )
    .input(float_input("lacunarity", 2.0, "frequency ratio between successive octaves"))
    .input(float_input("diminish", 0.5, "amplitude ratio between successive octaves"))
    .input(coord)
    .output(float_output("the fractal noise"))
}

pub fn fractal2d() -> Arc<dyn NodeKind> {
    kind(fractal_spec("fractal2d", InputSpec::texcoord()), |args| {
        Ok(Box::new(Fractal::<2> {
            octaves: args.integer("octaves") as u32,
        }))
    })
}

pub fn fractal3d() -> Arc<dyn NodeKind> {
    kind(fractal_spec("fractal3d", InputSpec::position()), |args| {
        Ok(Box::new(Fractal::<3> {
            octaves: args.integer("octaves") as u32,
        }))
    })
}

struct Cell<const D: usize>;

impl<const D: usize> Node for Cell<D> {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        for (out, uv) in outputs[0]
            .data_mut()
            .iter_mut()
            .zip(inputs[0].samples::<D>())
        {
            *out = if D == 2 {
                cell2(Vec2::from_slice(&uv))
            } else {
                cell3(Vec3::from_slice(&uv))
            };
        }
        Ok(())
    }
}

fn cell_spec(name: &str, coord: InputSpec) -> NodeSpec {
    NodeSpec::new(
        name,
        "a random value in 0..1 per unit cell of the coordinate (OSL's cellnoise: the hash of the floored coordinate)",
    )
    .input(coord)
    .output(float_output("the cell's value"))
}

pub fn cellnoise2d() -> Arc<dyn NodeKind> {
    kind(cell_spec("cellnoise2d", InputSpec::texcoord()), |_| {
        Ok(Box::new(Cell::<2>))
    })
}

pub fn cellnoise3d() -> Arc<dyn NodeKind> {
    kind(cell_spec("cellnoise3d", InputSpec::position()), |_| {
        Ok(Box::new(Cell::<3>))
    })
}

struct Worley<const D: usize> {
    metric: WorleyMetric,
}

impl<const D: usize> Node for Worley<D> {
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
            .zip(texcoord.samples::<D>())
        {
            *out = if D == 2 {
                worley2(Vec2::from_slice(&uv), *j, self.metric)
            } else {
                worley3(Vec3::from_slice(&uv), *j, self.metric)
            };
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

fn worley_spec(name: &str, coord: InputSpec) -> NodeSpec {
    NodeSpec::new(
        name,
        "Worley (cellular) noise: the distance from the coordinate to the nearest of one jittered feature point per unit cell",
    )
    .input(float_input("jitter", 1.0, "how far feature points stray from cell centres").range(0.0, 1.0))
    .input(
        METRICS.input(
            "metric",
            "euclidean",
            "distance measure: euclidean, distance2 (squared), manhattan or chebyshev",
        ),
    )
    .input(coord)
    .output(float_output("distance to the nearest feature point"))
}

pub fn worleynoise2d() -> Arc<dyn NodeKind> {
    kind(
        worley_spec("worleynoise2d", InputSpec::texcoord()),
        |args| {
            let metric = METRICS.pick(args, "metric")?;
            Ok(Box::new(Worley::<2> { metric }))
        },
    )
}

pub fn worleynoise3d() -> Arc<dyn NodeKind> {
    kind(
        worley_spec("worleynoise3d", InputSpec::position()),
        |args| {
            let metric = METRICS.pick(args, "metric")?;
            Ok(Box::new(Worley::<3> { metric }))
        },
    )
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
        let q = [0.3f32, 1.7, -2.2];
        assert_eq!(
            eval_one(&fractal3d(), None, &[&[0.5], &[2.0], &[0.5], &q])[0],
            [0.5 * fractal3(Vec3::from(q), 3, 2.0, 0.5)]
        );
        assert_eq!(
            eval_one(&cellnoise3d(), None, &[&q])[0],
            [cell3(Vec3::from(q))]
        );
        assert_eq!(
            eval_one(&worleynoise3d(), None, &[&[0.7], &q])[0],
            [worley3(Vec3::from(q), 0.7, WorleyMetric::Euclidean)]
        );
    }

    #[test]
    fn worley_without_jitter_measures_to_the_cell_centres() {
        let at = |p: [f32; 3], metric| worley3(Vec3::from(p), 0.0, metric);
        assert_eq!(at([2.5, -1.5, 0.5], WorleyMetric::Euclidean), 0.0);
        assert!((at([0.1, 0.5, 0.5], WorleyMetric::Euclidean) - 0.4).abs() < 1e-6);
        assert!((at([0.2, 0.3, 0.5], WorleyMetric::Manhattan) - 0.5).abs() < 1e-6);
        assert!((at([0.2, 0.3, 0.5], WorleyMetric::Chebyshev) - 0.3).abs() < 1e-6);
        assert!((at([0.2, 0.3, 0.5], WorleyMetric::DistanceSquared) - 0.13).abs() < 1e-6);
    }
}
