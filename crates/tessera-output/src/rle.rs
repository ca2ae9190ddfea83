//! OpenEXR's RLE compression of a block of 32-bit or 16-bit samples, written here
//! rather than left to the exr crate because exr's took more CPU than the
//! render it encodes (issue #17: 0.5 GB/s, 0.13 s for a 2048 x 2048 RGBA
//! image, most of it a byte at a time looking for runs). The bytes are
//! those of OpenEXR's `rleCompress` and of exr's port of it (a test
//! compares them): the block's little-endian bytes split into the even and
//! the odd ones, each byte replaced by its difference from the one before
//! plus 128, then runs of 3 to 128 equal bytes stored as a count and the
//! byte, everything between them as a count and up to 127 literal bytes.
//! What is faster: the split and the differences as plain loops over
//! reused buffers (the compiler vectorises them), and the search for the
//! next run eight positions at a time.

/// Equal bytes that make a run worth storing as one.
const MIN_RUN: usize = 3;
/// The longest run one count byte holds.
const MAX_RUN: usize = 128;
/// The most literal bytes behind one count byte.
const MAX_LITERAL: usize = 127;

/// Compresses blocks one after another, keeping its working memory.
#[derive(Debug, Default)]
pub(crate) struct RleCompressor {
    /// The samples' little-endian bytes, where that is not how they are
    /// kept in memory.
    little_endian: Vec<u8>,
    /// The block's even bytes then its odd ones, each as its difference
    /// from the byte before: what the runs are found in.
    predicted: Vec<u8>,
}

impl RleCompressor {
    /// `samples` (native-endian samples of `sample_bytes` bytes each, 4
    /// or 2, in the block's order) compressed into `out` (cleared first),
    /// as a file stores them: the compressed bytes, or the samples as they
    /// are, little-endian, where compressing does not make them smaller
    /// (OpenEXR's rule; a reader tells them apart by their length).
    pub(crate) fn compress(&mut self, samples: &[u8], sample_bytes: usize, out: &mut Vec<u8>) {
        out.clear();
        let bytes = if cfg!(target_endian = "little") {
            samples
        } else {
            self.little_endian.clear();
            for sample in samples.chunks_exact(sample_bytes) {
                self.little_endian.extend(sample.iter().rev());
            }
            &self.little_endian
        };
        // Pairs of bytes: the first of each pair goes to the even half,
        // the second to the odd half; both halves' differences are taken
        // from the pairs directly (one pass, which vectorises).
        let pairs = bytes.as_chunks::<2>().0;
        let Some((&[first_even, first_odd], &[last_even, _])) = pairs.first().zip(pairs.last())
        else {
            return;
        };
        self.predicted.resize(bytes.len(), 0);
        let (even, odd) = self.predicted.split_at_mut(pairs.len());
        even[0] = first_even;
        odd[0] = difference(first_odd, last_even);
        for (((even, odd), now), before) in even[1..]
            .iter_mut()
            .zip(&mut odd[1..])
            .zip(&pairs[1..])
            .zip(pairs)
        {
            // As 16-bit words, which the loop vectorises over: the low
            // byte of a difference of words is that of their low bytes.
            let (now, before) = (u16::from_le_bytes(*now), u16::from_le_bytes(*before));
            *even = (now.wrapping_sub(before) as u8).wrapping_add(128);
            *odd = difference((now >> 8) as u8, (before >> 8) as u8);
        }

        out.reserve(bytes.len() + bytes.len() / MAX_LITERAL + 1);
        pack_runs(&self.predicted, out);
        if out.len() >= bytes.len() {
            out.clear();
            out.extend_from_slice(bytes);
        }
    }
}

/// OpenEXR's predictor: a byte as its difference from the one before,
/// plus 128.
fn difference(now: u8, before: u8) -> u8 {
    now.wrapping_sub(before).wrapping_add(128)
}

/// OpenEXR's run-length tokens of `data`, appended to `out`.
fn pack_runs(data: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    while start < data.len() {
        let first = data[start];
        let longest = data.len().min(start + MAX_RUN);
        let mut end = start + 1;
        while end < longest && data[end] == first {
            end += 1;
        }
        if end - start >= MIN_RUN {
            out.push((end - start - 1) as u8);
            out.push(first);
        } else {
            // Everything up to the next run, as literal tokens of at most
            // 127 bytes: what a search bounded to 127 bytes, then a run
            // check, would give (the check fails wherever the search did).
            end = next_run(data, end, data.len());
            let (whole, rest) = data[start..end].as_chunks::<MAX_LITERAL>();
            for literals in whole {
                push_literals(out, literals);
            }
            if !rest.is_empty() {
                push_literals(out, rest);
            }
        }
        start = end;
    }
}

