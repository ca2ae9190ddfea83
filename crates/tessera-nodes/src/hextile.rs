//! `hextiledimage` (MaterialX): an image repeated over a grid of hexagons,
//! each tile turned, scaled and shifted at random, neighbouring tiles
//! blended where they meet, so that the repetition does not show. Morten
//! S. Mikkelsen's hex-tiling ("Practical Real-Time Hex-Tiling", JCGT 11(2),
//! 2022), ported from MaterialX's GLSL (`mx_hextile.glsl` and
//! `mx_hextiledimage.glsl`, Apache-2.0) operation for operation in single
//! precision, so that the tiles and weights are the ones MaterialX draws.

use crate::color::LUMA_COEFFS;
use crate::image::{Sampler, colorspace_input, file_input, load_file};
use crate::kind::kind;
use glam::{IVec2, Vec2, Vec3, Vec4};
use std::path::PathBuf;
use std::sync::Arc;
use tessera_core::{
    Buffer, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType, TileCtx, Value,
    ValueType,
};

/// How the tiles vary: MaterialX's inputs of the same names, angles in
/// degrees.
#[derive(Clone, Copy, Debug)]
struct Variation {
    rotation: f32,
    rotation_range: Vec2,
    scale: f32,
    scale_range: Vec2,
    offset: f32,
    offset_range: Vec2,
}

/// The three tiles over a point: where each reads the texture, and their
/// weights by position (which sum to 1).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Tiles {
    coords: [Vec2; 3],
    weights: Vec3,
}

/// GLSL's `fract`.
fn fract2(v: Vec2) -> Vec2 {
    v - v.floor()
}

fn fract3(v: Vec3) -> Vec3 {
    v - v.floor()
}

/// GLSL's `mix(a, b, t)`: `a * (1 - t) + b * t`.
fn mix(a: f32, b: f32, t: f32) -> f32 {
    a * (1.0 - t) + b * t
}

/// GLSL's `dot` of two vec3 as Mesa's compiler sums it: y and z first
/// (found against MaterialX's renderer: the hash below takes the fraction
/// of numbers near 2000, so the last bit of the sum picks another random
/// tile).
fn dot3(a: Vec3, b: Vec3) -> f32 {
    (a.y * b.y + a.z * b.z) + a.x * b.x
}

/// MaterialX's `mx_hextile_hash` (Dave Hoskins' "hash without sine"): two
/// numbers in 0..1 for a tile.
fn hash(p: Vec2) -> Vec2 {
    let mut p3 = fract3(Vec3::new(p.x, p.y, p.x) * Vec3::new(0.1031, 0.1030, 0.0973));
    p3 += dot3(p3, Vec3::new(p3.y, p3.z, p3.x) + 33.33);
    fract2((Vec2::new(p3.x, p3.x) + Vec2::new(p3.y, p3.z)) * Vec2::new(p3.z, p3.y))
}

