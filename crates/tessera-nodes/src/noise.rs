//! Gradient (Perlin), fractal, cell and Worley noise.
//!
//! A port of MaterialX's GLSL noise library
//! (`libraries/stdlib/genglsl/lib/mx_noise.glsl`), which is itself a port of
//! OSL's `src/include/OSL/oslnoise.h`. Every function follows the GLSL
//! operation for operation, in `f32`, so results match MaterialX/OSL renders:
//!
//! * the lattice is hashed with Bob Jenkins' lookup3 ([`hash_words`], i.e.
//!   `mx_hash_int`), not with Perlin's permutation table;
//! * gradient noise uses the quintic fade `6t^5 - 15t^4 + 10t^3`, is exactly 0
//!   at integer lattice points and is scaled by 0.6616 (2D) / 0.9820 (3D) to
//!   lie in [-1, 1];
//! * cell noise maps the hash of the floored coordinate to [0, 1] with
//!   `mx_bits_to_01` (`bits / 0xffffffff` in `f32`). Note the closed interval:
//!   hashes of `0xffffff80` and above round to exactly 1.0, as in MaterialX.

use glam::{Vec2, Vec3};
use multiversion::multiversion;
use std::f32::consts::PI;
use std::ops::MulAssign;
use tessera_core::hash::hash_words;

/// `mx_gradient_scale2d`: normalises the unnormalised 2D gradients.
const GRADIENT_SCALE_2D: f32 = 0.6616;
/// `mx_gradient_scale3d`: normalises the unnormalised 3D gradients.
const GRADIENT_SCALE_3D: f32 = 0.9820;

/// `mx_floor`: `int(floor(x))`.
#[inline]
fn floor_i(x: f32) -> i32 {
    crate::float::floor(x) as i32
}

/// `mx_floorfrac`: the lattice cell and the position inside it.
#[inline]
fn floorfrac(x: f32) -> (i32, f32) {
    let i = floor_i(x);
    (i, x - i as f32)
}

/// `mx_fade`: Perlin's quintic `6t^5 - 15t^4 + 10t^3`.
#[inline]
fn fade(t: f32) -> f32 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

/// `mx_bilerp`.
#[inline]
fn bilerp(v0: f32, v1: f32, v2: f32, v3: f32, s: f32, t: f32) -> f32 {
    let s1 = 1.0 - s;
    (1.0 - t) * (v0 * s1 + v1 * s) + t * (v2 * s1 + v3 * s)
}

/// `mx_trilerp`, with the eight corner values `v0..v7` in an array.
#[inline]
fn trilerp(v: [f32; 8], s: f32, t: f32, r: f32) -> f32 {
    let s1 = 1.0 - s;
    let t1 = 1.0 - t;
    let r1 = 1.0 - r;
    r1 * (t1 * (v[0] * s1 + v[1] * s) + t * (v[2] * s1 + v[3] * s))
        + r * (t1 * (v[4] * s1 + v[5] * s) + t * (v[6] * s1 + v[7] * s))
}

/// `mx_negate_if`.
#[inline]
fn negate_if(value: f32, negate: bool) -> f32 {
    if negate { -value } else { value }
}

/// `mx_gradient_float(uint, float, float)`: dot product of `(x, y)` with one
/// of the 8 directions (±1, ±2) and (±2, ±1).
#[inline]
fn gradient2(hash: u32, x: f32, y: f32) -> f32 {
    let h = hash & 7;
    let u = if h < 4 { x } else { y };
    let v = 2.0 * if h < 4 { y } else { x };
    negate_if(u, h & 1 != 0) + negate_if(v, h & 2 != 0)
}

/// `mx_gradient_float(uint, float, float, float)`: dot product of `(x, y, z)`
/// with one of the 12 cube-edge directions (16 entries, 4 repeated).
#[inline]
fn gradient3(hash: u32, x: f32, y: f32, z: f32) -> f32 {
    let h = hash & 15;
    let u = if h < 8 { x } else { y };
    let v = if h < 4 {
        y
    } else if h == 12 || h == 14 {
        x
    } else {
        z
    };
    negate_if(u, h & 1 != 0) + negate_if(v, h & 2 != 0)
}

/// `mx_hash_int(int x, int y)`. GLSL's `uint(int)` is the two's-complement
/// reinterpretation, like `as u32`.
#[inline]
fn hash2(x: i32, y: i32) -> u32 {
    hash_words(&[x as u32, y as u32])
}

/// `mx_hash_int(int x, int y, int z)`.
#[inline]
fn hash3(x: i32, y: i32, z: i32) -> u32 {
    hash_words(&[x as u32, y as u32, z as u32])
}

/// `mx_bits_to_01`: `float(bits) / float(0xffffffff)`. In `f32` the divisor
/// is 2^32 and `float(bits)` rounds to nearest, so the range is [0, 1] with
/// 1.0 reached by hashes >= 0xffffff80.
#[inline]
fn bits_to_01(bits: u32) -> f32 {
    bits as f32 / u32::MAX as f32
}

/// Byte `channel` of a lattice hash: `mx_hash_vec3`'s hash of a channel of
/// `mx_perlin_noise_vec3`.
#[inline]
fn hash_byte(hash: u32, channel: usize) -> u32 {
    (hash >> (8 * channel)) & 0xFF
}

/// 2D gradient noise in `C` channels: channel `c` takes each lattice
/// corner's gradient from `pick(hash, c)` (the hash itself for the float
/// noise, one byte of it for the vector noise).
#[inline(always)]
fn perlin2_channels<const C: usize>(p: Vec2, pick: impl Fn(u32, usize) -> u32) -> [f32; C] {
    let (ix, fx) = floorfrac(p.x);
    let (iy, fy) = floorfrac(p.y);
    let u = fade(fx);
    let v = fade(fy);
    let (ix1, iy1) = (ix.wrapping_add(1), iy.wrapping_add(1));
    let (gx, gy) = (fx - 1.0, fy - 1.0);
    let hashes = [
        hash2(ix, iy),
        hash2(ix1, iy),
        hash2(ix, iy1),
        hash2(ix1, iy1),
    ];
    std::array::from_fn(|c| {
        let g = |corner: usize, x: f32, y: f32| gradient2(pick(hashes[corner], c), x, y);
        let result = bilerp(g(0, fx, fy), g(1, gx, fy), g(2, fx, gy), g(3, gx, gy), u, v);
        GRADIENT_SCALE_2D * result
    })
}

/// 3D gradient noise in `C` channels; see [`perlin2_channels`].
#[inline(always)]
fn perlin3_channels<const C: usize>(p: Vec3, pick: impl Fn(u32, usize) -> u32) -> [f32; C] {
    let (ix, fx) = floorfrac(p.x);
    let (iy, fy) = floorfrac(p.y);
    let (iz, fz) = floorfrac(p.z);
    let (ix1, iy1, iz1) = (ix.wrapping_add(1), iy.wrapping_add(1), iz.wrapping_add(1));
    let hashes = [
        hash3(ix, iy, iz),
        hash3(ix1, iy, iz),
        hash3(ix, iy1, iz),
        hash3(ix1, iy1, iz),
        hash3(ix, iy, iz1),
        hash3(ix1, iy, iz1),
        hash3(ix, iy1, iz1),
        hash3(ix1, iy1, iz1),
    ];
    std::array::from_fn(|c| gradient_blend3(hashes.map(|hash| pick(hash, c)), [fx, fy, fz]))
}

/// 3D gradient noise at `[fx, fy, fz]` inside its lattice cell, from the
/// hashes choosing the gradients of the cell's eight corners (corner k
/// moved by bit 0 of k in x, bit 1 in y, bit 2 in z): `mx_perlin_noise`'s
/// gradients, trilinear blend and scale.
#[inline(always)]
fn gradient_blend3(hashes: [u32; 8], [fx, fy, fz]: [f32; 3]) -> f32 {
    let (gx, gy, gz) = (fx - 1.0, fy - 1.0, fz - 1.0);
    let g = |corner: usize, x: f32, y: f32, z: f32| gradient3(hashes[corner], x, y, z);
    let result = trilerp(
        [
            g(0, fx, fy, fz),
            g(1, gx, fy, fz),
            g(2, fx, gy, fz),
            g(3, gx, gy, fz),
            g(4, fx, fy, gz),
            g(5, gx, fy, gz),
            g(6, fx, gy, gz),
            g(7, gx, gy, gz),
        ],
        fade(fx),
        fade(fy),
        fade(fz),
    );
    GRADIENT_SCALE_3D * result
}

/// Signed 2D gradient noise, `mx_perlin_noise_float(vec2)`: range [-1, 1],
/// exactly 0 at integer lattice points.
#[inline(always)]
pub fn perlin2(p: Vec2) -> f32 {
    let [n] = perlin2_channels(p, |hash, _| hash);
    n
}

/// Signed 3D gradient noise, `mx_perlin_noise_float(vec3)`: range [-1, 1],
/// exactly 0 at integer lattice points.
#[inline(always)]
pub fn perlin3(p: Vec3) -> f32 {
    let [n] = perlin3_channels(p, |hash, _| hash);
    n
}

/// Three channels of 2D gradient noise, `mx_perlin_noise_vec3(vec2)`: each
/// channel's gradients from one byte of the lattice hash.
#[inline]
pub fn perlin2_vec3(p: Vec2) -> [f32; 3] {
    perlin2_channels(p, hash_byte)
}

/// Three channels of 3D gradient noise, `mx_perlin_noise_vec3(vec3)`.
#[inline]
pub fn perlin3_vec3(p: Vec3) -> [f32; 3] {
    perlin3_channels(p, hash_byte)
}

/// Fractal sum of `noise`: octave `i` adds `diminish^i * noise(p *
/// lacunarity^i)`, with the amplitude and the position updated
/// multiplicatively per octave as in MaterialX. Not normalised: the range is
/// ±(1 + diminish + diminish^2 + ...).
#[inline]
fn fractal<P: Copy + MulAssign<f32>, const C: usize>(
    mut p: P,
    octaves: u32,
    lacunarity: f32,
    diminish: f32,
    noise: impl Fn(P) -> [f32; C],
) -> [f32; C] {
    let mut result = [0.0; C];
    let mut amplitude = 1.0;
    for _ in 0..octaves {
        let n = noise(p);
        for (sum, n) in result.iter_mut().zip(n) {
            *sum += amplitude * n;
        }
        amplitude *= diminish;
        p *= lacunarity;
    }
    result
}

