//! Per-sample data of one socket over one tile.

use std::sync::Arc;

/// `len` samples of `channels` floats each, interleaved
/// (`[r0, g0, b0, r1, g1, b1, ...]`), samples in pixel-major order
/// (all samples of a pixel together, pixels row by row).
///
/// The samples live behind an `Arc` so that they can be lent out without a
/// copy ([`Buffer::share`]: numpy arrays viewing a tile's inputs); writing
/// to a buffer whose samples are shared copies them first.
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    channels: usize,
    data: Arc<Vec<f32>>,
}

impl Buffer {
    /// A zeroed buffer.
    pub fn new(channels: usize, len: usize) -> Buffer {
        Buffer {
            channels,
            data: Arc::new(vec![0.0; channels * len]),
        }
    }

    /// A buffer of `len` copies of `sample`.
    pub fn filled(sample: &[f32], len: usize) -> Buffer {
        Buffer {
            channels: sample.len(),
            data: Arc::new(sample.repeat(len)),
        }
    }

    /// Wraps interleaved data. Panics if `data` is not a whole number of samples.
    pub fn from_vec(channels: usize, data: Vec<f32>) -> Buffer {
        assert!(channels > 0 && data.len().is_multiple_of(channels));
        Buffer {
            channels,
            data: Arc::new(data),
        }
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.data.len() / self.channels
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The samples, to write: copied first if they are shared.
    pub fn data_mut(&mut self) -> &mut [f32] {
        Arc::make_mut(&mut self.data).as_mut_slice()
    }

    pub fn into_vec(self) -> Vec<f32> {
        Arc::unwrap_or_clone(self.data)
    }

    /// The samples, shared rather than copied: they stay alive as long as
    /// the returned `Arc`, and are never written while it lives (writing
    /// to this buffer copies them first).
    pub fn share(&self) -> Arc<Vec<f32>> {
        Arc::clone(&self.data)
    }

    #[inline]
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.data[i * self.channels..(i + 1) * self.channels]
    }

    #[inline]
    pub fn sample_mut(&mut self, i: usize) -> &mut [f32] {
        let channels = self.channels;
        &mut self.data_mut()[i * channels..(i + 1) * channels]
    }

    /// Samples as fixed-size arrays, for nodes that know their channel count.
    /// (A slice iterator, so that zipping several of them compiles to one
    /// indexed loop the compiler can vectorise.)
    pub fn samples<const N: usize>(&self) -> std::slice::Iter<'_, [f32; N]> {
        assert_eq!(N, self.channels, "buffer has {} channels", self.channels);
        self.data.as_chunks::<N>().0.iter()
    }

    /// Mutable samples as fixed-size arrays.
    pub fn samples_mut<const N: usize>(&mut self) -> std::slice::IterMut<'_, [f32; N]> {
        assert_eq!(N, self.channels, "buffer has {} channels", self.channels);
        self.data_mut().as_chunks_mut::<N>().0.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_interleaved() {
        let b = Buffer::from_vec(2, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(b.len(), 2);
        assert_eq!(b.sample(1), &[3.0, 4.0]);
        assert_eq!(b.samples::<2>().next(), Some(&[1.0, 2.0]));
        assert_eq!(Buffer::filled(&[0.5, 1.0], 2).data(), &[0.5, 1.0, 0.5, 1.0]);
    }

    #[test]
    fn shared_samples_are_copied_before_a_write() {
        let mut b = Buffer::from_vec(1, vec![1.0, 2.0]);
        let lent = b.share();
        b.data_mut()[0] = 5.0;
        assert_eq!(*lent, [1.0, 2.0], "what was lent never changes");
        assert_eq!(b.data(), &[5.0, 2.0]);
        drop(lent);
        let unshared = b.data().as_ptr();
        b.data_mut()[1] = 6.0;
        assert_eq!(
            b.data().as_ptr(),
            unshared,
            "unshared samples are written in place"
        );
    }
}
