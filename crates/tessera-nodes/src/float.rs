//! Float helpers that inner loops can vectorise.

use multiversion::multiversion;
use tessera_core::Buffer;

/// 2^23: every f32 of this magnitude or more is an integer.
const INTEGRAL_FROM: f32 = 8_388_608.0;

/// `x.floor()`, bit for bit. On x86-64 without SSE4.1 (Rust's baseline
/// target) `f32::floor` is a call into libm, which keeps a loop from being
/// vectorised and cost 8% of a pattern render on its own.
#[inline]
pub fn floor(x: f32) -> f32 {
    let magnitude = x.abs();
    // Adding and taking away 2^23 rounds |x| to the nearest integer; the
    // sign goes back on so that -0.0 and -0.3 round to -0.0, as floor keeps.
    let nearest = ((magnitude + INTEGRAL_FROM) - INTEGRAL_FROM).copysign(x);
    let floored = if nearest > x { nearest - 1.0 } else { nearest };
    if magnitude < INTEGRAL_FROM {
        floored
    } else {
        x // integral already, infinite or NaN
    }
}

/// The blend of every interpolating node (glam's `lerp`, operation for operation).
#[inline]
pub fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a * (1.0 - t) + b * t
}

/// `out[i] = lerp(a[i], b[i], t[i])`, over one plane.
#[multiversion(targets("x86_64+avx2"))]
pub fn lerp_plane(out: &mut [f32], a: &[f32], b: &[f32], t: &[f32]) {
    for (((out, a), b), t) in out.iter_mut().zip(a).zip(b).zip(t) {
        *out = lerp(*a, *b, *t);
    }
}

/// Blends each plane of `a` towards `b`'s into `out`, by weights that
/// `weights` writes into the plane it is given. That plane is `out`'s
/// last, blended last and in place, so the weights need no storage of
/// their own.
#[multiversion(targets("x86_64+avx2"))]
pub fn lerp_planes_by(out: &mut Buffer, a: &Buffer, b: &Buffer, weights: impl FnOnce(&mut [f32])) {
    let (len, last) = (out.len(), out.channels() - 1);
    let (first, weight_plane) = out.data_mut().split_at_mut(len * last);
    weights(weight_plane);
    // (`max(1)`: chunks of 0 panic; an empty buffer has no planes to blend.)
    for (c, plane) in first.chunks_exact_mut(len.max(1)).enumerate() {
        lerp_plane(plane, a.plane(c), b.plane(c), weight_plane);
    }
    let ends = a.plane(last).iter().zip(b.plane(last));
    for (t, (a, b)) in weight_plane.iter_mut().zip(ends) {
        *t = lerp(*a, *b, *t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_same(x: f32) {
        let (ours, libm) = (floor(x), x.floor());
        assert!(
            ours.to_bits() == libm.to_bits() || (ours.is_nan() && libm.is_nan()),
            "floor({x:e}) = {ours:e}, libm says {libm:e}"
        );
    }

    #[test]
    fn floor_matches_libm_bit_for_bit() {
        let special = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.999_999_94,
            -0.999_999_94,
            1.0e-45,
            -1.0e-45,
            INTEGRAL_FROM - 0.5,
            -(INTEGRAL_FROM - 0.5),
            INTEGRAL_FROM,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        special.into_iter().for_each(assert_same);
        // A spread of every exponent and sign: about 4.3 million patterns.
        (0..=u32::MAX)
            .step_by(997)
            .for_each(|bits| assert_same(f32::from_bits(bits)));
    }
}