/// Fractal sum of [`perlin2`], `mx_fractal2d_noise_float`; see [`fractal`].
#[inline]
pub fn fractal2(p: Vec2, octaves: u32, lacunarity: f32, diminish: f32) -> f32 {
    let [n] = fractal(p, octaves, lacunarity, diminish, |p| [perlin2(p)]);
    n
}

/// Fractal sum of [`perlin3`], `mx_fractal3d_noise_float`.
#[inline]
pub fn fractal3(p: Vec3, octaves: u32, lacunarity: f32, diminish: f32) -> f32 {
    let [n] = fractal(p, octaves, lacunarity, diminish, |p| [perlin3(p)]);
    n
}

/// Fractal sum of [`perlin2_vec3`], `mx_fractal2d_noise_vec3`.
#[inline]
pub fn fractal2_vec3(p: Vec2, octaves: u32, lacunarity: f32, diminish: f32) -> [f32; 3] {
    fractal(p, octaves, lacunarity, diminish, perlin2_vec3)
}

/// Fractal sum of [`perlin3_vec3`], `mx_fractal3d_noise_vec3`.
#[inline]
pub fn fractal3_vec3(p: Vec3, octaves: u32, lacunarity: f32, diminish: f32) -> [f32; 3] {
    fractal(p, octaves, lacunarity, diminish, perlin3_vec3)
}

/// How many samples the plane kernels carry through a noise's stages, the
/// octaves of a fractal, and [`worley_plane`] through the 3^D cells, at
/// once.
const CHUNK: usize = 64;

/// A noise of `D`-dimensional coordinates in `C` channels, computed for up
/// to [`CHUNK`] samples at a time. (A trait rather than a function passed
/// as a value: a function item called through `Fn` goes through a shim that
/// is not inlined into the AVX2 clones.)
trait ChunkNoise<const D: usize, const C: usize> {
    /// The noise of each sample of `coords` into `out`, a plane a channel.
    fn chunk(coords: [&[f32]; D], out: [&mut [f32]; C]);
}

/// [`perlin2`], a chunk at a time: a sample at a time, a loop that
/// vectorises whole (in [`perlin2_chunk`]'s stages it took 40% longer; the
/// three-channel form is the other way round).
struct Perlin2;

impl ChunkNoise<2, 1> for Perlin2 {
    #[inline(always)]
    fn chunk([x, y]: [&[f32]; 2], [out]: [&mut [f32]; 1]) {
        for ((out, x), y) in out.iter_mut().zip(x).zip(y) {
            *out = perlin2(Vec2::new(*x, *y));
        }
    }
}

/// [`perlin2_vec3`], a chunk at a time.
struct Perlin2Vec3;

impl ChunkNoise<2, 3> for Perlin2Vec3 {
    #[inline(always)]
    fn chunk(coords: [&[f32]; 2], out: [&mut [f32]; 3]) {
        perlin2_chunk(coords, out, hash_byte);
    }
}

/// The lattice of a chunk of `D`-dimensional coordinates into `fractions`
/// (each sample's inside its cell) and `hashes` (of the cell's `CORNERS`,
/// 2^D, corners, corner k the cell moved by bit d of k along axis d). Each
/// stage a loop simple enough to run 8 samples at a time.
#[inline(always)]
fn lattice_chunk<const D: usize, const CORNERS: usize>(
    coords: [&[f32]; D],
    fractions: &mut [[f32; CHUNK]; D],
    hashes: &mut [[u32; CHUNK]; CORNERS],
) {
    let n = coords[0].len();
    let mut cells = [[0i32; CHUNK]; D];
    for ((cells, fractions), coord) in cells.iter_mut().zip(fractions).zip(coords) {
        for ((cell, fraction), c) in cells.iter_mut().zip(fractions.iter_mut()).zip(&coord[..n]) {
            (*cell, *fraction) = floorfrac(*c);
        }
    }
    for (corner, hashes) in hashes.iter_mut().enumerate() {
        let step: [i32; D] = std::array::from_fn(|d| ((corner >> d) & 1) as i32);
        for (i, hash) in hashes[..n].iter_mut().enumerate() {
            let moved: [u32; D] = std::array::from_fn(|d| cells[d][i].wrapping_add(step[d]) as u32);
            *hash = hash_words(&moved);
        }
    }
}

/// 2D gradient noise of a chunk in `C` channels, in stages (the lattice,
/// then gradients and blend per channel): one sample's operations are
/// [`perlin2_channels`]', in its order. Channel `c` takes its gradients from
/// `pick(hash, c)`.
#[inline(always)]
fn perlin2_chunk<const C: usize>(
    coords: [&[f32]; 2],
    out: [&mut [f32]; C],
    pick: impl Fn(u32, usize) -> u32,
) {
    let n = coords[0].len();
    let (mut fractions, mut hashes) = ([[0.0; CHUNK]; 2], [[0; CHUNK]; 4]);
    lattice_chunk(coords, &mut fractions, &mut hashes);
    let [fx, fy] = &fractions;
    for (channel, out) in out.into_iter().enumerate() {
        for (i, out) in out[..n].iter_mut().enumerate() {
            let (fx, fy) = (fx[i], fy[i]);
            let (gx, gy) = (fx - 1.0, fy - 1.0);
            let g =
                |corner: usize, x: f32, y: f32| gradient2(pick(hashes[corner][i], channel), x, y);
            let (u, v) = (fade(fx), fade(fy));
            let result = bilerp(g(0, fx, fy), g(1, gx, fy), g(2, fx, gy), g(3, gx, gy), u, v);
            *out = GRADIENT_SCALE_2D * result;
        }
    }
}

/// 3D gradient noise of a chunk in `C` channels, in stages (the lattice,
/// then gradients and blend per channel): one sample's operations are
/// [`perlin3_channels`]', in its order. Channel `c` takes its gradients from
/// `pick(hash, c)`.
#[inline(always)]
fn perlin3_chunk<const C: usize>(
    coords: [&[f32]; 3],
    out: [&mut [f32]; C],
    pick: impl Fn(u32, usize) -> u32,
) {
    let n = coords[0].len();
    let (mut fractions, mut hashes) = ([[0.0; CHUNK]; 3], [[0; CHUNK]; 8]);
    lattice_chunk(coords, &mut fractions, &mut hashes);
    for (channel, out) in out.into_iter().enumerate() {
        for (i, out) in out[..n].iter_mut().enumerate() {
            let fractions = [0, 1, 2].map(|d| fractions[d][i]);
            let corners = std::array::from_fn(|k| pick(hashes[k][i], channel));
            *out = gradient_blend3(corners, fractions);
        }
    }
}

/// [`perlin3`], a chunk at a time.
struct Perlin3;

impl ChunkNoise<3, 1> for Perlin3 {
    #[inline(always)]
    fn chunk(coords: [&[f32]; 3], out: [&mut [f32]; 1]) {
        perlin3_chunk(coords, out, |hash, _| hash);
    }
}

/// [`perlin3_vec3`], a chunk at a time.
struct Perlin3Vec3;

impl ChunkNoise<3, 3> for Perlin3Vec3 {
    #[inline(always)]
    fn chunk(coords: [&[f32]; 3], out: [&mut [f32]; 3]) {
        perlin3_chunk(coords, out, hash_byte);
    }
}

/// Asserts that the output planes and the input planes are `len` long.
#[inline(always)]
fn assert_one_tile<const C: usize>(len: usize, out: &[&mut [f32]; C], inputs: &[&[f32]]) {
    assert!(
        out.iter().all(|o| o.len() == len) && inputs.iter().all(|p| p.len() == len),
        "planes of one tile"
    );
}

/// A noise node's form of `C` channels over a tile's planes: `out[c][i] =
/// N(p[i])[c] * amplitude[c][i] + pivot[i]`, the noise `N` computing a
/// chunk of coordinates from `coords`' planes at a time. Inlined into each
/// multiversioned kernel below, where its loops run 8 samples at a time
/// with AVX2: the same operations per sample in the same order as the
/// scalar function, so the same bits.
#[inline(always)]
fn noise_plane<const D: usize, const C: usize, N: ChunkNoise<D, C>>(
    out: [&mut [f32]; C],
    amplitude: [&[f32]; C],
    pivot: &[f32],
    coords: [&[f32]; D],
) {
    let len = pivot.len();
    assert_one_tile(len, &out, &amplitude);
    assert_one_tile(len, &out, &coords);
    let mut out = out;
    let mut values = [[0.0f32; CHUNK]; C];
    for start in (0..len).step_by(CHUNK) {
        let range = start..len.min(start + CHUNK);
        let n = range.len();
        N::chunk(
            coords.map(|c| &c[range.clone()]),
            values.each_mut().map(|v| &mut v[..n]),
        );
        let p = &pivot[range.clone()];
        for ((out, values), a) in out.iter_mut().zip(&values).zip(amplitude) {
            let (out, a) = (&mut out[range.clone()], &a[range.clone()]);
            for (((out, value), a), p) in out.iter_mut().zip(&values[..n]).zip(a).zip(p) {
                *out = value * a + p;
            }
        }
    }
}

/// [`noise_plane`] of [`perlin2`]: the noise2d node's float form.
#[multiversion(targets("x86_64+avx2"))]
pub fn perlin2_plane(out: &mut [f32], amplitude: &[f32], pivot: &[f32], coords: [&[f32]; 2]) {
    noise_plane::<2, 1, Perlin2>([out], [amplitude], pivot, coords);
}

/// [`noise_plane`] of [`perlin3`]: the noise3d node's float form.
#[multiversion(targets("x86_64+avx2"))]
pub fn perlin3_plane(out: &mut [f32], amplitude: &[f32], pivot: &[f32], coords: [&[f32]; 3]) {
    noise_plane::<3, 1, Perlin3>([out], [amplitude], pivot, coords);
}

