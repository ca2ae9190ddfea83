//! Per-sample data of one socket over one tile.

use std::sync::Arc;

/// `len` samples of `channels` floats each, stored planar: every sample's
/// first channel, then every sample's second, and so on
/// (`[r0, r1, ..., g0, g1, ..., b0, b1, ...]`); samples in pixel-major
/// order (all samples of a pixel together, pixels row by row).
///
/// Planar so that a node's loop over one channel is a loop over contiguous
/// floats, which the compiler vectorises: with interleaved colours, a
/// colour node worked on 3-float strides that SSE cannot fill.
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
        let data = sample.iter().flat_map(|&v| std::iter::repeat_n(v, len));
        Buffer {
            channels: sample.len(),
            data: Arc::new(data.collect()),
        }
    }

    /// Wraps planar data. Panics if `data` is not a whole number of samples.
    pub fn from_planar(channels: usize, data: Vec<f32>) -> Buffer {
        assert!(channels > 0 && data.len().is_multiple_of(channels));
        Buffer {
            channels,
            data: Arc::new(data),
        }
    }

    /// Copies interleaved samples (`[r0, g0, b0, r1, ...]`) into planes.
    /// Panics if `data` is not a whole number of samples.
    pub fn from_interleaved(channels: usize, data: &[f32]) -> Buffer {
        assert!(channels > 0 && data.len().is_multiple_of(channels));
        let len = data.len() / channels;
        let mut buffer = Buffer::new(channels, len);
        let planes = buffer.data_mut();
        for (i, sample) in data.chunks_exact(channels).enumerate() {
            for (c, &value) in sample.iter().enumerate() {
                planes[c * len + i] = value;
            }
        }
        buffer
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

    /// Every plane, one after the other.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The samples, to write: copied first if they are shared.
    pub fn data_mut(&mut self) -> &mut [f32] {
        Arc::make_mut(&mut self.data).as_mut_slice()
    }

    /// The planes, one after the other.
    pub fn into_vec(self) -> Vec<f32> {
        Arc::unwrap_or_clone(self.data)
    }

    /// The samples, shared rather than copied: they stay alive as long as
    /// the returned `Arc`, and are never written while it lives (writing
    /// to this buffer copies them first).
    pub fn share(&self) -> Arc<Vec<f32>> {
        Arc::clone(&self.data)
    }

    /// The samples interleaved (`[r0, g0, b0, r1, ...]`): the inverse of
    /// [`Buffer::from_interleaved`], for checking a node's output against
    /// samples written pixel by pixel. (Renders never interleave a buffer:
    /// the image's rows are filled from the planes, and numpy reads them as
    /// Fortran-ordered columns.)
    pub fn to_interleaved(&self) -> Vec<f32> {
        let len = self.len();
        (0..len * self.channels)
            .map(|k| self.data[(k % self.channels) * len + k / self.channels])
            .collect()
    }

    /// Channel `c` of every sample.
    #[inline]
    pub fn plane(&self, c: usize) -> &[f32] {
        let len = self.len();
        &self.data[c * len..(c + 1) * len]
    }

    /// Channel `c` of every sample, to write.
    #[inline]
    pub fn plane_mut(&mut self, c: usize) -> &mut [f32] {
        let len = self.len();
        &mut self.data_mut()[c * len..(c + 1) * len]
    }

    /// The planes, for nodes that know their channel count.
    #[inline]
    pub fn planes<const N: usize>(&self) -> [&[f32]; N] {
        assert_eq!(N, self.channels, "buffer has {} channels", self.channels);
        std::array::from_fn(|c| self.plane(c))
    }

    /// The planes, to write.
    #[inline]
    pub fn planes_mut<const N: usize>(&mut self) -> [&mut [f32]; N] {
        assert_eq!(N, self.channels, "buffer has {} channels", self.channels);
        let len = self.len();
        let mut rest = self.data_mut();
        std::array::from_fn(|_| {
            let (plane, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            plane
        })
    }

    /// Sample `i`'s channels, copied into the start of `into`.
    #[inline]
    pub fn read_sample<'a>(&self, i: usize, into: &'a mut [f32]) -> &'a [f32] {
        let len = self.len();
        let sample = &mut into[..self.channels];
        for (c, value) in sample.iter_mut().enumerate() {
            *value = self.data[c * len + i];
        }
        sample
    }

    /// Sets sample `i`'s channels. Panics unless `values` has one per channel.
    #[inline]
    pub fn write_sample(&mut self, i: usize, values: &[f32]) {
        assert_eq!(values.len(), self.channels, "one value per channel");
        let len = self.len();
        let data = self.data_mut();
        for (c, &value) in values.iter().enumerate() {
            data[c * len + i] = value;
        }
    }

    /// Samples as fixed-size arrays, gathered from the planes, for nodes
    /// whose work per sample outweighs the gathering.
    pub fn samples<const N: usize>(&self) -> impl ExactSizeIterator<Item = [f32; N]> + '_ {
        let planes = self.planes::<N>();
        (0..self.len()).map(move |i| planes.map(|plane| plane[i]))
    }

    /// Writes `values`, one array per sample, into the planes.
    pub fn write_samples<const N: usize>(&mut self, values: impl IntoIterator<Item = [f32; N]>) {
        let mut planes = self.planes_mut::<N>();
        for (i, sample) in values.into_iter().enumerate() {
            for (plane, value) in planes.iter_mut().zip(sample) {
                plane[i] = value;
            }
        }
    }
}

