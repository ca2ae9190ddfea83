//! The noise nodes: MaterialX's `noise2d`, `noise3d`, `fractal2d`,
//! `fractal3d`, `cellnoise2d`, `cellnoise3d`, `worleynoise2d` and
//! `worleynoise3d`, on the functions of [`crate::noise`]. Each 2D node reads
//! `texcoord`, its 3D twin `position`.

use crate::kind::{Choices, kind};
use crate::noise::{
    Flake, Surface, WorleyMetric, WorleyStyle, cell_plane, flake, fractal2_plane,
    fractal2_vec3_plane, fractal3_plane, fractal3_vec3_plane, perlin2_plane, perlin2_vec3_plane,
    perlin3_plane, perlin3_vec3_plane, worley_plane,
};
use glam::Vec3;
use std::sync::Arc;
use tessera_core::{
    Buffer, BuildArgs, BuildError, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec,
    SocketType, TileCtx, Value, ValueType,
};

fn float_output(doc: &str) -> OutputSpec {
    float_output_named("out", doc)
}

fn float_output_named(name: &str, doc: &str) -> OutputSpec {
    OutputSpec::new(name, SocketType::Fixed(ValueType::Float), doc)
}

/// The types the generic noise nodes render (MaterialX's float, vector2,
/// vector3 and vector4 forms; a colour is the vector of its channel count).
const NOISE_TYPES: &[ValueType] = &[
    ValueType::Float,
    ValueType::Vector2,
    ValueType::Vector3,
    ValueType::Vector4,
    ValueType::Color3,
    ValueType::Color4,
];

/// Channels of a generic noise node's resolved type.
fn channels(args: &BuildArgs) -> usize {
    args.generic_type().channels().unwrap_or(1)
}

/// Where `mx_noise2d_vector4` (and `mx_noise3d_vector4`) take their fourth
/// channel: the float noise at the coordinate moved by this much.
const NOISE_W_OFFSET: [f32; 3] = [19.0, 73.0, 29.0];
/// Where `mx_fractal2d_noise_vec2/vec4` (and the 3D ones) take their second
/// or fourth channel: the float fractal at the coordinate moved by this much.
const FRACTAL_OFFSET: [f32; 3] = [19.0, 193.0, 17.0];

/// The coordinate planes moved by `offset`: where MaterialX's vector forms
/// take a channel from the float noise.
fn shifted<const D: usize>(coords: [&[f32]; D], offset: [f32; 3]) -> [Vec<f32>; D] {
    std::array::from_fn(|d| coords[d].iter().map(|c| c + offset[d]).collect())
}

/// The noise kernels of a `D`-dimensional coordinate (2 or 3).
pub(crate) fn perlin_plane<const D: usize>(
    out: &mut [f32],
    amplitude: &[f32],
    pivot: &[f32],
    coords: [&[f32]; D],
) {
    match coords[..] {
        [x, y] => perlin2_plane(out, amplitude, pivot, [x, y]),
        [x, y, z] => perlin3_plane(out, amplitude, pivot, [x, y, z]),
        _ => unreachable!("noise coordinates are 2D or 3D"),
    }
}

fn perlin_vec3_plane<const D: usize>(
    out: [&mut [f32]; 3],
    amplitude: [&[f32]; 3],
    pivot: &[f32],
    coords: [&[f32]; D],
) {
    match coords[..] {
        [x, y] => perlin2_vec3_plane(out, amplitude, pivot, [x, y]),
        [x, y, z] => perlin3_vec3_plane(out, amplitude, pivot, [x, y, z]),
        _ => unreachable!("noise coordinates are 2D or 3D"),
    }
}

pub(crate) fn fractal_float_plane<const D: usize>(
    out: &mut [f32],
    planes: [&[f32]; 3],
    coords: [&[f32]; D],
    octaves: u32,
) {
    match coords[..] {
        [x, y] => fractal2_plane(out, planes, [x, y], octaves),
        [x, y, z] => fractal3_plane(out, planes, [x, y, z], octaves),
        _ => unreachable!("noise coordinates are 2D or 3D"),
    }
}

fn fractal_vec3_plane<const D: usize>(
    out: [&mut [f32]; 3],
    amplitude: [&[f32]; 3],
    planes: [&[f32]; 2],
    coords: [&[f32]; D],
    octaves: u32,
) {
    match coords[..] {
        [x, y] => fractal2_vec3_plane(out, amplitude, planes, [x, y], octaves),
        [x, y, z] => fractal3_vec3_plane(out, amplitude, planes, [x, y, z], octaves),
        _ => unreachable!("noise coordinates are 2D or 3D"),
    }
}