/// [`noise_plane`] of [`perlin2_vec3`]: the noise2d node's three-channel
/// forms.
#[multiversion(targets("x86_64+avx2"))]
pub fn perlin2_vec3_plane(
    out: [&mut [f32]; 3],
    amplitude: [&[f32]; 3],
    pivot: &[f32],
    coords: [&[f32]; 2],
) {
    noise_plane::<2, 3, Perlin2Vec3>(out, amplitude, pivot, coords);
}

/// [`noise_plane`] of [`perlin3_vec3`]: the noise3d node's three-channel
/// forms.
#[multiversion(targets("x86_64+avx2"))]
pub fn perlin3_vec3_plane(
    out: [&mut [f32]; 3],
    amplitude: [&[f32]; 3],
    pivot: &[f32],
    coords: [&[f32]; 3],
) {
    noise_plane::<3, 3, Perlin3Vec3>(out, amplitude, pivot, coords);
}

/// A fractal node's form of `C` channels over a tile's planes: `out[c][i]
/// = amplitude[c][i] * fractal(p[i], octaves, lacunarity[i],
/// diminish[i])[c]` of the noise `N` computes a chunk at a time, bit for
/// bit as [`fractal`]: each sample goes through the same operations in the
/// same order, but the octaves are the outer loop, so that the loops over
/// samples inside can run 8 at a time where AVX2 is there (inlined into
/// the multiversioned kernels below).
#[inline(always)]
fn fractal_plane<const D: usize, const C: usize, N: ChunkNoise<D, C>>(
    out: [&mut [f32]; C],
    amplitude: [&[f32]; C],
    [lacunarity, diminish]: [&[f32]; 2],
    coords: [&[f32]; D],
    octaves: u32,
) {
    let len = lacunarity.len();
    assert_one_tile(len, &out, &[diminish]);
    assert_one_tile(len, &out, &amplitude);
    assert_one_tile(len, &out, &coords);
    let mut out = out;
    for start in (0..len).step_by(CHUNK) {
        let range = start..len.min(start + CHUNK);
        let n = range.len();
        let (lacunarity, diminish) = (&lacunarity[range.clone()], &diminish[range.clone()]);
        let mut p = [[0.0f32; CHUNK]; D];
        for (p, coord) in p.iter_mut().zip(coords) {
            p[..n].copy_from_slice(&coord[range.clone()]);
        }
        let mut sums = [[0.0f32; CHUNK]; C];
        let mut weight = [1.0f32; CHUNK];
        let mut values = [[0.0f32; CHUNK]; C];
        for _ in 0..octaves {
            N::chunk(
                p.each_ref().map(|p| &p[..n]),
                values.each_mut().map(|v| &mut v[..n]),
            );
            for i in 0..n {
                for (sum, values) in sums.iter_mut().zip(&values) {
                    sum[i] += weight[i] * values[i];
                }
                weight[i] *= diminish[i];
                for p in &mut p {
                    p[i] *= lacunarity[i];
                }
            }
        }
        for ((out, a), sum) in out.iter_mut().zip(amplitude).zip(&sums) {
            let (out, a) = (&mut out[range.clone()], &a[range.clone()]);
            for ((out, a), sum) in out.iter_mut().zip(a).zip(sum) {
                *out = a * sum;
            }
        }
    }
}

/// [`fractal_plane`] of [`perlin2`]: the fractal2d node's float form, bit
/// for bit as [`fractal2`].
#[multiversion(targets("x86_64+avx2"))]
pub fn fractal2_plane(out: &mut [f32], planes: [&[f32]; 3], coords: [&[f32]; 2], octaves: u32) {
    let [amplitude, lacunarity, diminish] = planes;
    fractal_plane::<2, 1, Perlin2>([out], [amplitude], [lacunarity, diminish], coords, octaves);
}

/// [`fractal_plane`] of [`perlin3`]: the fractal3d node's float form, bit
/// for bit as [`fractal3`].
#[multiversion(targets("x86_64+avx2"))]
pub fn fractal3_plane(out: &mut [f32], planes: [&[f32]; 3], coords: [&[f32]; 3], octaves: u32) {
    let [amplitude, lacunarity, diminish] = planes;
    fractal_plane::<3, 1, Perlin3>([out], [amplitude], [lacunarity, diminish], coords, octaves);
}

/// [`fractal_plane`] of [`perlin2_vec3`]: the fractal2d node's
/// three-channel forms, bit for bit as [`fractal2_vec3`].
#[multiversion(targets("x86_64+avx2"))]
pub fn fractal2_vec3_plane(
    out: [&mut [f32]; 3],
    amplitude: [&[f32]; 3],
    planes: [&[f32]; 2],
    coords: [&[f32]; 2],
    octaves: u32,
) {
    fractal_plane::<2, 3, Perlin2Vec3>(out, amplitude, planes, coords, octaves);
}

/// [`fractal_plane`] of [`perlin3_vec3`]: the fractal3d node's
/// three-channel forms, bit for bit as [`fractal3_vec3`].
#[multiversion(targets("x86_64+avx2"))]
pub fn fractal3_vec3_plane(
    out: [&mut [f32]; 3],
    amplitude: [&[f32]; 3],
    planes: [&[f32]; 2],
    coords: [&[f32]; 3],
    octaves: u32,
) {
    fractal_plane::<3, 3, Perlin3Vec3>(out, amplitude, planes, coords, octaves);
}

/// Cell noise over a tile's planes, `out[i] = cell(p[i])`: [`cell2`] for
/// two planes, [`cell3`] for three; the lookup3 hash runs 8 lanes wide
/// with AVX2.
#[multiversion(targets("x86_64+avx2"))]
pub fn cell_plane<const D: usize>(out: &mut [f32], coords: [&[f32]; D]) {
    assert!(
        coords.iter().all(|p| p.len() == out.len()),
        "planes of one tile"
    );
    for (i, out) in out.iter_mut().enumerate() {
        let cell: [u32; D] = std::array::from_fn(|d| floor_i(coords[d][i]) as u32);
        *out = bits_to_01(hash_words(&cell));
    }
}

/// 2D cell noise, `mx_cell_noise_float(vec2)`: one value in [0, 1] per unit
/// cell, constant inside the cell (see the module docs for the closed range).
#[inline]
pub fn cell2(p: Vec2) -> f32 {
    bits_to_01(hash2(floor_i(p.x), floor_i(p.y)))
}

/// 3D cell noise, `mx_cell_noise_float(vec3)`.
#[inline]
pub fn cell3(p: Vec3) -> f32 {
    bits_to_01(hash3(floor_i(p.x), floor_i(p.y), floor_i(p.z)))
}

/// What [`flake`] finds at a point: MaterialX's flake2d/flake3d outputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flake {
    /// The flake's id (`int(rand * (2^24 - 1))`), 0 for none.
    pub id: f32,
    /// A random value of the flake, 0 for none.
    pub rand: f32,
    /// The flake's priority (depth), 0 for none.
    pub presence: f32,
    /// The flake's normal: `normal` turned by a GGX sample, or `normal`
    /// itself where there is no flake.
    pub normal: Vec3,
}

/// The frame a flake's normal is turned in.
#[derive(Clone, Copy, Debug)]
pub struct Surface {
    pub normal: Vec3,
    pub tangent: Vec3,
    pub bitangent: Vec3,
}

/// `mx_flake_density_to_probability`: the fitted curve from coverage to
/// the probability that a cell has a flake.
fn flake_probability(x: f32) -> f32 {
    let [a, b, c, d] = [-26.197_718_f32, 26.396_638, 85.538_57, -102.350_69];
    let [e, f] = [-101.426_35_f32, 118.450_82];
    let xx = x * x;
    (a * xx + b * x) / (c * xx * x + d * xx + e * x + f)
}

/// `mx_rotate_flake` (Arvo's fast random rotation, Graphics Gems III): `p`
/// turned by the rotation three uniform numbers `i` pick. The matrix is
/// GLSL's column-major `mat3`, multiplied column by column.
fn rotate_flake(p: Vec3, i: [f32; 3]) -> Vec3 {
    let theta = PI * 2.0 * i[0];
    let phi = PI * 2.0 * i[1];
    let z = i[2] * 2.0;
    let r = z.sqrt();
    let (vx, vy, vz) = (phi.sin() * r, phi.cos() * r, (2.0 - z).sqrt());
    let (s_theta, c_theta) = (theta.sin(), theta.cos());
    let sx = vx * c_theta - vy * s_theta;
    let sy = vx * s_theta + vy * c_theta;
    let columns = [
        Vec3::new(vx * sx - c_theta, vx * sy - s_theta, vx * vz),
        Vec3::new(vy * sx + s_theta, vy * sy - c_theta, vy * vz),
        Vec3::new(vz * sx, vz * sy, 1.0 - z),
    ];
    columns[0] * p.x + columns[1] * p.y + columns[2] * p.z
}

/// `mx_cell_noise_vec3` of a cell with `extra` words after its coordinates
/// (none, or `mx_cell_noise_vec3(vec4(cell, w))`'s w).
fn cell_vec3(cell: [i32; 3], extra: &[u32]) -> [f32; 3] {
    std::array::from_fn(|channel| {
        let mut words = [0u32; 5];
        for (word, &c) in words.iter_mut().zip(&cell) {
            *word = c as u32;
        }
        words[3..3 + extra.len()].copy_from_slice(extra);
        words[3 + extra.len()] = channel as u32;
        bits_to_01(hash_words(&words[..4 + extra.len()]))
    })
}

