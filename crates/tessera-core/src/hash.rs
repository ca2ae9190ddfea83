//! Bob Jenkins' lookup3 integer hash, as used by OSL and MaterialX for noise
//! lattices. It is also Tessera's only source of randomness: every random
//! value is a hash of (seed, node, pixel, sample, ...), never of a thread or
//! of call order.

#[inline]
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

#[inline]
fn final_mix(mut a: u32, mut b: u32, mut c: u32) -> u32 {
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(24));
    c
}

/// lookup3 `hashword` over `keys`, with OSL's initial value
/// `0xdeadbeef + (len << 2) + 13`.
#[inline]
pub fn hash_words(keys: &[u32]) -> u32 {
    let len = keys.len() as u32;
    let init = 0xdead_beef_u32.wrapping_add(len << 2).wrapping_add(13);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = keys;
    while rest.len() > 3 {
        a = a.wrapping_add(rest[0]);
        b = b.wrapping_add(rest[1]);
        c = c.wrapping_add(rest[2]);
        mix(&mut a, &mut b, &mut c);
        rest = &rest[3..];
    }
    match rest.len() {
        0 => c,
        n => {
            if n == 3 {
                c = c.wrapping_add(rest[2]);
            }
            if n >= 2 {
                b = b.wrapping_add(rest[1]);
            }
            a = a.wrapping_add(rest[0]);
            final_mix(a, b, c)
        }
    }
}

/// Maps 32 random bits to a float in [0, 1).
#[inline]
pub fn bits_to_unit(bits: u32) -> f32 {
    // 24 bits fill an f32 mantissa exactly, so the result is never 1.0.
    (bits >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// A 32-bit fingerprint of a string (a node id), for seeding per-node randomness.
pub fn hash_str(text: &str) -> u32 {
    let words: Vec<u32> = text
        .as_bytes()
        .chunks(4)
        .map(|chunk| {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            u32::from_le_bytes(word)
        })
        .collect();
    hash_words(&words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_word_and_its_position() {
        // With no keys lookup3 returns its initial value untouched.
        assert_eq!(hash_words(&[]), 0xdead_beef_u32.wrapping_add(13));
        assert_ne!(hash_words(&[0, 0]), hash_words(&[0, 1]));
        assert_ne!(hash_words(&[1, 0]), hash_words(&[0, 1]));
        // Longer keys go through `mix`, and every word matters.
        assert_ne!(hash_words(&[1, 2, 3, 4]), hash_words(&[1, 2, 3, 5]));
    }

    #[test]
    fn unit_floats_stay_below_one() {
        assert_eq!(bits_to_unit(0), 0.0);
        assert!(bits_to_unit(u32::MAX) < 1.0);
    }

    #[test]
    fn string_hash_depends_on_every_byte() {
        assert_ne!(hash_str("grain"), hash_str("grair"));
        assert_ne!(hash_str("abcd"), hash_str("abcde"));
    }
}