/// A token of up to 127 literal bytes: their count, negated, as a signed
/// byte, then the bytes.
fn push_literals(out: &mut Vec<u8>, literals: &[u8]) {
    out.push(literals.len().wrapping_neg() as u8);
    out.extend_from_slice(literals);
}

/// The first position in `from..limit` where three equal bytes of `data`
/// start, or `limit`.
fn next_run(data: &[u8], from: usize, limit: usize) -> usize {
    let mut at = from;
    // Sixteen (or eight) positions at a time, up to where the three bytes
    // from the last of them are all in `data`; the rest one at a time.
    while at + STRIDE <= limit && at + STRIDE + 2 <= data.len() {
        if let Some(offset) = first_run_from(data, at) {
            return at + offset;
        }
        at += STRIDE;
    }
    while at < limit {
        if at + 2 < data.len() && data[at] == data[at + 1] && data[at + 1] == data[at + 2] {
            return at;
        }
        at += 1;
    }
    limit
}

// Positions `first_run_from` looks at in one call, and the function.
#[cfg(target_arch = "x86_64")]
const STRIDE: usize = 16;
#[cfg(target_arch = "x86_64")]
use first_run_in_16 as first_run_from;
#[cfg(not(target_arch = "x86_64"))]
const STRIDE: usize = 8;
#[cfg(not(target_arch = "x86_64"))]
use first_run_in_8 as first_run_from;

/// The first of the 16 positions from `at` (`data` holds two bytes past
/// them) where three equal bytes start, from `at`: SSE2 compares.
#[cfg(target_arch = "x86_64")]
fn first_run_in_16(data: &[u8], at: usize) -> Option<usize> {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8,
    };
    let window = &data[at..at + 18];
    // SAFETY: SSE2 is part of every x86-64 processor; each load reads 16
    // bytes from within `window` (from its offsets 0, 1 and 2 of 18).
    unsafe {
        let load = |offset: usize| _mm_loadu_si128(window[offset..].as_ptr().cast::<__m128i>());
        let (here, next, after) = (load(0), load(1), load(2));
        let same = _mm_and_si128(_mm_cmpeq_epi8(here, next), _mm_cmpeq_epi8(next, after));
        // Bit k for position `at + k`.
        let runs = _mm_movemask_epi8(same);
        (runs != 0).then(|| runs.trailing_zeros() as usize)
    }
}

/// The first of the 8 positions from `at` (`data` holds two bytes past
/// them) where three equal bytes start, from `at`: 64-bit words.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn first_run_in_8(data: &[u8], at: usize) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let word = |offset: usize| {
        let bytes: [u8; 8] = data[at + offset..at + offset + 8]
            .try_into()
            .expect("eight bytes");
        u64::from_le_bytes(bytes)
    };
    let (here, next, after) = (word(0), word(1), word(2));
    // Byte k of `differ` is zero where the three bytes from `at + k` are
    // equal; the zero-byte test marks the lowest zero byte exactly (its
    // borrows only reach bytes above a zero one).
    let differ = (here ^ next) | (next ^ after);
    let zero = differ.wrapping_sub(ONES) & !differ & HIGHS;
    (zero != 0).then(|| zero.trailing_zeros() as usize / 8)
}

#[cfg(test)]
mod tests {
    use exr::block::chunk::{Chunk, CompressedBlock};
    use exr::block::{BlockIndex, UncompressedBlock};
    use exr::compression::Compression;
    use exr::math::Vec2;
    use exr::meta::BlockDescription;
    use exr::meta::attribute::{ChannelDescription, LineOrder, SampleType};
    use exr::meta::header::Header;

    use super::*;

    /// What the exr crate makes of the same one-line block of `width`
    /// RGBA float pixels.
    fn exr_compressed(width: usize, samples: &[u8], sample_type: SampleType) -> Vec<u8> {
        let channels = ["A", "B", "G", "R"]
            .map(|name| ChannelDescription::named(name, sample_type))
            .into_iter()
            .collect();
        let header = Header::new("".into(), (width, 1), channels).with_encoding(
            Compression::RLE,
            BlockDescription::ScanLines,
            LineOrder::Increasing,
        );
        let block = UncompressedBlock {
            index: BlockIndex {
                layer: 0,
                pixel_position: Vec2(0, 0),
                pixel_size: Vec2(width, 1),
                level: Vec2(0, 0),
            },
            data: samples.to_vec(),
        };
        match block.compress_to_chunk(&[header]) {
            Ok(Chunk {
                compressed_block: CompressedBlock::ScanLine(line),
                ..
            }) => line.compressed_pixels_le,
            other => panic!("exr did not compress the line: {other:?}"),
        }
    }