/// MaterialX's `mx_flake` (1.39.5, lib/mx_flake.glsl): flakes of diameter
/// `size` in a lattice, a cell having one with a probability from
/// `coverage`, each a cube turned at random; the highest-priority flake over
/// `position` wins, and its normal is `surface.normal` turned by a GGX
/// sample of `roughness`.
pub fn flake(size: f32, roughness: f32, coverage: f32, position: Vec3, surface: Surface) -> Flake {
    let probability = flake_probability(coverage.clamp(0.0, 1.0));
    let diameter = 1.5 / 3.0f32.sqrt();
    let p = position / Vec3::splat(size);
    let base = p.floor();
    let mut priority = 0.0f32;
    let mut flake_cell = [0i32; 3];
    for i in -1..2 {
        for j in -1..2 {
            for k in -1..2 {
                let cell_pos = base + Vec3::new(i as f32, j as f32, k as f32);
                let pp = p - cell_pos - Vec3::splat(0.5);
                if pp.dot(pp) >= diameter * diameter * 3.0 {
                    continue;
                }
                let cell = [
                    floor_i(cell_pos.x),
                    floor_i(cell_pos.y),
                    floor_i(cell_pos.z),
                ];
                if bits_to_01(hash3(cell[0], cell[1], cell[2])) > probability {
                    continue;
                }
                let mut with_layer = [0u32; 4];
                for (word, &c) in with_layer.iter_mut().zip(&cell) {
                    *word = c as u32;
                }
                // vec4(cell_pos, 3.0): the fourth coordinate floored to 3.
                with_layer[3] = 3;
                let cell_priority = bits_to_01(hash_words(&with_layer));
                if cell_priority < priority {
                    continue;
                }
                let turned = rotate_flake(pp, cell_vec3(cell, &[]));
                if turned.abs().cmple(Vec3::splat(diameter)).all() {
                    priority = cell_priority;
                    flake_cell = cell;
                }
            }
        }
    }
    if priority <= 0.0 {
        return Flake {
            id: 0.0,
            rand: 0.0,
            presence: 0.0,
            normal: surface.normal,
        };
    }
    let [xi0, xi1, rand] = cell_vec3(flake_cell, &[2]);
    let phi = PI * 2.0 * xi0;
    let tan_theta = roughness * roughness * xi1.sqrt() / (1.0 - xi1).sqrt();
    let sin_theta = tan_theta / (1.0 + tan_theta * tan_theta).sqrt();
    let cos_theta = (1.0 - sin_theta * sin_theta).sqrt();
    let normal = surface.tangent * phi.cos() * sin_theta
        + surface.bitangent * phi.sin() * sin_theta
        + surface.normal * cos_theta;
    Flake {
        // int(rand * 16777215.0): truncation toward zero.
        id: (rand * 16_777_215.0).trunc(),
        rand,
        presence: priority,
        normal: normal.normalize(),
    }
}

/// Distance metric of [`worley2`]. The discriminants are the values of the
/// `metric` argument of MaterialX's `mx_worley_noise_float` /
/// `mx_worley_distance`:
///
/// | `metric` | variant              | distance                 |
/// |----------|----------------------|--------------------------|
/// | 0        | [`Euclidean`]        | `sqrt(dx² + dy²)`        |
/// | 1        | [`DistanceSquared`]  | `dx² + dy²`              |
/// | 2        | [`Manhattan`]        | `abs(dx) + abs(dy)`      |
/// | 3        | [`Chebyshev`]        | `max(abs(dx), abs(dy))`  |
///
/// The GLSL treats any other value like 1. MaterialX's `worleynoise2d` node
/// has no metric input and always passes 0.
///
/// [`Euclidean`]: WorleyMetric::Euclidean
/// [`DistanceSquared`]: WorleyMetric::DistanceSquared
/// [`Manhattan`]: WorleyMetric::Manhattan
/// [`Chebyshev`]: WorleyMetric::Chebyshev
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WorleyMetric {
    /// 0: straight-line distance.
    #[default]
    Euclidean = 0,
    /// 1: squared straight-line distance.
    DistanceSquared = 1,
    /// 2: sum of the absolute coordinate differences.
    Manhattan = 2,
    /// 3: largest absolute coordinate difference.
    Chebyshev = 3,
}

impl WorleyMetric {
    /// The MaterialX `metric` number of this metric.
    pub const fn index(self) -> i32 {
        self as i32
    }

    /// The metric with MaterialX `metric` number `index`, if there is one.
    pub const fn from_index(index: i32) -> Option<Self> {
        match index {
            0 => Some(Self::Euclidean),
            1 => Some(Self::DistanceSquared),
            2 => Some(Self::Manhattan),
            3 => Some(Self::Chebyshev),
            _ => None,
        }
    }
}

/// What Worley noise gives, MaterialX's `style` input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WorleyStyle {
    /// 0: the distances to the nearest feature points (F1, F2, F3).
    #[default]
    Distance = 0,
    /// 1: the cell noise of the nearest feature point's cell, so each
    /// feature point's region is one flat value.
    Solid = 1,
}

impl WorleyStyle {
    /// The style with MaterialX `style` number `index`, if there is one.
    pub const fn from_index(index: i32) -> Option<Self> {
        match index {
            0 => Some(Self::Distance),
            1 => Some(Self::Solid),
            _ => None,
        }
    }
}

/// Channel `channel` of `mx_cell_noise_vec3` at the integer cell `cell`:
/// the cell's coordinates hashed with the channel after them.
#[inline(always)]
fn cell_channel<const D: usize>(cell: [i32; D], channel: u32) -> f32 {
    let mut words = [0u32; 4];
    for i in 0..D {
        words[i] = cell[i] as u32;
    }
    words[D] = channel;
    bits_to_01(hash_words(&words[..=D]))
}

/// The hashes that place lattice cell `cell`'s feature point, one per axis:
/// `mx_cell_noise_vec3(vec2 or vec3 of x + xoff...)`, the integer cell
/// through `float` and `floor` and back, as in the GLSL (identity below
/// 2^24).
#[inline(always)]
fn feature_hashes<const D: usize>(cell: [i32; D]) -> [f32; D] {
    let cell = cell.map(|c| floor_i(c as f32));
    std::array::from_fn(|i| cell_channel(cell, i as u32))
}

/// The feature point of the cell at offset `cell` from the sample's cell,
/// relative to the sample's cell origin, from that cell's
/// [`feature_hashes`].
#[inline(always)]
fn feature_point<const D: usize>(cell: [i32; D], hashed: [f32; D], jitter: f32) -> [f32; D] {
    std::array::from_fn(|i| cell[i] as f32 + ((hashed[i] - 0.5) * jitter + 0.5))
}

/// `mx_worley_cell_position`: the feature point of the cell at offset `cell`
/// from the sample's cell `base`, relative to the sample's cell origin.
#[inline(always)]
fn worley_cell_position<const D: usize>(cell: [i32; D], base: [i32; D], jitter: f32) -> [f32; D] {
    let hashed = feature_hashes(std::array::from_fn(|i| cell[i].wrapping_add(base[i])));
    feature_point(cell, hashed, jitter)
}

/// `mx_worley_distance` of the feature point `position` from `local` (both
/// relative to the sample's cell); for [`WorleyMetric::Euclidean`] this is
/// the squared distance, the square root is taken once at the end.
#[inline(always)]
fn worley_distance<const D: usize>(
    position: [f32; D],
    local: [f32; D],
    metric: WorleyMetric,
) -> f32 {
    let diff: [f32; D] = std::array::from_fn(|i| position[i] - local[i]);
    match metric {
        WorleyMetric::Manhattan => diff.iter().map(|d| d.abs()).sum(),
        WorleyMetric::Chebyshev => diff.iter().fold(0.0, |m, d| m.max(d.abs())),
        WorleyMetric::Euclidean | WorleyMetric::DistanceSquared => diff.iter().map(|d| d * d).sum(),
    }
}

/// Worley (cellular) noise in `D` dimensions and `K` channels,
/// `mx_worley_noise_float`, `_vec2` and `_vec3`: one feature point per unit
/// cell, searched over the 3^D neighbouring cells; channel `k` is the
/// distance to the `k+1`-th nearest feature point ([`WorleyStyle::Distance`])
/// or channel `k` of the cell noise of the nearest one's cell
/// ([`WorleyStyle::Solid`]). `jitter` 0 puts every feature point at its
/// cell's centre, 1 anywhere in the cell; larger values are allowed (the
/// search stays 3^D wide, as in MaterialX).
#[inline(always)]
pub fn worley<const D: usize, const K: usize>(
    p: [f32; D],
    jitter: f32,
    style: WorleyStyle,
    metric: WorleyMetric,
) -> [f32; K] {
    let split = p.map(floorfrac);
    let base = split.map(|(i, _)| i);
    let local = split.map(|(_, f)| f);
    // "Some big number for jitter > 1" in the GLSL.
    let mut nearest = [1e6_f32; K];
    let mut nearest_offset = [0.0_f32; D];
    for n in 0..3_usize.pow(D as u32) {
        let cell = worley_cell::<D>(n);
        let position = worley_cell_position(cell, base, jitter);
        let dist = worley_distance(position, local, metric);
        // The GLSL's chain of `if (dist < sqdist.x) ... else if (dist <
        // sqdist.y)`: the distance goes in at its rank, the farther ones
        // move down.
        if dist < nearest[K - 1] {
            let mut rank = K - 1;
            while rank > 0 && dist < nearest[rank - 1] {
                nearest[rank] = nearest[rank - 1];
                rank -= 1;
            }
            nearest[rank] = dist;
            if rank == 0 && style == WorleyStyle::Solid {
                nearest_offset = std::array::from_fn(|i| position[i] - local[i]);
            }
        }
    }
    match style {
        WorleyStyle::Solid => solid_cell_noise(nearest_offset, p),
        WorleyStyle::Distance if metric == WorleyMetric::Euclidean => nearest.map(f32::sqrt),
        WorleyStyle::Distance => nearest,
    }
}

/// [`WorleyStyle::Solid`]'s value, `mx_cell_noise_float/vec3(minpos + p)`:
/// the cell noise of the cell holding the nearest feature point, which lies
/// at `offset` from the sample `p`.
#[inline(always)]
fn solid_cell_noise<const D: usize, const K: usize>(offset: [f32; D], p: [f32; D]) -> [f32; K] {
    let cell: [i32; D] = std::array::from_fn(|i| floor_i(offset[i] + p[i]));
    // A float is the cell hashed alone; a vector hashes each channel after
    // the cell.
    std::array::from_fn(|k| match K {
        1 => bits_to_01(hash_words(&cell.map(|c| c as u32))),
        _ => cell_channel(cell, k as u32),
    })
}