/// `noise(p) * amplitude + pivot` for a 2D or 3D coordinate `p`, in the
/// channels of the node's type, as MaterialX's forms make them: the float
/// noise; three channels from each lattice hash's bytes
/// (`mx_perlin_noise_vec3`), of which vector2 keeps two; vector4 adds the
/// float noise at the coordinate moved by (19, 73, 29).
struct Perlin<const D: usize> {
    channels: usize,
}

impl<const D: usize> Node for Perlin<D> {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [amplitude, pivot, coord] = [inputs[0], inputs[1], inputs[2]];
        let (coords, pivot) = (coord.planes::<D>(), pivot.data());
        let out = &mut outputs[0];
        match self.channels {
            1 => perlin_plane(out.data_mut(), amplitude.data(), pivot, coords),
            2 => {
                let [x, y] = out.planes_mut::<2>();
                let [ax, ay] = amplitude.planes::<2>();
                let mut z = vec![0.0; pivot.len()];
                perlin_vec3_plane([x, y, &mut z], [ax, ay, ax], pivot, coords);
            }
            3 => perlin_vec3_plane(
                out.planes_mut::<3>(),
                amplitude.planes::<3>(),
                pivot,
                coords,
            ),
            _ => {
                let [x, y, z, w] = out.planes_mut::<4>();
                let [ax, ay, az, aw] = amplitude.planes::<4>();
                perlin_vec3_plane([x, y, z], [ax, ay, az], pivot, coords);
                let moved = shifted(coords, NOISE_W_OFFSET);
                perlin_plane(w, aw, pivot, moved.each_ref().map(Vec::as_slice));
            }
        }
        Ok(())
    }
}

fn perlin_spec(name: &str, coord: InputSpec) -> NodeSpec {
    NodeSpec::new(
        name,
        "Perlin gradient noise as in OSL and MaterialX (lookup3 lattice hash, quintic fade), in -1..1, times amplitude plus pivot; \
         vector and colour types take each channel's gradients from another byte of the hash (MaterialX's mx_perlin_noise_vec3), \
         a fourth channel from the float noise moved by (19, 73, 29)",
    )
    .input(InputSpec::generic("amplitude", 1.0, "scale of the noise, per channel"))
    .input(InputSpec::float("pivot", 0.0, "added after scaling"))
    .input(coord)
    .output(OutputSpec::new("out", SocketType::Generic, "noise * amplitude + pivot"))
    .generic_over(NOISE_TYPES)
}

pub fn noise2d() -> Arc<dyn NodeKind> {
    kind(perlin_spec("noise2d", InputSpec::texcoord()), |args| {
        Ok(Box::new(Perlin::<2> {
            channels: channels(args),
        }))
    })
}

pub fn noise3d() -> Arc<dyn NodeKind> {
    kind(perlin_spec("noise3d", InputSpec::position()), |args| {
        Ok(Box::new(Perlin::<3> {
            channels: channels(args),
        }))
    })
}

/// `amplitude * fractal(p)`, in the channels of the node's type, as
/// MaterialX's forms make them: the float fractal; three channels of the
/// vector noise's fractal; vector2 is the float fractal here and at the
/// coordinate moved by (19, 193, 17), vector4 adds the latter to the three.
struct Fractal<const D: usize> {
    octaves: u32,
    channels: usize,
}