/// The tiles over texture-space point `coord` (GL's orientation: t down
/// the image).
fn tiles(coord: Vec2, variation: &Variation) -> Tiles {
    let sqrt3_2 = 3.0f32.sqrt() * 2.0;
    // Scaled so that a tile keeps the texture's size, then skewed onto a
    // grid of triangles: GLSL's mat2(1, 0, -tan 30°, 2 tan 30°) times st
    // (the literals are the floats of MaterialX's -0.57735027, 1.15470054).
    let st = coord * sqrt3_2;
    let skewed = Vec2::new(
        1.0 * st.x + -0.577_350_27 * st.y,
        0.0 * st.x + 1.154_700_5 * st.y,
    );

    // The point's barycentric weights in its triangle.
    let frac = fract2(skewed);
    let third = 1.0 - frac.x - frac.y;
    let upper = if -third >= 0.0 { 1.0 } else { 0.0 };
    let sign = 2.0 * upper - 1.0;
    let weights = Vec3::new(-third * sign, upper - frac.y * sign, upper - frac.x * sign);

    // The triangle's corners: the centres of the three tiles.
    let base = skewed.floor().as_ivec2();
    let flip = upper as i32;
    let ids = [
        // Wrapping, as GLSL's ints: coordinates beyond i32's range
        // (a huge tiling) saturate in the conversion above.
        base.wrapping_add(IVec2::new(flip, flip)),
        base.wrapping_add(IVec2::new(flip, 1 - flip)),
        base.wrapping_add(IVec2::new(1 - flip, flip)),
    ];
    let to_unskewed_y = 1.0 / 1.154_700_5_f32;
    let centre = |id: IVec2| {
        let a = id.as_vec2() / Vec2::splat(sqrt3_2);
        Vec2::new(1.0 * a.x + 0.5 * a.y, 0.0 * a.x + to_unskewed_y * a.y)
    };

    let range = variation.rotation_range * (std::f32::consts::PI / 180.0);
    let coords = ids.map(|id| {
        let centre = centre(id);
        let random = hash(id.as_vec2() + Vec2::splat(0.12345));
        let angle = mix(range.x, range.y, random.x * variation.rotation);
        let (sin, cos) = angle.sin_cos();
        let scale = mix(
            1.0,
            mix(variation.scale_range.x, variation.scale_range.y, random.y),
            variation.scale,
        );
        let offset = Vec2::new(
            mix(
                variation.offset_range.x,
                variation.offset_range.y,
                random.x * variation.offset,
            ),
            mix(
                variation.offset_range.x,
                variation.offset_range.y,
                random.y * variation.offset,
            ),
        );
        // GLSL's `v * mat2(cos, -sin, sin, cos)`: v dotted with each column.
        let v = coord - centre;
        let turned = Vec2::new(v.x * cos + v.y * -sin, v.x * sin + v.y * cos);
        turned / Vec2::splat(scale) + centre + offset
    });
    Tiles { coords, weights }
}

/// Christophe Schlick's gain ("Fast Alternatives to Perlin's Bias and
/// Gain Functions", Graphics Gems IV), as MaterialX's `mx_schlick_gain`.
fn schlick_gain(x: f32, r: f32) -> f32 {
    let r = r.clamp(0.001, 0.999);
    let a = (1.0 / r - 2.0) * (1.0 - 2.0 * x);
    if x < 0.5 {
        x / (a + 1.0)
    } else {
        (a - x) / (a - 1.0)
    }
}

/// MaterialX's `mx_hextile_compute_blend_weights`: the tiles' weights by
/// position sharpened (to the 7th power), scaled by `luminance`, and given
/// Schlick's gain unless `falloff` is 0.5; they sum to 1.
fn blend_weights(luminance: Vec3, position: Vec3, falloff: f32) -> Vec3 {
    let sharpened = Vec3::new(
        position.x.powf(7.0),
        position.y.powf(7.0),
        position.z.powf(7.0),
    );
    let mut w = luminance * sharpened;
    w /= w.x + w.y + w.z;
    if falloff != 0.5 {
        w = Vec3::new(
            schlick_gain(w.x, falloff),
            schlick_gain(w.y, falloff),
            schlick_gain(w.z, falloff),
        );
        w /= w.x + w.y + w.z;
    }
    w
}

/// The node's per-sample inputs: `default`, `texcoord`, then the tiling's
/// ten, in the spec's order.
const SAMPLE_INPUTS: usize = 12;

struct HextiledImage {
    path: PathBuf,
    sampler: Sampler,
}

impl HextiledImage {
    /// One sample: `N` = 3 (color3) or 4 (color4, whose alpha is blended by
    /// position alone, as MaterialX's).
    #[allow(clippy::too_many_arguments)]
    fn sample<const N: usize>(
        &self,
        default: Vec4,
        texcoord: Vec2,
        tiling: Vec2,
        variation: &Variation,
        falloff: f32,
        falloff_contrast: f32,
        luma: Vec3,
    ) -> [f32; N] {
        // MaterialX's vertically flipped uv transform: GL's t runs down
        // the image, as the texture's rows.
        let scaled = texcoord * tiling;
        let coord = Vec2::new(scaled.x, 1.0 - scaled.y);
        let tiles = tiles(coord, variation);
        let colours = tiles
            .coords
            .map(|st| self.sampler.sample_top_down(st, default));
        let luminance = Vec3::from_array(colours.map(|c| dot3(c.truncate(), luma)));
        let contrast = Vec3::new(
            mix(1.0, luminance.x, falloff_contrast),
            mix(1.0, luminance.y, falloff_contrast),
            mix(1.0, luminance.z, falloff_contrast),
        );
        let w = blend_weights(contrast, tiles.weights, falloff);
        let rgb =
            colours[0].truncate() * w.x + colours[1].truncate() * w.y + colours[2].truncate() * w.z;
        let mut out = [0.0; N];
        out[..3].copy_from_slice(&rgb.to_array());
        if N == 4 {
            let aw = blend_weights(Vec3::ONE, tiles.weights, falloff);
            out[N - 1] = aw.x * colours[0].w + aw.y * colours[1].w + aw.z * colours[2].w;
        }
        out
    }