/// The `n`-th of the 3^D cells [`worley`] searches, as offsets from the
/// sample's cell: the GLSL's nested loops, x outermost, -1, 0, 1 on each
/// axis.
#[inline(always)]
fn worley_cell<const D: usize>(n: usize) -> [i32; D] {
    std::array::from_fn(|i| ((n / 3_usize.pow((D - 1 - i) as u32)) % 3) as i32 - 1)
}

/// `out[k][i] = worley(p[i], jitter[i], style, metric)[k]` over a tile's
/// planes, 2D or 3D, `K` (1 to 3) channels: the worleynoise2d and
/// worleynoise3d nodes (float, vector2, vector3, either style), bit for bit
/// as [`worley`]: each sample meets the 3^D cells in the same order with the
/// same operations, but the cells are the outer loop, so that the loop over
/// samples inside can run 8 at a time where AVX2 is there.
#[multiversion(targets("x86_64+avx2"))]
pub fn worley_plane<const D: usize, const K: usize>(
    out: [&mut [f32]; K],
    jitter: &[f32],
    coords: [&[f32]; D],
    style: WorleyStyle,
    metric: WorleyMetric,
) {
    use WorleyMetric::*;
    use WorleyStyle::*;
    match (style, metric) {
        (Distance, Euclidean) => worley_chunks::<D, K, 0, false>(out, jitter, coords),
        (Distance, DistanceSquared) => worley_chunks::<D, K, 1, false>(out, jitter, coords),
        (Distance, Manhattan) => worley_chunks::<D, K, 2, false>(out, jitter, coords),
        (Distance, Chebyshev) => worley_chunks::<D, K, 3, false>(out, jitter, coords),
        (Solid, Euclidean) => worley_chunks::<D, K, 0, true>(out, jitter, coords),
        (Solid, DistanceSquared) => worley_chunks::<D, K, 1, true>(out, jitter, coords),
        (Solid, Manhattan) => worley_chunks::<D, K, 2, true>(out, jitter, coords),
        (Solid, Chebyshev) => worley_chunks::<D, K, 3, true>(out, jitter, coords),
    }
}

/// The `K` nearest distances of a chunk's samples, a plane each, nearest
/// first.
type Nearest<const K: usize> = [[f32; CHUNK]; K];

/// What a chunk's samples have met so far: their `K` nearest distances
/// and, where `SOLID`, where the nearest feature point lies from each.
struct Met<const D: usize, const K: usize, const SOLID: bool> {
    nearest: Nearest<K>,
    nearest_offset: [[f32; CHUNK]; D],
}

impl<const D: usize, const K: usize, const SOLID: bool> Met<D, K, SOLID> {
    /// Sample `i`, at `local` in its cell, meets the feature point at
    /// `position`: its distance goes in at its rank and the farther ones
    /// move down, [`worley`]'s insertion as selects (a distance's rank is
    /// where it is first below the sorted distances), so that a loop of
    /// them vectorises.
    #[inline(always)]
    fn meet(&mut self, i: usize, position: [f32; D], local: [f32; D], metric: WorleyMetric) {
        let dist = worley_distance(position, local, metric);
        let below: [bool; K] = std::array::from_fn(|k| dist < self.nearest[k][i]);
        for k in (0..K).rev() {
            if k > 0 && below[k - 1] {
                self.nearest[k][i] = self.nearest[k - 1][i];
            } else if below[k] {
                self.nearest[k][i] = dist;
            }
        }
        if SOLID {
            for (axis, offset) in self.nearest_offset.iter_mut().enumerate() {
                let moved = position[axis] - local[axis];
                offset[i] = if below[0] { moved } else { offset[i] };
            }
        }
    }
}

/// [`worley_plane`] with the metric a constant (`WorleyMetric::index`; a
/// loop choosing it per sample is not vectorised) and the style
/// ([`WorleyStyle::Solid`] where `SOLID`).
#[inline(always)]
fn worley_chunks<const D: usize, const K: usize, const METRIC: i32, const SOLID: bool>(
    mut out: [&mut [f32]; K],
    jitter: &[f32],
    coords: [&[f32]; D],
) {
    let metric = WorleyMetric::from_index(METRIC).unwrap_or_default();
    let len = jitter.len();
    assert!(
        out.iter().all(|o| o.len() == len) && coords.iter().all(|p| p.len() == len),
        "planes of one tile"
    );
    for start in (0..len).step_by(CHUNK) {
        let range = start..len.min(start + CHUNK);
        let n = range.len();
        let mut base = [[0i32; D]; CHUNK];
        let mut local = [[0.0f32; D]; CHUNK];
        for i in 0..n {
            let split = coords.map(|c| floorfrac(c[start + i]));
            base[i] = split.map(|(cell, _)| cell);
            local[i] = split.map(|(_, fraction)| fraction);
        }
        let (base, local, jitter) = (&base[..n], &local[..n], &jitter[range.clone()]);
        let mut met = Met::<D, K, SOLID> {
            nearest: [[1e6_f32; CHUNK]; K],
            nearest_offset: [[0.0; CHUNK]; D],
        };
        let same_jitter = |j: &f32| j.to_bits() == jitter[0].to_bits();
        if base.iter().all(|b| *b == base[0]) && jitter.iter().all(same_jitter) {
            // The chunk's samples share a cell and a jitter (a row of an
            // image crossing a cell): the feature points are made once,
            // and only the distances per sample.
            for cell in 0..3_usize.pow(D as u32) {
                let point = worley_cell_position(worley_cell::<D>(cell), base[0], jitter[0]);
                for (i, local) in local.iter().enumerate() {
                    met.meet(i, point, *local, metric);
                }
            }
        } else {
            meet_scattered(&mut met, base, local, jitter, metric);
        }
        if SOLID {
            for i in 0..n {
                let offset = met.nearest_offset.map(|axis| axis[i]);
                let values: [f32; K] = solid_cell_noise(offset, coords.map(|c| c[start + i]));
                for (out, value) in out.iter_mut().zip(values) {
                    out[start + i] = value;
                }
            }
        } else {
            for (out, nearest) in out.iter_mut().zip(&met.nearest) {
                for (out, nearest) in out[range.clone()].iter_mut().zip(nearest) {
                    *out = if metric == WorleyMetric::Euclidean {
                        nearest.sqrt()
                    } else {
                        *nearest
                    };
                }
            }
        }
    }
}

/// [`worley_chunks`]' samples that do not share a cell: where they lie in
/// a few cells, their neighbours' hashes are made once (a [`CellTable`]),
/// not 3^D times a sample.
#[inline(always)]
fn meet_scattered<const D: usize, const K: usize, const SOLID: bool>(
    met: &mut Met<D, K, SOLID>,
    base: &[[i32; D]],
    local: &[[f32; D]],
    jitter: &[f32],
    metric: WorleyMetric,
) {
    match CellTable::around(base) {
        Some(table) => meet_every_cell(met, base, local, jitter, metric, |b, o| table.get(b, o)),
        None => meet_every_cell(met, base, local, jitter, metric, |b, o| {
            feature_hashes(std::array::from_fn(|i| b[i].wrapping_add(o[i])))
        }),
    }
}

/// Each sample of a chunk of [`worley_plane`] (its cell `base`, its place
/// `local` in it, its jitter) meets the feature points of its 3^D cells in
/// [`worley`]'s order, a cell's hashes from `hashed(base, offset)`. Inlined
/// once per source of hashes, so that each loop over samples vectorises.
#[inline(always)]
fn meet_every_cell<const D: usize, const K: usize, const SOLID: bool>(
    met: &mut Met<D, K, SOLID>,
    base: &[[i32; D]],
    local: &[[f32; D]],
    jitter: &[f32],
    metric: WorleyMetric,
    hashed: impl Fn([i32; D], [i32; D]) -> [f32; D],
) {
    for n in 0..3_usize.pow(D as u32) {
        let cell = worley_cell::<D>(n);
        for i in 0..base.len() {
            let position = feature_point(cell, hashed(base[i], cell), jitter[i]);
            met.meet(i, position, local[i], metric);
        }
    }
}

/// The most cells a [`CellTable`] holds.
const TABLE_CELLS: usize = 256;

/// The [`feature_hashes`] of every cell around some samples' cells, made
/// once: exactly what [`worley_cell_position`] hashes per sample and
/// neighbour.
struct CellTable<const D: usize> {
    origin: [i32; D],
    /// Cells along each axis.
    spans: [i32; D],
    hashed: [[f32; D]; TABLE_CELLS],
}

impl<const D: usize> CellTable<D> {
    /// The table of the cells around `bases` (with their neighbours), if
    /// they fit, with no coordinate near the ends of i32's range.
    fn around(bases: &[[i32; D]]) -> Option<CellTable<D>> {
        let mut origin = [0; D];
        let mut spans = [0; D];
        let mut cells: i64 = 1;
        for axis in 0..D {
            let low = bases.iter().map(|b| b[axis]).min()?.checked_sub(1)?;
            // Room for the filling below to step one past the last cell.
            let high = bases.iter().map(|b| b[axis]).max()?.checked_add(2)? - 1;
            let span = i64::from(high) - i64::from(low) + 1;
            cells = cells.saturating_mul(span);
            if cells > TABLE_CELLS as i64 {
                return None;
            }
            (origin[axis], spans[axis]) = (low, span as i32);
        }
        let mut table = CellTable {
            origin,
            spans,
            hashed: [[0.0; D]; TABLE_CELLS],
        };
        let mut cell = origin;
        for hashed in &mut table.hashed[..cells as usize] {
            *hashed = feature_hashes(cell);
            // The next cell, the last axis fastest, as `get` indexes.
            for axis in (0..D).rev() {
                cell[axis] += 1;
                if cell[axis] < origin[axis] + spans[axis] {
                    break;
                }
                cell[axis] = origin[axis];
            }
        }
        Some(table)
    }