/// Sample storage kept from one tile to the next, so that a render worker
/// does not allocate and free every node's outputs for every tile.
#[derive(Debug, Default)]
pub struct BufferPool {
    /// Storage that no buffer or numpy array uses any more.
    spare: Vec<Arc<Vec<f32>>>,
}

impl BufferPool {
    /// A zeroed buffer, as [`Buffer::new`].
    pub fn zeroed(&mut self, channels: usize, len: usize) -> Buffer {
        self.build(channels, |data| data.resize(channels * len, 0.0))
    }

    /// A buffer whose planes `fill` appends to an empty vector. Panics if
    /// it leaves a partial sample.
    pub fn build(&mut self, channels: usize, fill: impl FnOnce(&mut Vec<f32>)) -> Buffer {
        let mut data = self.spare.pop().unwrap_or_default();
        let vec = Arc::get_mut(&mut data).expect("the pool keeps unshared storage only");
        vec.clear();
        fill(vec);
        assert!(channels > 0 && vec.len().is_multiple_of(channels));
        Buffer { channels, data }
    }

    /// Keeps `buffer`'s storage for a later buffer, unless something (a
    /// numpy array a Python node kept) still shares it.
    pub fn recycle(&mut self, mut buffer: Buffer) {
        if Arc::get_mut(&mut buffer.data).is_some() {
            self.spare.push(buffer.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_planar() {
        let mut b = Buffer::from_interleaved(2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(b.len(), 3);
        assert_eq!(b.data(), &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        assert_eq!(b.plane(1), &[2.0, 4.0, 6.0]);
        assert_eq!(b.planes::<2>(), [&[1.0, 3.0, 5.0][..], &[2.0, 4.0, 6.0]]);
        assert_eq!(b.read_sample(1, &mut [0.0; 4]), &[3.0, 4.0]);
        assert_eq!(b.samples::<2>().nth(2), Some([5.0, 6.0]));
        assert_eq!(b.to_interleaved(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        b.write_sample(0, &[7.0, 8.0]);
        b.planes_mut::<2>()[1][2] = 9.0;
        assert_eq!(b.data(), &[7.0, 3.0, 5.0, 8.0, 4.0, 9.0]);
        b.write_samples([[0.0, 1.0], [2.0, 3.0]]);
        assert_eq!(b.data(), &[0.0, 2.0, 5.0, 1.0, 3.0, 9.0]);
        assert_eq!(Buffer::filled(&[0.5, 1.0], 2).data(), &[0.5, 0.5, 1.0, 1.0]);
        assert_eq!(Buffer::new(3, 0).planes::<3>(), [&[] as &[f32]; 3]);
    }

    #[test]
    fn the_pool_reuses_storage_nothing_shares() {
        let mut pool = BufferPool::default();
        let mut first = pool.zeroed(2, 3);
        first.data_mut().fill(7.0);
        let storage = first.data().as_ptr();
        pool.recycle(first);
        let second = pool.zeroed(1, 4);
        assert_eq!(second.data().as_ptr(), storage, "storage reused");
        assert_eq!((second.channels(), second.data()), (1, &[0.0; 4][..]));
        let lent = second.share();
        pool.recycle(second);
        let third = pool.build(1, |data| data.extend([1.0, 2.0]));
        assert_ne!(
            third.data().as_ptr(),
            lent.as_ptr(),
            "shared storage never reused"
        );
        assert_eq!(*lent, [0.0; 4]);
        assert_eq!(third.data(), &[1.0, 2.0]);
    }

    #[test]
    fn shared_samples_are_copied_before_a_write() {
        let mut b = Buffer::from_planar(1, vec![1.0, 2.0]);
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