impl<const D: usize> Node for Fractal<D> {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [amplitude, lacunarity, diminish, coord] = [inputs[0], inputs[1], inputs[2], inputs[3]];
        let (lacunarity, diminish) = (lacunarity.data(), diminish.data());
        let coords = coord.planes::<D>();
        let octaves = self.octaves;
        let out = &mut outputs[0];
        match self.channels {
            1 => {
                let planes = [amplitude.data(), lacunarity, diminish];
                fractal_float_plane(out.data_mut(), planes, coords, octaves);
            }
            2 => {
                let [x, y] = out.planes_mut::<2>();
                let [ax, ay] = amplitude.planes::<2>();
                fractal_float_plane(x, [ax, lacunarity, diminish], coords, octaves);
                let moved = shifted(coords, FRACTAL_OFFSET);
                let moved = moved.each_ref().map(Vec::as_slice);
                fractal_float_plane(y, [ay, lacunarity, diminish], moved, octaves);
            }
            3 => {
                let (out, a) = (out.planes_mut::<3>(), amplitude.planes::<3>());
                fractal_vec3_plane(out, a, [lacunarity, diminish], coords, octaves);
            }
            _ => {
                let [x, y, z, w] = out.planes_mut::<4>();
                let [ax, ay, az, aw] = amplitude.planes::<4>();
                let planes = [lacunarity, diminish];
                fractal_vec3_plane([x, y, z], [ax, ay, az], planes, coords, octaves);
                let moved = shifted(coords, FRACTAL_OFFSET);
                let moved = moved.each_ref().map(Vec::as_slice);
                fractal_float_plane(w, [aw, lacunarity, diminish], moved, octaves);
            }
        }
        Ok(())
    }
}

fn fractal_spec(name: &str, coord: InputSpec) -> NodeSpec {
    NodeSpec::new(
        name,
        "fractal Brownian motion: octaves of Perlin noise, each lacunarity times finer and diminish times weaker, times amplitude; \
         vector and colour types sum the vector noise, a second or fourth channel the float fractal moved by (19, 193, 17)",
    )
    .input(InputSpec::generic("amplitude", 1.0, "scale of the result, per channel"))
    .input(
        InputSpec::fixed("octaves", ValueType::Integer, Value::Integer(3), "number of noise layers")
            .range(1.0, 16.0),
    )
    .input(InputSpec::float("lacunarity", 2.0, "frequency ratio between successive octaves"))
    .input(InputSpec::float("diminish", 0.5, "amplitude ratio between successive octaves"))
    .input(coord)
    .output(OutputSpec::new("out", SocketType::Generic, "the fractal noise"))
    .generic_over(NOISE_TYPES)
}

pub fn fractal2d() -> Arc<dyn NodeKind> {
    kind(fractal_spec("fractal2d", InputSpec::texcoord()), |args| {
        Ok(Box::new(Fractal::<2> {
            octaves: args.integer("octaves") as u32,
            channels: channels(args),
        }))
    })
}