    /// The hashed channels of the cell at `offset` from `base`.
    #[inline(always)]
    fn get(&self, base: [i32; D], offset: [i32; D]) -> [f32; D] {
        let mut index = 0;
        for axis in 0..D {
            // The cell's place along the axis first: near i32's end, base
            // plus the index so far would overflow.
            let along = base[axis] + offset[axis] - self.origin[axis];
            index = index * self.spans[axis] + along;
        }
        self.hashed[index as usize]
    }
}

/// 2D Worley noise, the distance to the nearest feature point ([`worley`]).
/// MaterialX's `worleynoise2d` node uses [`WorleyMetric::Euclidean`].
#[inline(always)]
pub fn worley2(p: Vec2, jitter: f32, metric: WorleyMetric) -> f32 {
    let [d] = worley(p.to_array(), jitter, WorleyStyle::Distance, metric);
    d
}

/// 3D Worley noise ([`worley2`]), MaterialX's `worleynoise3d`.
#[inline]
pub fn worley3(p: Vec3, jitter: f32, metric: WorleyMetric) -> f32 {
    let [d] = worley(p.to_array(), jitter, WorleyStyle::Distance, metric);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flake_turns_the_normal_and_no_flake_keeps_it() {
        let surface = Surface {
            normal: Vec3::Z,
            tangent: Vec3::X,
            bitangent: Vec3::Y,
        };
        let samples: Vec<Flake> = (0..400)
            .map(|i| {
                let p = Vec3::new((i % 20) as f32 * 0.013, (i / 20) as f32 * 0.017, 0.0);
                flake(0.05, 0.5, 0.5, p, surface)
            })
            .collect();
        let (with, without): (Vec<&Flake>, Vec<&Flake>) =
            samples.iter().partition(|f| f.presence > 0.0);
        assert!(!with.is_empty() && !without.is_empty());
        for f in without {
            assert_eq!((f.id, f.rand, f.normal), (0.0, 0.0, Vec3::Z));
        }
        for f in with {
            assert!(
                (f.normal.length() - 1.0).abs() < 1e-6 && f.normal.z > 0.0,
                "{f:?}"
            );
            assert_eq!(f.id, (f.rand * 16_777_215.0).trunc());
        }
        // Roughness 0: every flake lies flat.
        let at = Vec3::new(0.31, 0.77, 0.0);
        let flat = flake(0.05, 0.0, 1.0, at, surface);
        assert!(flat.presence > 0.0);
        assert_eq!(flat.normal, Vec3::Z);
        // GGX on roughness squared: one flake's tilt at two roughnesses has
        // tangents in the ratio of their squares, about the same azimuth.
        let [a, b] = [0.3f32, 0.6].map(|r| flake(0.05, r, 1.0, at, surface).normal);
        let tilt = |n: Vec3| n.truncate().length() / n.z;
        assert!((tilt(b) / tilt(a) - 4.0).abs() < 1e-3, "{a} {b}");
        let azimuth = |n: Vec3| n.y.atan2(n.x);
        assert!((azimuth(a) - azimuth(b)).abs() < 1e-5, "{a} {b}");
        // The frame turns the normal with it: tangent along y, bitangent
        // along -x gives the same flake turned a quarter.
        let turned = Surface {
            normal: Vec3::Z,
            tangent: Vec3::Y,
            bitangent: -Vec3::X,
        };
        let c = flake(0.05, 0.3, 1.0, at, turned).normal;
        assert!((c - Vec3::new(-a.y, a.x, a.z)).length() < 1e-6, "{a} {c}");
    }

    /// Coordinates for comparing the plane kernels with the scalar
    /// functions: small, negative, near lattice lines, and huge.
    fn test_coordinates(count: usize) -> (Vec<f32>, Vec<f32>) {
        let mut state = 0x2545_f491_u32;
        let mut next = || {
            state = hash_words(&[state]);
            state
        };
        (0..count)
            .map(|i| {
                let scale = [1.0f32, 17.0, 1.0e3, 3.0e6, 2.0e9][i % 5];
                let unit = |bits: u32| (bits as f32 / u32::MAX as f32) * 2.0 - 1.0;
                let (x, y) = (unit(next()) * scale, unit(next()) * scale);
                // Every 7th sample sits on a lattice line.
                if i % 7 == 0 { (x.round(), y) } else { (x, y) }
            })
            .unzip()
    }

    #[test]
    fn the_plane_kernels_give_the_scalar_functions_bits() {
        let (u, v) = test_coordinates(1_000_003);
        let len = u.len();
        let amplitude: Vec<f32> = (0..len).map(|i| 0.25 + (i % 3) as f32).collect();
        let pivot: Vec<f32> = (0..len).map(|i| (i % 5) as f32 * 0.1).collect();
        // A third coordinate: the second's values in another order.
        let w: Vec<f32> = v.iter().rev().copied().collect();
        let mut out = vec![0.0; len];
        let same = |out: &[f32], expected: &dyn Fn(usize) -> f32, what: &str| {
            for (i, out) in out.iter().enumerate() {
                let (x, y, z) = (u[i], v[i], w[i]);
                assert_eq!(
                    out.to_bits(),
                    expected(i).to_bits(),
                    "{what} at ({x}, {y}, {z})"
                );
            }
        };
        perlin2_plane(&mut out, &amplitude, &pivot, [&u, &v]);
        let perlin = |i| perlin2(Vec2::new(u[i], v[i])) * amplitude[i] + pivot[i];
        same(&out, &perlin, "perlin2");
        perlin3_plane(&mut out, &amplitude, &pivot, [&u, &v, &w]);
        let perlin = |i| perlin3(Vec3::new(u[i], v[i], w[i])) * amplitude[i] + pivot[i];
        same(&out, &perlin, "perlin3");
        cell_plane(&mut out, [&u, &v]);
        same(&out, &|i| cell2(Vec2::new(u[i], v[i])), "cell2");
        cell_plane(&mut out, [&u, &v, &w]);
        same(&out, &|i| cell3(Vec3::new(u[i], v[i], w[i])), "cell3");
        let lacunarity: Vec<f32> = (0..len).map(|i| 1.5 + (i % 4) as f32 * 0.5).collect();
        let diminish: Vec<f32> = (0..len).map(|i| 0.3 + (i % 3) as f32 * 0.2).collect();
        let planes = [&amplitude[..], &lacunarity, &diminish];
        for octaves in [0, 1, 4] {
            fractal2_plane(&mut out, planes, [&u, &v], octaves);
            let fractal = |i| {
                let p = Vec2::new(u[i], v[i]);
                amplitude[i] * fractal2(p, octaves, lacunarity[i], diminish[i])
            };
            same(&out, &fractal, &format!("fractal2, {octaves} octaves"));
            fractal3_plane(&mut out, planes, [&u, &v, &w], octaves);
            let fractal = |i| {
                let p = Vec3::new(u[i], v[i], w[i]);
                amplitude[i] * fractal3(p, octaves, lacunarity[i], diminish[i])
            };
            same(&out, &fractal, &format!("fractal3, {octaves} octaves"));
        }
        // The three-channel forms, each channel with its own amplitude.
        let amplitudes: [Vec<f32>; 3] = std::array::from_fn(|c| {
            (0..len)
                .map(|i| 0.5 + ((i + c) % 4) as f32 * 0.75)
                .collect()
        });
        let amplitudes = amplitudes.each_ref().map(|a| &a[..]);
        let mut outs = [vec![0.0; len], vec![0.0; len], vec![0.0; len]];
        let same3 = |outs: &[Vec<f32>; 3], expected: &dyn Fn(usize) -> [f32; 3], what: &str| {
            for (c, out) in outs.iter().enumerate() {
                same(out, &|i| expected(i)[c], &format!("{what}, channel {c}"));
            }
        };
        let scaled =
            |n: [f32; 3], i: usize| std::array::from_fn(|c| n[c] * amplitudes[c][i] + pivot[i]);
        perlin2_vec3_plane(
            outs.each_mut().map(|o| &mut o[..]),
            amplitudes,
            &pivot,
            [&u, &v],
        );
        same3(
            &outs,
            &|i| scaled(perlin2_vec3(Vec2::new(u[i], v[i])), i),
            "perlin2_vec3",
        );
        let coords = [&u[..], &v, &w];
        perlin3_vec3_plane(
            outs.each_mut().map(|o| &mut o[..]),
            amplitudes,
            &pivot,
            coords,
        );
        same3(
            &outs,
            &|i| scaled(perlin3_vec3(Vec3::new(u[i], v[i], w[i])), i),
            "perlin3_vec3",
        );
        for octaves in [0, 1, 4] {
            let amplified =
                |n: [f32; 3], i: usize| std::array::from_fn(|c| amplitudes[c][i] * n[c]);
            let planes = [&lacunarity[..], &diminish];
            let out = outs.each_mut().map(|o| &mut o[..]);
            fractal2_vec3_plane(out, amplitudes, planes, [&u, &v], octaves);
            let fractal = |i| {
                let p = Vec2::new(u[i], v[i]);
                amplified(fractal2_vec3(p, octaves, lacunarity[i], diminish[i]), i)
            };
            same3(
                &outs,
                &fractal,
                &format!("fractal2_vec3, {octaves} octaves"),
            );
            let out = outs.each_mut().map(|o| &mut o[..]);
            fractal3_vec3_plane(out, amplitudes, planes, coords, octaves);
            let fractal = |i| {
                let p = Vec3::new(u[i], v[i], w[i]);
                amplified(fractal3_vec3(p, octaves, lacunarity[i], diminish[i]), i)
            };
            same3(
                &outs,
                &fractal,
                &format!("fractal3_vec3, {octaves} octaves"),
            );
        }
        // Jitters outside 0..1 too: MaterialX allows them.
        let jitter: Vec<f32> = (0..len).map(|i| (i % 8) as f32 * 0.5 - 1.0).collect();
        // Scattered samples (each its own cells), and an image's rows of
        // samples crossing cells, at several scales and both signs (the
        // cells the samples share hashed once).
        let rows = |scale: f32, shift: f32| -> (Vec<f32>, Vec<f32>) {
            (0..len)
                .map(|i| {
                    let (x, y) = ((i % 96) as f32 + 0.5, (i / 96) as f32 + 0.5);
                    (x * scale + shift, y * scale - shift)
                })
                .unzip()
        };
        let coherent = [rows(0.07, -3.3), rows(0.9, 250.0), rows(0.013, 1.0e4)];
        let sets = std::iter::once((&u, &v)).chain(coherent.iter().map(|(u, v)| (u, v)));
        // A jitter per sample, and one for all (whose chunks within one cell
        // make their nine feature points once).
        let uniform = vec![0.75; len];
        let sets = sets.flat_map(|set| [(set, &jitter), (set, &uniform)]);
        for ((u, v), jitter) in sets {
            let metrics = [
                WorleyMetric::Euclidean,
                WorleyMetric::DistanceSquared,
                WorleyMetric::Manhattan,
                WorleyMetric::Chebyshev,
            ];
            let styles = [WorleyStyle::Distance, WorleyStyle::Solid];
            for (metric, style) in metrics.into_iter().flat_map(|m| styles.map(|s| (m, s))) {
                let what = format!("{metric:?}, {style:?}");
                // 64 forms, 9 cells a sample: the first 100,003 samples.
                let m = 100_003;
                let (u, v, jitter) = (&u[..m], &v[..m], &jitter[..m]);
                worley_plane([&mut out[..m]], jitter, [u, v], style, metric);
                for i in 0..m {
                    let p = [u[i], v[i]];
                    let [expected] = worley::<2, 1>(p, jitter[i], style, metric);
                    assert_eq!(
                        out[i].to_bits(),
                        expected.to_bits(),
                        "worley2 at {p:?}, {what}"
                    );
                }
                // Two and three channels (vector2, vector3).
                let [f1, f2, _] = outs.each_mut().map(|f| &mut f[..m]);
                worley_plane([f1, f2], jitter, [u, v], style, metric);
                for i in 0..m {
                    let expected = worley::<2, 2>([u[i], v[i]], jitter[i], style, metric);
                    let got = [&outs[0], &outs[1]].map(|f| f[i].to_bits());
                    assert_eq!(got, expected.map(f32::to_bits), "worley2 vector2, {what}");
                }
                let three = outs.each_mut().map(|f| &mut f[..m]);
                worley_plane(three, jitter, [u, v], style, metric);
                for i in 0..m {
                    let expected = worley::<2, 3>([u[i], v[i]], jitter[i], style, metric);
                    let got = outs.each_ref().map(|f| f[i].to_bits());
                    assert_eq!(got, expected.map(f32::to_bits), "worley2 vector3, {what}");
                }
                // 3D, 27 cells a sample, over the first 40,003: the third
                // coordinate a slow slope across the rows.
                let m = 40_003;
                let (u, v, jitter) = (&u[..m], &v[..m], &jitter[..m]);
                let w: Vec<f32> = u.iter().map(|u| u * 0.25 + 0.3).collect();
                let coords = [u, v, &w[..]];
                worley_plane([&mut out[..m]], jitter, coords, style, metric);
                for i in 0..m {
                    let p = [u[i], v[i], w[i]];
                    let [expected] = worley::<3, 1>(p, jitter[i], style, metric);
                    assert_eq!(
                        out[i].to_bits(),
                        expected.to_bits(),
                        "worley3 at {p:?}, {what}"
                    );
                }
                let three = outs.each_mut().map(|f| &mut f[..m]);
                worley_plane(three, jitter, coords, style, metric);
                for i in 0..m {
                    let p = [u[i], v[i], w[i]];
                    let expected = worley::<3, 3>(p, jitter[i], style, metric);
                    let got = outs.each_ref().map(|f| f[i].to_bits());
                    assert_eq!(
                        got,
                        expected.map(f32::to_bits),
                        "worley3 vector3 at {p:?}, {what}"
                    );
                }
            }
        }
    }

    /// Samples in cells near the end of i32's range, spread over a table
    /// of many cells: indexing it must not overflow (a debug build checks).
    #[test]
    fn worley_near_the_end_of_i32_gives_the_scalar_functions_bits() {
        let u: Vec<f32> = (0..64).map(|i| i as f32 * 0.66).collect();
        for (far, p) in [
            (2_147_483_520.0f32, 1),
            (-2_147_483_520.0, 1),
            (2_147_483_520.0, 0),
        ] {
            let v = vec![far; u.len()];
            let jitter = vec![1.0; u.len()];
            let mut out = vec![0.0; u.len()];
            let [a, b] = if p == 1 { [&u, &v] } else { [&v, &u] };
            worley_plane(
                [&mut out],
                &jitter,
                [a, b],
                WorleyStyle::Distance,
                WorleyMetric::Euclidean,
            );
            for i in 0..u.len() {
                let expected = worley2(Vec2::new(a[i], b[i]), 1.0, WorleyMetric::Euclidean);
                assert_eq!(
                    out[i].to_bits(),
                    expected.to_bits(),
                    "at ({}, {})",
                    a[i],
                    b[i]
                );
            }
            let w = vec![0.5; u.len()];
            worley_plane(
                [&mut out],
                &jitter,
                [a, &w, b],
                WorleyStyle::Distance,
                WorleyMetric::Euclidean,
            );
            for i in 0..u.len() {
                let expected = worley3(Vec3::new(a[i], 0.5, b[i]), 1.0, WorleyMetric::Euclidean);
                assert_eq!(
                    out[i].to_bits(),
                    expected.to_bits(),
                    "at ({}, 0.5, {})",
                    a[i],
                    b[i]
                );
            }
        }
    }

    #[test]
    fn perlin_is_exactly_zero_on_the_lattice() {
        for x in -40..=40 {
            for y in -40..=40 {
                let p = Vec2::new(x as f32, y as f32);
                assert_eq!(perlin2(p), 0.0, "perlin2 at {p}");
            }
        }
        for x in -9..=9 {
            for y in -9..=9 {
                for z in -9..=9 {
                    let p = Vec3::new(x as f32, y as f32, z as f32);
                    assert_eq!(perlin3(p), 0.0, "perlin3 at {p}");
                }
            }
        }
        for p in [
            Vec2::new(-123_456.0, 98_765.0),
            Vec2::new(1_000_000.0, -1.0),
        ] {
            assert_eq!(perlin2(p), 0.0, "perlin2 at {p}");
        }
        // Integer lacunarity keeps every octave on the lattice.
        assert_eq!(fractal2(Vec2::new(-7.0, 3.0), 6, 2.0, 0.5), 0.0);
        assert_eq!(fractal3(Vec3::new(5.0, -2.0, 11.0), 6, 2.0, 0.5), 0.0);
    }

    #[test]
    fn perlin_stays_in_range_and_reaches_near_its_ends() {
        // 640 x 640 = 409,600 samples over a 64 x 64 lattice region.
        let (mut lo, mut hi) = (f32::MAX, f32::MIN);
        for i in 0..640 {
            for j in 0..640 {
                let p = Vec2::new(-32.0 + i as f32 * 0.1003, -29.0 + j as f32 * 0.0997);
                let v = perlin2(p);
                assert!(v.abs() <= 1.0, "perlin2({p}) = {v}");
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        assert!(lo < -0.5 && hi > 0.5, "perlin2 extremes {lo} {hi}");

        // 80^3 = 512,000 samples over a 16^3 lattice region.
        let (mut lo, mut hi) = (f32::MAX, f32::MIN);
        for i in 0..80 {
            for j in 0..80 {
                for k in 0..80 {
                    let p = Vec3::new(
                        -8.0 + i as f32 * 0.2003,
                        -7.0 + j as f32 * 0.1997,
                        -9.0 + k as f32 * 0.2011,
                    );
                    let v = perlin3(p);
                    assert!(v.abs() <= 1.0, "perlin3({p}) = {v}");
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
        assert!(lo < -0.5 && hi > 0.5, "perlin3 extremes {lo} {hi}");
    }

    #[test]
    fn cell_noise_is_constant_per_cell_and_differs_between_cells() {
        let mut values = Vec::new();
        for cx in -5..5 {
            for cy in -5..5 {
                let corner = Vec2::new(cx as f32, cy as f32);
                let v = cell2(corner);
                assert!((0.0..=1.0).contains(&v), "cell2 at {corner} = {v}");
                for offset in [
                    Vec2::new(0.25, 0.5),
                    Vec2::new(0.999, 0.001),
                    Vec2::new(0.5, 0.999_9),
                ] {
                    assert_eq!(cell2(corner + offset), v, "cell2 in cell {corner}");
                }
                // Just below the corner is the neighbouring cell.
                assert_ne!(cell2(corner - Vec2::splat(0.001)), v);
                values.push(v);

                let corner3 = corner.extend((cx * cy) as f32);
                let v3 = cell3(corner3);
                assert!((0.0..=1.0).contains(&v3), "cell3 at {corner3} = {v3}");
                assert_eq!(cell3(corner3 + Vec3::new(0.5, 0.999, 0.25)), v3);
                assert_ne!(cell3(corner3 - Vec3::new(0.0, 0.0, 0.5)), v3);
            }
        }
        values.sort_by(f32::total_cmp);
        values.dedup();
        assert_eq!(values.len(), 100, "100 cells, 100 distinct values");
    }

    #[test]
    fn cell_noise_reaches_exactly_one_like_materialx() {
        // mx_bits_to_01 divides in f32, so hashes >= 0xffffff80 give 1.0.
        // These cells were found by a brute-force search; their hashes
        // (0xffffffdd, 0xfffffff2) agree with the Python lookup3 port.
        assert_eq!(hash_words(&[-1906_i32 as u32, 13]), 0xffff_ffdd);
        assert_eq!(cell2(Vec2::new(-1905.5, 13.25)), 1.0);
        assert_eq!(hash_words(&[-114_i32 as u32, 51, 42]), 0xffff_fff2);
        assert_eq!(cell3(Vec3::new(-113.5, 51.9, 42.01)), 1.0);
        assert_eq!(bits_to_01(0), 0.0);
        assert_eq!(bits_to_01(0xffff_ff7f), 1.0 - f32::EPSILON / 2.0);
    }

    #[test]
    fn worley_metrics_are_consistent() {
        // With no jitter every feature point is its cell's centre.
        let p = Vec2::new(0.25, 0.75);
        assert!((worley2(p, 0.0, WorleyMetric::Euclidean) - 0.125_f32.sqrt()).abs() < 1e-6);
        assert_eq!(worley2(p, 0.0, WorleyMetric::DistanceSquared), 0.125);
        assert_eq!(worley2(p, 0.0, WorleyMetric::Manhattan), 0.5);
        assert_eq!(worley2(p, 0.0, WorleyMetric::Chebyshev), 0.25);
        for i in 0..50 {
            for j in 0..50 {
                let p = Vec2::new(-6.0 + i as f32 * 0.237, -5.0 + j as f32 * 0.251);
                let e = worley2(p, 1.0, WorleyMetric::Euclidean);
                let s = worley2(p, 1.0, WorleyMetric::DistanceSquared);
                let m = worley2(p, 1.0, WorleyMetric::Manhattan);
                let c = worley2(p, 1.0, WorleyMetric::Chebyshev);
                assert_eq!(e, s.sqrt());
                assert!(c <= e && e <= m, "at {p}: {c} {e} {m}");
                // With jitter <= 1 the own cell's point is within sqrt(2).
                assert!((0.0..=std::f32::consts::SQRT_2).contains(&e));
            }
        }
        for m in [
            WorleyMetric::Euclidean,
            WorleyMetric::DistanceSquared,
            WorleyMetric::Manhattan,
            WorleyMetric::Chebyshev,
        ] {
            assert_eq!(WorleyMetric::from_index(m.index()), Some(m));
        }
        assert_eq!(WorleyMetric::from_index(4), None);
        assert_eq!(WorleyMetric::default(), WorleyMetric::Euclidean);
    }

    // ---- reference values -------------------------------------------------
    //
    // The expected numbers below come from an independent Python port of
    // MaterialX's mx_noise.glsl (with lookup3 written from lookup3.c's
    // hashword, every float operation rounded to binary32 through `struct`),
    // not from this file.

    const TOLERANCE: f32 = 1e-6;

    fn assert_close(got: f32, want: f32, what: &str) {
        assert!(
            (got - want).abs() <= TOLERANCE,
            "{what}: got {got}, Python port says {want}"
        );
    }

    #[test]
    fn hash_words_matches_an_independent_lookup3() {
        assert_eq!(hash_words(&[0, 0]), 0xdc3d_74f9);
        assert_eq!(hash_words(&[1, 2]), 0x1037_cb9d);
        assert_eq!(hash_words(&[-3_i32 as u32, 7]), 0xbf0b_5d30);
        assert_eq!(hash_words(&[123_456, -654_321_i32 as u32]), 0xc895_6a67);
    }

    #[test]
    fn perlin2_matches_python_port() {
        let cases: [(f32, f32, f32); 8] = [
            (0.3, 1.7, -0.6460999),
            (-2.25, 5.5, 0.30221036),
            (12.34, -7.89, -0.50092566),
            (0.5, 0.25, -0.23663184),
            (-0.1, -0.9, 0.18157719),
            (100.7, 3.3, 0.15133886),
            (7.0001, -3.999, -0.00052904576),
            (-45.6, 78.9, -0.25891784),
        ];
        for (x, y, want) in cases {
            assert_close(
                perlin2(Vec2::new(x, y)),
                want,
                &format!("perlin2({x}, {y})"),
            );
        }
    }

    #[test]
    fn perlin3_matches_python_port() {
        let cases: [(f32, f32, f32, f32); 8] = [
            (0.3, 1.7, -0.4, 0.018657804),
            (-2.25, 5.5, 3.75, 0.30114076),
            (12.34, -7.89, 0.01, -0.3583706),
            (0.5, 0.5, 0.5, 0.12275),
            (-0.1, -0.9, -10.6, 0.34901312),
            (100.7, 3.3, 42.42, 0.04529194),
            (7.0001, -3.999, 1.5, -0.24456723),
            (-45.6, 78.9, -0.77, 0.0555811),
        ];
        for (x, y, z, want) in cases {
            assert_close(
                perlin3(Vec3::new(x, y, z)),
                want,
                &format!("perlin3({x}, {y}, {z})"),
            );
        }
    }

    #[test]
    fn fractal2_matches_python_port() {
        let cases: [(f32, f32, u32, f32, f32, f32); 8] = [
            (0.3, 1.7, 3, 2.0, 0.5, -0.9275439),
            (-2.25, 5.5, 5, 2.0, 0.5, 0.21951036),
            (12.34, -7.89, 4, 2.17, 0.6, -0.79291916),
            (0.5, 0.25, 2, 2.0, 0.5, -0.23663184),
            (-0.1, -0.9, 6, 1.9, 0.45, 0.3572382),
            (100.7, 3.3, 3, 2.0, 0.5, 0.24418074),
            (7.0001, -3.999, 2, 3.0, 0.7, -0.003447447),
            (-45.6, 78.9, 8, 2.0, 0.5, -0.49462783),
        ];
        for (x, y, octaves, lacunarity, diminish, want) in cases {
            let got = fractal2(Vec2::new(x, y), octaves, lacunarity, diminish);
            assert_close(
                got,
                want,
                &format!("fractal2({x}, {y}, {octaves}, {lacunarity}, {diminish})"),
            );
        }
    }

    #[test]
    fn fractal3_matches_python_port() {
        let cases: [(f32, f32, f32, u32, f32, f32, f32); 8] = [
            (0.3, 1.7, -0.4, 3, 2.0, 0.5, -0.0738418),
            (-2.25, 5.5, 3.75, 5, 2.0, 0.5, 0.055640757),
            (12.34, -7.89, 0.01, 4, 2.17, 0.6, -0.3782639),
            (0.5, 0.5, 0.5, 2, 2.0, 0.5, 0.12275),
            (-0.1, -0.9, -10.6, 6, 1.9, 0.45, 0.2641184),
            (100.7, 3.3, 42.42, 3, 2.0, 0.5, -0.05666114),
            (7.0001, -3.999, 1.5, 2, 3.0, 0.7, -0.41858292),
            (-45.6, 78.9, -0.77, 8, 2.0, 0.5, 0.20803647),
        ];
        for (x, y, z, octaves, lacunarity, diminish, want) in cases {
            let got = fractal3(Vec3::new(x, y, z), octaves, lacunarity, diminish);
            assert_close(
                got,
                want,
                &format!("fractal3({x}, {y}, {z}, {octaves}, {lacunarity}, {diminish})"),
            );
        }
    }

    #[test]
    fn cell2_matches_python_port() {
        let cases: [(f32, f32, f32); 8] = [
            (0.3, 1.7, 0.8425211),
            (-2.25, 5.5, 0.05058222),
            (12.34, -7.89, 0.9184067),
            (0.5, 0.25, 0.86031276),
            (-0.1, -0.9, 0.978705),
            (100.7, 3.3, 0.70851666),
            (7.0001, -3.999, 0.77905715),
            (-45.6, 78.9, 0.59696126),
        ];
        for (x, y, want) in cases {
            assert_close(cell2(Vec2::new(x, y)), want, &format!("cell2({x}, {y})"));
        }
    }

    #[test]
    fn cell3_matches_python_port() {
        let cases: [(f32, f32, f32, f32); 8] = [
            (0.3, 1.7, -0.4, 0.16719717),
            (-2.25, 5.5, 3.75, 0.053023733),
            (12.34, -7.89, 0.01, 0.65029013),
            (0.5, 0.5, 0.5, 0.61106765),
            (-0.1, -0.9, -10.6, 0.6148596),
            (100.7, 3.3, 42.42, 0.7811354),
            (7.0001, -3.999, 1.5, 0.018794868),
            (-45.6, 78.9, -0.77, 0.33962488),
        ];
        for (x, y, z, want) in cases {
            assert_close(
                cell3(Vec3::new(x, y, z)),
                want,
                &format!("cell3({x}, {y}, {z})"),
            );
        }
    }

    #[test]
    fn worley2_matches_python_port() {
        let cases: [(f32, f32, f32, [f32; 4]); 8] = [
            (
                0.3,
                1.7,
                1.0,
                [0.52751166, 0.27826858, 0.61155486, 0.51939964],
            ),
            (
                -2.25,
                5.5,
                1.0,
                [0.33005378, 0.10893549, 0.46538985, 0.25060642],
            ),
            (
                12.34,
                -7.89,
                0.5,
                [0.45567954, 0.20764384, 0.6015806, 0.41631997],
            ),
            (
                0.5,
                0.25,
                1.0,
                [0.12827551, 0.016454607, 0.17524385, 0.11106765],
            ),
            (
                -0.1,
                -0.9,
                0.75,
                [0.39078388, 0.15271205, 0.5526502, 0.27700436],
            ),
            (
                100.7,
                3.3,
                0.0,
                [0.28284058, 0.0799988, 0.399997, 0.20000005],
            ),
            (
                7.0001,
                -3.999,
                1.0,
                [0.08829183, 0.007795448, 0.12048018, 0.07663691],
            ),
            (
                -45.6,
                78.9,
                1.3,
                [0.31759223, 0.100864835, 0.3850422, 0.30814135],
            ),
        ];
        // Expected values per metric: Euclidean, DistanceSquared, Manhattan, Chebyshev.
        let metrics = [
            WorleyMetric::Euclidean,
            WorleyMetric::DistanceSquared,
            WorleyMetric::Manhattan,
            WorleyMetric::Chebyshev,
        ];
        for (x, y, jitter, wants) in cases {
            for (metric, want) in metrics.into_iter().zip(wants) {
                let got = worley2(Vec2::new(x, y), jitter, metric);
                assert_close(
                    got,
                    want,
                    &format!("worley2({x}, {y}, {jitter}, {metric:?})"),
                );
            }
        }
    }
}