    /// A small deterministic generator, so that the lines are the same in
    /// every run.
    fn next_random(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    /// Lines of every kind the compressor meets: constant, noise, runs of
    /// every length around the limits, runs broken after two bytes, and
    /// lines whose compressed form is no smaller (stored as they are).
    fn lines() -> Vec<Vec<[u8; 4]>> {
        let mut state = 17;
        let mut lines = Vec::new();
        for width in [1, 2, 3, 5, 31, 32, 33, 64, 100, 255, 2048] {
            let samples = width * 4;
            lines.push(vec![1.0f32.to_ne_bytes(); samples]);
            lines.push(
                (0..samples)
                    .map(|_| (next_random(&mut state) as u32).to_ne_bytes())
                    .collect(),
            );
            // Values from a small set, so that runs of every length occur
            // at every alignment.
            for alphabet in [2, 3, 5] {
                lines.push(
                    (0..samples)
                        .map(|_| {
                            let value = (next_random(&mut state) % alphabet) as u32;
                            (value * 0x0101_0101).to_ne_bytes()
                        })
                        .collect(),
                );
            }
            // Smooth values (the differences make long runs of small
            // numbers), as a procedural image's.
            lines.push(
                (0..samples)
                    .map(|i| (i as f32 / samples as f32).to_ne_bytes())
                    .collect(),
            );
            // Long runs with single odd bytes between them.
            lines.push(
                (0..samples)
                    .map(|i| {
                        let odd = i % 61 == 0 || i % 97 == 3;
                        (if odd { i as u32 } else { 0x4040_4040 }).to_ne_bytes()
                    })
                    .collect(),
            );
        }
        lines
    }

    #[test]
    fn compressed_lines_are_the_bytes_exr_writes() {
        let mut compressor = RleCompressor::default();
        let mut out = Vec::new();
        for line in lines() {
            compressor.compress(line.as_flattened(), 4, &mut out);
            let width = line.len() / 4;
            assert_eq!(
                out,
                exr_compressed(width, line.as_flattened(), SampleType::F32),
                "a line of {width} pixels"
            );
        }
    }

    #[test]
    fn compressed_half_float_lines_are_the_bytes_exr_writes() {
        let mut compressor = RleCompressor::default();
        let mut out = Vec::new();
        // The same bytes read as twice as many 16-bit samples: lines of
        // twice as many pixels.
        for line in lines() {
            compressor.compress(line.as_flattened(), 2, &mut out);
            let width = line.len() / 2;
            assert_eq!(
                out,
                exr_compressed(width, line.as_flattened(), SampleType::F16),
                "a line of {width} pixels"
            );
        }
    }

    #[test]
    fn runs_found_many_positions_at_once_are_the_first() {
        let first_run = |data: &[u8], at: usize, positions: usize| {
            (0..positions)
                .find(|k| data[at + k] == data[at + k + 1] && data[at + k + 1] == data[at + k + 2])
        };
        let mut state = 5;
        for alphabet in [2, 3, 4, 16] {
            let data: Vec<u8> = (0..4096)
                .map(|_| (next_random(&mut state) % alphabet) as u8)
                .collect();
            for at in 0..data.len() - 18 {
                assert_eq!(
                    first_run_in_8(&data, at),
                    first_run(&data, at, 8),
                    "at {at}"
                );
                #[cfg(target_arch = "x86_64")]
                assert_eq!(
                    first_run_in_16(&data, at),
                    first_run(&data, at, 16),
                    "at {at}"
                );
            }
        }
    }

    #[test]
    fn next_run_finds_the_first_three_equal_bytes() {
        let data = [1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 1, 2, 2, 2];
        assert_eq!(next_run(&data, 0, data.len()), 9);
        assert_eq!(next_run(&data, 10, data.len()), 10);
        assert_eq!(next_run(&data, 12, data.len()), 14);
        // Not beyond the limit, and not past the data's end.
        assert_eq!(next_run(&data, 0, 8), 8);
        assert_eq!(next_run(&data[..16], 12, 16), 16);
    }
}