    fn sample_into<const N: usize>(&self, inputs: &[&Buffer], out: &mut Buffer) {
        let [
            default,
            texcoord,
            tiling,
            rotation,
            rotation_range,
            scale,
            scale_range,
        ] = std::array::from_fn(|i| inputs[i]);
        let [offset, offset_range, falloff, falloff_contrast, luma] =
            std::array::from_fn(|i| inputs[7 + i]);
        let read2 = |b: &Buffer, i: usize| Vec2::new(b.plane(0)[i], b.plane(1)[i]);
        let sampled = (0..out.len()).map(|i| {
            let mut rgba = [0.0, 0.0, 0.0, 1.0];
            let mut given = [0.0; 4];
            rgba[..N].copy_from_slice(&default.read_sample(i, &mut given[..N])[..N]);
            let variation = Variation {
                rotation: rotation.plane(0)[i],
                rotation_range: read2(rotation_range, i),
                scale: scale.plane(0)[i],
                scale_range: read2(scale_range, i),
                offset: offset.plane(0)[i],
                offset_range: read2(offset_range, i),
            };
            let luma = Vec3::new(luma.plane(0)[i], luma.plane(1)[i], luma.plane(2)[i]);
            self.sample::<N>(
                Vec4::from_array(rgba),
                read2(texcoord, i),
                read2(tiling, i),
                &variation,
                falloff.plane(0)[i],
                falloff_contrast.plane(0)[i],
                luma,
            )
        });
        out.write_samples(sampled);
    }
}

impl Node for HextiledImage {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let out = &mut outputs[0];
        if inputs.len() != SAMPLE_INPUTS || inputs.iter().any(|b| b.len() != out.len()) {
            return Err(NodeError::new(
                "hextiledimage: input buffers differ in length",
            ));
        }
        match out.channels() {
            3 => self.sample_into::<3>(inputs, out),
            _ => self.sample_into::<4>(inputs, out),
        }
        Ok(())
    }

    fn files_read(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}