pub fn fractal3d() -> Arc<dyn NodeKind> {
    kind(fractal_spec("fractal3d", InputSpec::position()), |args| {
        Ok(Box::new(Fractal::<3> {
            octaves: args.integer("octaves") as u32,
            channels: channels(args),
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
        cell_plane::<D>(outputs[0].data_mut(), inputs[0].planes::<D>());
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

/// MaterialX's flake2d (on (u, v, 0)) and flake3d.
struct Flakes<const D: usize>;

impl<const D: usize> Node for Flakes<D> {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [size, roughness, coverage, coord, normal, tangent, bitangent] =
            std::array::from_fn(|i| inputs[i]);
        let frames = (normal.samples::<3>())
            .zip(tangent.samples::<3>())
            .zip(bitangent.samples::<3>())
            .map(|((n, t), b)| Surface {
                normal: Vec3::from_array(n),
                tangent: Vec3::from_array(t),
                bitangent: Vec3::from_array(b),
            });
        let flakes: Vec<Flake> = (size.plane(0).iter())
            .zip(roughness.plane(0))
            .zip(coverage.plane(0))
            .zip(coord.samples::<D>())
            .zip(frames)
            .map(|((((&size, &roughness), &coverage), c), surface)| {
                let position = Vec3::new(c[0], c[1], if D == 3 { c[D - 1] } else { 0.0 });
                flake(size, roughness, coverage, position, surface)
            })
            .collect();
        let [id, rand, presence, normal] = outputs else {
            return Err(NodeError::new("flake: four outputs"));
        };
        id.write_samples(flakes.iter().map(|f| [f.id]));
        rand.write_samples(flakes.iter().map(|f| [f.rand]));
        presence.write_samples(flakes.iter().map(|f| [f.presence]));
        normal.write_samples(flakes.iter().map(|f| f.normal.to_array()));
        Ok(())
    }
}

fn flake_spec(name: &str, coord: InputSpec) -> NodeSpec {
    let vector = |name: &str, default: Vec3, doc: &str| {
        InputSpec::fixed(name, ValueType::Vector3, Value::Vector3(default), doc)
    };
    NodeSpec::new(
        name,
        "MaterialX's flakes: randomly turned cubes of diameter size in a lattice, one in a cell \
         with a probability from coverage, the highest-priority one over each point winning; \
         id, rand and presence are 0 where there is none",
    )
    .input(InputSpec::float("size", 0.01, "the flakes' diameter"))
    .input(InputSpec::float(
        "roughness",
        0.1,
        "how far the flakes' normals stray (GGX)",
    ))
    .input(InputSpec::float(
        "coverage",
        0.5,
        "how many cells have a flake: 0 none, 1 all",
    ))
    .input(coord)
    .input(vector(
        "normal",
        Vec3::Z,
        "the surface's normal: the flat image's (0, 0, 1)",
    ))
    .input(vector(
        "tangent",
        Vec3::X,
        "the surface's tangent: the flat image's u, (1, 0, 0)",
    ))
    .input(vector(
        "bitangent",
        Vec3::Y,
        "the surface's bitangent: the flat image's v, (0, 1, 0)",
    ))
    .output(float_output_named(
        "id",
        "the flake's id (an integer): int(rand * (2^24 - 1)), 0 for none",
    ))
    .output(float_output_named(
        "rand",
        "a random value of the flake in 0..1",
    ))
    .output(float_output_named(
        "presence",
        "the flake's priority in 0..1",
    ))
    .output(OutputSpec::new(
        "flakenormal",
        SocketType::Fixed(ValueType::Vector3),
        "the flake's normal; the surface's where there is none",
    ))
}

pub fn flake2d() -> Arc<dyn NodeKind> {
    kind(flake_spec("flake2d", InputSpec::texcoord()), |_| {
        Ok(Box::new(Flakes::<2>))
    })
}

pub fn flake3d() -> Arc<dyn NodeKind> {
    kind(flake_spec("flake3d", InputSpec::position()), |_| {
        Ok(Box::new(Flakes::<3>))
    })
}

struct Worley<const D: usize> {
    metric: WorleyMetric,
    style: WorleyStyle,
    channels: usize,
}

impl<const D: usize> Node for Worley<D> {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [jitter, coord] = [inputs[0], inputs[1]];
        let (jitter, coords, out) = (jitter.data(), coord.planes::<D>(), &mut outputs[0]);
        let (style, metric) = (self.style, self.metric);
        match self.channels {
            1 => worley_plane([out.data_mut()], jitter, coords, style, metric),
            2 => worley_plane(out.planes_mut::<2>(), jitter, coords, style, metric),
            _ => worley_plane(out.planes_mut::<3>(), jitter, coords, style, metric),
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
        "Worley (cellular) noise: the distance from the coordinate to the nearest of one jittered feature point per unit cell \
         (vector2: the two nearest, vector3: the three nearest), or with style 1 the random value of the nearest point's cell",
    )
    .input(InputSpec::float(
        "jitter",
        1.0,
        "how far feature points stray from cell centres: 0 at the centres, 1 anywhere in their cell; \
         above 1 they may leave it, and the nearest may then be missed, as in MaterialX, which \
         looks at the neighbouring cells only",
    ))
    .input(
        InputSpec::fixed(
            "style",
            ValueType::Integer,
            Value::Integer(0),
            "0: distances to the nearest feature points; 1 (solid): the cell noise of the nearest point's cell, one value per channel",
        )
        .range(0.0, 1.0),
    )
    .input(
        METRICS.input(
            "metric",
            "euclidean",
            "distance measure: euclidean, distance2 (squared), manhattan or chebyshev",
        ),
    )
    .input(coord)
    .output(OutputSpec::new(
        "out",
        SocketType::Generic,
        "distances to the nearest feature points, or the nearest point's cell value",
    ))
    .generic_over(&[ValueType::Float, ValueType::Vector2, ValueType::Vector3])
}

/// The Worley style a node's integer input `style` names. The compiler
/// has checked the range; a node built some other way gets an error, as
/// `Choices::pick` gives one.
pub(crate) fn worley_style(args: &BuildArgs) -> Result<WorleyStyle, BuildError> {
    let index = args.integer("style");
    i32::try_from(index)
        .ok()
        .and_then(WorleyStyle::from_index)
        .ok_or_else(|| BuildError::at_input("style", format!("no Worley style {index}: 0 or 1")))
}

fn build_worley<const D: usize>(args: &BuildArgs) -> Result<Box<dyn Node>, BuildError> {
    let metric = METRICS.pick(args, "metric")?;
    let style = worley_style(args)?;
    Ok(Box::new(Worley::<D> {
        metric,
        style,
        channels: channels(args),
    }))
}

pub fn worleynoise2d() -> Arc<dyn NodeKind> {
    kind(
        worley_spec("worleynoise2d", InputSpec::texcoord()),
        build_worley::<2>,
    )
}

pub fn worleynoise3d() -> Arc<dyn NodeKind> {
    kind(
        worley_spec("worleynoise3d", InputSpec::position()),
        build_worley::<3>,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::{
        cell2, cell3, fractal2, fractal3, perlin2, perlin2_vec3, perlin3, perlin3_vec3, worley2,
        worley3,
    };
    use crate::test_util::{eval_node, eval_one, frame};
    use glam::Vec2;
    use tessera_core::Rect;

    const FLOAT: Option<ValueType> = Some(ValueType::Float);

    #[test]
    fn noise_nodes_scale_and_offset_the_noise() {
        let p = [0.3f32, 1.7];
        let n = perlin2(Vec2::from(p));
        assert_eq!(
            eval_one(&noise2d(), FLOAT, &[&[2.0], &[0.5], &p])[0],
            [n * 2.0 + 0.5]
        );
        let q = [0.3f32, 1.7, -2.2];
        assert_eq!(
            eval_one(&noise3d(), FLOAT, &[&[1.0], &[0.0], &q])[0],
            [perlin3(Vec3::from(q))]
        );
        // Exactly the pivot at lattice points.
        assert_eq!(
            eval_one(&noise2d(), FLOAT, &[&[2.0], &[0.5], &[3.0, -4.0]])[0],
            [0.5]
        );
    }

    #[test]
    fn fractal_cell_and_worley_call_their_functions() {
        let p = [0.3f32, 1.7];
        assert_eq!(
            eval_one(&fractal2d(), FLOAT, &[&[0.5], &[2.0], &[0.5], &p])[0],
            [0.5 * fractal2(Vec2::from(p), 3, 2.0, 0.5)]
        );
        assert_eq!(
            eval_one(&cellnoise2d(), None, &[&p])[0],
            [cell2(Vec2::from(p))]
        );
        assert_eq!(
            eval_one(&worleynoise2d(), FLOAT, &[&[1.0], &p])[0],
            [worley2(Vec2::from(p), 1.0, WorleyMetric::Euclidean)]
        );
        let q = [0.3f32, 1.7, -2.2];
        assert_eq!(
            eval_one(&fractal3d(), FLOAT, &[&[0.5], &[2.0], &[0.5], &q])[0],
            [0.5 * fractal3(Vec3::from(q), 3, 2.0, 0.5)]
        );
        assert_eq!(
            eval_one(&cellnoise3d(), None, &[&q])[0],
            [cell3(Vec3::from(q))]
        );
        assert_eq!(
            eval_one(&worleynoise3d(), FLOAT, &[&[0.7], &q])[0],
            [worley3(Vec3::from(q), 0.7, WorleyMetric::Euclidean)]
        );
    }

    /// One sample of `kind` resolved to `ty`, with `uniforms` and the varying
    /// `inputs` (one sample each): the output's channels.
    fn eval_typed(
        kind: &Arc<dyn NodeKind>,
        ty: ValueType,
        uniforms: &[(&str, Value)],
        inputs: &[&[f32]],
    ) -> Vec<f32> {
        let buffers: Vec<Buffer> = inputs.iter().map(|s| Buffer::filled(s, 1)).collect();
        let out = eval_node(
            kind,
            Some(ty),
            uniforms,
            &frame(1, 1),
            Rect::new(0, 0, 1, 1),
            &buffers,
        );
        out.expect("node evaluates").remove(0).into_vec()
    }

    #[test]
    fn vector_noises_are_materialx_channel_for_channel() {
        let p = [0.3f32, 1.7];
        let v = Vec2::from(p);
        let xyz = perlin2_vec3(v);
        // vector3: each channel times its amplitude, plus the pivot.
        assert_eq!(
            eval_typed(
                &noise2d(),
                ValueType::Vector3,
                &[],
                &[&[1.0, 2.0, 3.0], &[0.5], &p]
            ),
            [xyz[0] + 0.5, xyz[1] * 2.0 + 0.5, xyz[2] * 3.0 + 0.5]
        );
        // vector2: the first two; vector4: the float noise moved by (19, 73).
        assert_eq!(
            eval_typed(
                &noise2d(),
                ValueType::Vector2,
                &[],
                &[&[1.0, 1.0], &[0.0], &p]
            ),
            xyz[..2]
        );
        let w = perlin2(v + Vec2::new(19.0, 73.0));
        assert_eq!(
            eval_typed(&noise2d(), ValueType::Color4, &[], &[&[1.0; 4], &[0.0], &p]),
            [xyz[0], xyz[1], xyz[2], w]
        );
        // The gradients read the hash's low bits: the first channel is the
        // float noise, the others are other noises; all zero on the lattice.
        assert_eq!(xyz[0], perlin2(v));
        assert!(xyz[1..].iter().all(|&n| n != xyz[0] && n.abs() <= 1.0));
        assert_eq!(perlin3_vec3(Vec3::new(2.0, -3.0, 5.0)), [0.0; 3]);
        // The fractal's vector2 is two float fractals; its vector3 sums the vector noise.
        let shifted = v + Vec2::new(19.0, 193.0);
        assert_eq!(
            eval_typed(
                &fractal2d(),
                ValueType::Vector2,
                &[],
                &[&[1.0, 1.0], &[2.0], &[0.5], &p]
            ),
            [fractal2(v, 3, 2.0, 0.5), fractal2(shifted, 3, 2.0, 0.5)]
        );
        let sum: Vec<f32> = (0..3)
            .map(|k| {
                perlin2_vec3(v)[k]
                    + 0.5 * perlin2_vec3(v * 2.0)[k]
                    + 0.25 * perlin2_vec3(v * 4.0)[k]
            })
            .collect();
        assert_eq!(
            eval_typed(
                &fractal2d(),
                ValueType::Vector3,
                &[],
                &[&[1.0; 3], &[2.0], &[0.5], &p]
            ),
            sum
        );
        let q = [0.3f32, 1.7, -2.2];
        let fourth = fractal3(Vec3::from(q) + Vec3::new(19.0, 193.0, 17.0), 3, 2.0, 0.5);
        assert_eq!(
            eval_typed(
                &fractal3d(),
                ValueType::Vector4,
                &[],
                &[&[1.0; 4], &[2.0], &[0.5], &q]
            )[3],
            fourth
        );
    }

    #[test]
    fn worley_vectors_are_the_nearest_distances_and_solid_is_the_nearest_cell() {
        let p = [0.3f32, 1.7];
        let f1 = worley2(Vec2::from(p), 1.0, WorleyMetric::Euclidean);
        let distances = eval_typed(&worleynoise2d(), ValueType::Vector3, &[], &[&[1.0], &p]);
        assert_eq!(distances[0], f1);
        assert!(
            distances[0] < distances[1] && distances[1] < distances[2],
            "{distances:?}"
        );
        assert_eq!(
            eval_typed(&worleynoise2d(), ValueType::Vector2, &[], &[&[1.0], &p]),
            distances[..2]
        );
        // Without jitter the nearest feature point is the sample's own
        // cell's centre: solid is that cell's noise.
        let solid = [("style", Value::Integer(1))];
        assert_eq!(
            eval_typed(&worleynoise2d(), ValueType::Float, &solid, &[&[0.0], &p]),
            [cell2(Vec2::from(p))]
        );
        let q = [4.2f32, -1.3, 0.6];
        let cells = eval_typed(&worleynoise3d(), ValueType::Vector3, &solid, &[&[0.0], &q]);
        let (x, y, z) = (4, -2, 0);
        let channel = |c: u32| {
            tessera_core::hash::hash_words(&[x as u32, y as u32, z as u32, c]) as f32
                / u32::MAX as f32
        };
        assert_eq!(cells, [channel(0), channel(1), channel(2)]);
    }

    #[test]
    fn a_worley_style_other_than_0_or_1_is_a_build_error() {
        let uniforms = [
            ("style".to_string(), Value::Integer(2)),
            ("metric".to_string(), Value::String("euclidean".into())),
        ];
        let args = BuildArgs {
            node_id: "w",
            generic: FLOAT,
            uniforms: &uniforms,
            base_dir: std::path::Path::new("."),
        };
        let Err(error) = worleynoise2d().build(&args) else {
            panic!("style 2 built");
        };
        assert_eq!(
            error,
            BuildError::at_input("style", "no Worley style 2: 0 or 1")
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