/// MaterialX's `hextiledimage`.
pub fn hextiledimage() -> Arc<dyn NodeKind> {
    let vector2 = |name: &str, x: f32, y: f32, doc: &str| {
        InputSpec::fixed(
            name,
            ValueType::Vector2,
            Value::Vector2(Vec2::new(x, y)),
            doc,
        )
    };
    let spec = NodeSpec::new(
        "hextiledimage",
        "an image repeated over a grid of hexagons, each tile turned, scaled and shifted at \
         random and blended with its neighbours where they meet, so the repetition does not \
         show (MaterialX; Mikkelsen's hex-tiling, ported from MaterialX's GLSL). The texture \
         repeats both ways and is filtered linearly at its full resolution (no mip maps); \
         brighter tiles win where tiles meet, by `falloffcontrast`",
    )
    .input(file_input())
    .generic_over(&[ValueType::Color3, ValueType::Color4])
    .input(InputSpec::generic(
        "default",
        0.0,
        "MaterialX's colour for a file it cannot read; Tessera reports such a file as an \
         error, and the texture repeats without a border, so no sample takes this value",
    ))
    .input(colorspace_input())
    .input(InputSpec::texcoord())
    .input(vector2(
        "tiling",
        1.0,
        1.0,
        "how many times the texture repeats across 0..1 of u and of v",
    ))
    .input(InputSpec::float(
        "rotation",
        1.0,
        "how much of `rotationrange` a tile's random turn spans (0: every tile turned by \
         the range's start)",
    ))
    .input(vector2(
        "rotationrange",
        0.0,
        360.0,
        "the range of the tiles' turns, in degrees",
    ))
    .input(InputSpec::float(
        "scale",
        1.0,
        "how far a tile's random size moves from 1 towards `scalerange` (0: all the same size)",
    ))
    .input(vector2(
        "scalerange",
        0.5,
        2.0,
        "the range of the tiles' sizes (a tile's coordinates are divided by its size)",
    ))
    .input(InputSpec::float(
        "offset",
        1.0,
        "how much of `offsetrange` a tile's random shift spans (0: every tile shifted by \
         the range's start)",
    ))
    .input(vector2(
        "offsetrange",
        0.0,
        1.0,
        "the range of the tiles' shifts, in texture widths",
    ))
    .input(InputSpec::float(
        "falloff",
        0.5,
        "the sharpness of the seams between tiles: Schlick's gain on the blend weights \
         (0.5: none; towards 0 harder, towards 1 softer)",
    ))
    .input(InputSpec::float(
        "falloffcontrast",
        0.5,
        "how much a tile's luminance weighs in the blend (0: by position alone; at 1, \
         where all three tiles are black the weights are 0 / 0, NaN, as in MaterialX)",
    ))
    .input(InputSpec::fixed(
        "lumacoeffs",
        ValueType::Color3,
        Value::Color3(LUMA_COEFFS),
        "the weights of r, g and b in a tile's luminance (by default ACEScg's)",
    ))
    .output(OutputSpec::new(
        "out",
        SocketType::Generic,
        "the blended colour; a color4's alpha is blended by position alone",
    ));
    kind(spec, |args| {
        let (path, texture) = load_file(args)?;
        Ok(Box::new(HextiledImage {
            path,
            sampler: Sampler::periodic_linear(texture),
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::image;
    use crate::test_util::{eval_node, frame};
    use tessera_core::Rect;

    const TEXTURE: &str = "../../scenes/nodes/textures/grid16.png";

    /// MaterialX's defaults: every tile turned, scaled and shifted.
    const DEFAULTS: Variation = Variation {
        rotation: 1.0,
        rotation_range: Vec2::new(0.0, 360.0),
        scale: 1.0,
        scale_range: Vec2::new(0.5, 2.0),
        offset: 1.0,
        offset_range: Vec2::new(0.0, 1.0),
    };

    #[test]
    fn the_tiles_hash_as_materialx_renders_them() {
        // rand.x of tiles (2, 1) and (2, 4), read from MaterialX's render
        // (textures.mtlx's hextiledimage: its rotation over 2 pi). Summing
        // the hash's dot product left to right gives 0.351074 and 0.236328.
        for (tile, expected) in [((2, 1), 0.351_257), ((2, 4), 0.236_084)] {
            let id = IVec2::new(tile.0, tile.1).as_vec2() + Vec2::splat(0.12345);
            let got = hash(id).x;
            assert!((got - expected).abs() < 1e-6, "tile {tile:?}: {got}");
        }
    }

    #[test]
    fn the_weights_are_barycentric_and_one_tile_owns_its_centre() {
        let mut state = 1u32;
        for _ in 0..10_000 {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let coord = Vec2::new(
                (state >> 16) as f32 / 6553.6 - 5.0,
                (state & 0xffff) as f32 / 6553.6 - 5.0,
            );
            let w = tiles(coord, &DEFAULTS).weights;
            assert!(
                w.min_element() >= -1e-6 && w.max_element() <= 1.0 + 1e-6,
                "{coord}: {w}"
            );
            assert!((w.element_sum() - 1.0).abs() < 1e-5, "{coord}: {w}");
        }
        // Tile (0, 0)'s centre is the origin: its weight there is 1.
        let w = tiles(Vec2::ZERO, &DEFAULTS).weights;
        assert!((w.max_element() - 1.0).abs() < 1e-6, "{w}");
    }

    #[test]
    fn coordinates_beyond_the_integers_do_not_overflow() {
        // A huge tiling: the cell saturates at i32's end, its neighbours wrap.
        for coord in [Vec2::splat(1e10), Vec2::splat(-1e10), Vec2::new(3e9, -0.5)] {
            let w = tiles(coord, &DEFAULTS).weights;
            assert!((w.element_sum() - 1.0).abs() < 1e-5, "{coord}: {w}");
        }
    }

    #[test]
    fn falloff_one_half_leaves_the_weights_as_they_are() {
        assert_eq!(schlick_gain(0.3, 0.5), 0.3);
        let position = Vec3::new(0.45, 0.4, 0.15);
        let w = blend_weights(Vec3::ONE, position, 0.5);
        let p7 = position.powf(7.0);
        assert!(
            (w - p7 / p7.element_sum()).abs().max_element() < 1e-7,
            "{w}"
        );
        // Below one half the larger weight grows (harder seams), above
        // it shrinks (softer ones).
        assert!(blend_weights(Vec3::ONE, position, 0.2).x > w.x);
        assert!(blend_weights(Vec3::ONE, position, 0.8).x < w.x);
    }

    /// `kind` on one row of `texcoords`, color4, with the uniforms given.
    fn render(
        kind: Arc<dyn NodeKind>,
        texcoords: &[[f32; 2]],
        varying: Vec<Buffer>,
    ) -> Vec<[f32; 4]> {
        let n = texcoords.len();
        let mut inputs = vec![
            Buffer::filled(&[0.0, 0.0, 0.0, 1.0], n),
            Buffer::from_interleaved(2, texcoords.as_flattened()),
        ];
        inputs.extend(varying);
        let out = eval_node(
            &kind,
            Some(ValueType::Color4),
            &[
                ("file", Value::String(TEXTURE.into())),
                ("colorspace", Value::String("raw".into())),
            ],
            &frame(n as u32, 1),
            Rect::new(0, 0, n as u32, 1),
            &inputs,
        )
        .expect("node evaluates");
        out[0].samples::<4>().collect()
    }

    /// The tiling inputs, per sample: tiling, rotation, rotationrange,
    /// scale, scalerange, offset, offsetrange, falloff, falloffcontrast,
    /// lumacoeffs.
    fn variation_inputs(n: usize, rotation: f32, scale: f32, offset: f32) -> Vec<Buffer> {
        [
            vec![1.0, 1.0],
            vec![rotation],
            vec![0.0, 360.0],
            vec![scale],
            vec![0.5, 2.0],
            vec![offset],
            vec![0.0, 1.0],
            vec![0.5],
            vec![0.5],
            LUMA_COEFFS.to_array().to_vec(),
        ]
        .iter()
        .map(|sample| Buffer::filled(sample, n))
        .collect()
    }

    fn row_of_coordinates() -> Vec<[f32; 2]> {
        (0..97)
            .map(|i| [i as f32 * 0.031 - 1.3, 2.1 - i as f32 * 0.047])
            .collect()
    }

    #[test]
    fn without_variation_every_tile_reads_the_plain_repeating_image() {
        let texcoords = row_of_coordinates();
        let n = texcoords.len();
        let hex = render(
            hextiledimage(),
            &texcoords,
            variation_inputs(n, 0.0, 0.0, 0.0),
        );
        let plain = render(image(), &texcoords, Vec::new());
        for ((h, p), t) in hex.iter().zip(&plain).zip(&texcoords) {
            for c in 0..4 {
                assert!((h[c] - p[c]).abs() < 2e-5, "at {t:?}: {h:?} vs {p:?}");
            }
        }
    }

    #[test]
    fn with_variation_the_tiles_read_elsewhere() {
        let texcoords = row_of_coordinates();
        let n = texcoords.len();
        let hex = render(
            hextiledimage(),
            &texcoords,
            variation_inputs(n, 1.0, 1.0, 1.0),
        );
        let plain = render(image(), &texcoords, Vec::new());
        let differing = hex
            .iter()
            .zip(&plain)
            .filter(|(h, p)| (h[0] - p[0]).abs() > 0.05)
            .count();
        assert!(differing > n / 2, "only {differing} of {n} samples moved");
        // The texture is opaque: alpha, blended by position, stays 1.
        assert!(hex.iter().all(|h| (h[3] - 1.0).abs() < 1e-6));
    }
}
