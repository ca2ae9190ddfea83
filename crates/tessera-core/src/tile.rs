//! Tiles, frames and the per-tile context handed to nodes.

use crate::CoreHeld;
use crate::hash::{bits_to_unit, hash_words};
use glam::Vec2;
use std::sync::Mutex;

/// A rectangle of pixels. `x` and `y` may be negative, and the rectangle may
/// reach past the image: nodes with a halo read around their tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    pub fn new(x: i32, y: i32, width: u32, height: u32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    pub fn area(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// The rectangle grown by `margin` pixels on every side.
    pub fn expand(&self, margin: u32) -> Rect {
        Rect {
            x: self.x - margin as i32,
            y: self.y - margin as i32,
            width: self.width + 2 * margin,
            height: self.height + 2 * margin,
        }
    }

    /// The pixels in both rectangles, if any.
    pub fn intersection(&self, other: &Rect) -> Option<Rect> {
        let x = self.x.max(other.x);
        let y = self.y.max(other.y);
        let right = (self.x + self.width as i32).min(other.x + other.width as i32);
        let bottom = (self.y + self.height as i32).min(other.y + other.height as i32);
        (right > x && bottom > y).then(|| Rect::new(x, y, (right - x) as u32, (bottom - y) as u32))
    }

    /// Whether pixel (x, y) lies in the rectangle.
    pub fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x
            && y >= self.y
            && x < self.x + self.width as i32
            && y < self.y + self.height as i32
    }

    /// Pixel (x, y) and sample index of sample `i` of the rectangle, with
    /// `samples` samples per pixel, rows top to bottom, each pixel's
    /// samples together.
    #[inline]
    pub fn locate(&self, i: usize, samples: u32) -> (i32, i32, u32) {
        let samples = samples as usize;
        let pixel = i / samples;
        let x = self.x + (pixel % self.width as usize) as i32;
        let y = self.y + (pixel / self.width as usize) as i32;
        (x, y, (i % samples) as u32)
    }

    pub fn contains_rect(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.width as i32 <= self.x + self.width as i32
            && other.y + other.height as i32 <= self.y + self.height as i32
    }
}

/// What every tile of one render shares.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameInfo {
    pub width: u32,
    pub height: u32,
    pub samples: u32,
    pub seed: u32,
    pub frame: i64,
    /// Seconds: `frame / fps`.
    pub time: f32,
    /// Frames per second (`[image] fps`).
    pub fps: f32,
}

/// The context of one node evaluating one tile.
#[derive(Clone, Debug)]
pub struct TileCtx<'a> {
    pub frame: &'a FrameInfo,
    /// The pixels this evaluation covers (the tile, grown by the node's margin).
    pub rect: Rect,
    /// The tile's index in the image's tile grid (row-major).
    pub tile_index: usize,
    /// The scene's id of the node being evaluated.
    pub node_id: &'a str,
    /// `hash_str(node_id)`, for per-node randomness.
    pub node_hash: u32,
    /// Where a node records samples it could not compute and painted
    /// instead of failing (`--on-error=color`).
    pub failures: &'a SampleFailures,
    /// The processor share the evaluating thread holds, where the render
    /// runs more threads than it computes on (see [`crate::Cores`]); None
    /// otherwise.
    pub share: Option<&'a CoreHeld<'a>>,
}

/// Samples of one tile that a node painted instead of failing: the
/// renderer paints the final pixel's sample magenta.
#[derive(Debug, Default)]
pub struct SampleFailures {
    samples: Mutex<Vec<(i32, i32, u32)>>,
}

impl SampleFailures {
    /// Records sample `s` of pixel (x, y).
    pub fn record(&self, x: i32, y: i32, s: u32) {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((x, y, s));
    }

    /// The recorded samples, sorted, each once.
    pub fn take(&self) -> Vec<(i32, i32, u32)> {
        let mut samples =
            std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()));
        samples.sort_unstable();
        samples.dedup();
        samples
    }
}

impl TileCtx<'_> {
    /// Runs `wait` (for another process's answer) without the processor
    /// share this thread holds, so that another thread computes meanwhile.
    pub fn while_waiting<T>(&self, wait: impl FnOnce() -> T) -> T {
        match self.share {
            Some(share) => share.set_aside(wait),
            None => wait(),
        }
    }

    /// Samples in this evaluation.
    pub fn len(&self) -> usize {
        self.rect.area() * self.frame.samples as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records that sample `i` failed and was painted (see [`SampleFailures`]).
    pub fn record_failure(&self, i: usize) {
        let (x, y, s) = self.locate(i);
        self.failures.record(x, y, s);
    }

    /// The pixel and sample index of sample `i`.
    #[inline]
    pub fn locate(&self, i: usize) -> (i32, i32, u32) {
        self.rect.locate(i, self.frame.samples)
    }

    /// The continuous image position of sample `i`, in pixels from the
    /// top-left corner. One sample sits at the pixel centre; several are
    /// jittered by a hash of (seed, pixel, sample).
    #[inline]
    pub fn position(&self, i: usize) -> Vec2 {
        let (x, y, s) = self.locate(i);
        Vec2::new(x as f32, y as f32) + sample_offset(self.frame, x, y, s)
    }

    /// The texture coordinate of sample `i`: u rightwards, v upwards, both
    /// 0..1 over the image (MaterialX's convention).
    #[inline]
    pub fn texcoord(&self, i: usize) -> Vec2 {
        let p = self.position(i);
        Vec2::new(
            p.x / self.frame.width as f32,
            1.0 - p.y / self.frame.height as f32,
        )
    }

    /// Writes every sample's pixel and index within it, as [`TileCtx::locate`]
    /// gives them, into `xs`, `ys` and `samples` (one per sample each): the
    /// first row made, the others copies of it but for their y.
    pub fn location_planes(&self, xs: &mut [i32], ys: &mut [i32], samples: &mut [u32]) {
        let per_pixel = self.frame.samples as usize;
        let row = self.rect.width as usize * per_pixel;
        if row == 0 || xs.len() < row {
            return;
        }
        for (dx, (xs, samples)) in (xs[..row].chunks_exact_mut(per_pixel))
            .zip(samples[..row].chunks_exact_mut(per_pixel))
            .enumerate()
        {
            xs.fill(self.rect.x + dx as i32);
            for (s, sample) in samples.iter_mut().enumerate() {
                *sample = s as u32;
            }
        }
        let (first_xs, other_xs) = xs.split_at_mut(row);
        let (first_samples, other_samples) = samples.split_at_mut(row);
        for (xs, samples) in other_xs
            .chunks_exact_mut(row)
            .zip(other_samples.chunks_exact_mut(row))
        {
            xs.copy_from_slice(first_xs);
            samples.copy_from_slice(first_samples);
        }
        for (dy, ys) in ys.chunks_exact_mut(row).enumerate() {
            ys.fill(self.rect.y + dy as i32);
        }
    }

    /// Writes every sample's texture coordinate: u into `us`, v into `vs`.
    /// With one sample per pixel, u depends on the column only and v on the
    /// row only, so each row of `us` is a copy of the first and each row of
    /// `vs` one value, each divided out once.
    pub fn texcoord_planes(&self, us: &mut [f32], vs: &mut [f32]) {
        let width = self.rect.width as usize;
        if self.frame.samples != 1 || width == 0 {
            for (i, (u, v)) in us.iter_mut().zip(vs.iter_mut()).enumerate() {
                (*u, *v) = self.texcoord(i).into();
            }
            return;
        }
        let (image_width, image_height) = (self.frame.width as f32, self.frame.height as f32);
        let (first_row, rows) = us.split_at_mut(width.min(us.len()));
        for (dx, u) in first_row.iter_mut().enumerate() {
            *u = ((self.rect.x + dx as i32) as f32 + 0.5) / image_width;
        }
        for row in rows.chunks_exact_mut(width) {
            row.copy_from_slice(first_row);
        }
        for (dy, row) in vs.chunks_exact_mut(width).enumerate() {
            row.fill(1.0 - ((self.rect.y + dy as i32) as f32 + 0.5) / image_height);
        }
    }
}

/// The sub-pixel offset of sample `s` of pixel (x, y), in [0, 1)².
#[inline]
pub fn sample_offset(frame: &FrameInfo, x: i32, y: i32, s: u32) -> Vec2 {
    if frame.samples == 1 {
        return Vec2::splat(0.5);
    }
    let key = [frame.seed, x as u32, y as u32, s];
    let h = hash_words(&key);
    Vec2::new(bits_to_unit(h), bits_to_unit(hash_words(&[h, 0x5eed])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rectangles_intersect_in_their_common_pixels() {
        let a = Rect::new(0, 0, 10, 8);
        assert_eq!(
            a.intersection(&Rect::new(6, -2, 10, 4)),
            Some(Rect::new(6, 0, 4, 2))
        );
        assert_eq!(
            a.intersection(&Rect::new(2, 3, 1, 1)),
            Some(Rect::new(2, 3, 1, 1))
        );
        // Touching edges share no pixel.
        assert_eq!(a.intersection(&Rect::new(10, 0, 5, 5)), None);
    }

    static NO_FAILURES: SampleFailures = SampleFailures {
        samples: Mutex::new(Vec::new()),
    };

    fn tile_ctx(frame: &FrameInfo, rect: Rect) -> TileCtx<'_> {
        TileCtx {
            frame,
            rect,
            tile_index: 0,
            node_id: "n",
            node_hash: 0,
            failures: &NO_FAILURES,
            share: None,
        }
    }

    fn frame(samples: u32) -> FrameInfo {
        FrameInfo {
            width: 4,
            height: 2,
            samples,
            seed: 0,
            frame: 0,
            time: 0.0,
            fps: 24.0,
        }
    }

    #[test]
    fn one_sample_sits_at_the_pixel_centre() {
        let f = frame(1);
        let ctx = tile_ctx(&f, Rect::new(0, 0, 4, 2));
        assert_eq!(ctx.locate(5), (1, 1, 0));
        assert_eq!(ctx.position(5), Vec2::new(1.5, 1.5));
        assert_eq!(ctx.texcoord(0), Vec2::new(0.125, 0.75));
    }

    #[test]
    fn jitter_depends_on_pixel_and_sample_not_on_the_tile() {
        let f = frame(4);
        let whole = tile_ctx(&f, Rect::new(0, 0, 4, 2));
        let part = TileCtx {
            rect: Rect::new(2, 1, 2, 1),
            tile_index: 3,
            ..whole.clone()
        };
        // Pixel (2, 1), sample 3, seen from both tiles.
        assert_eq!(whole.position((4 + 2) * 4 + 3), part.position(3));
        assert_ne!(whole.position(0), whole.position(1));
    }

    #[test]
    fn texcoords_of_a_whole_tile_are_those_of_each_sample() {
        for samples in [1, 4] {
            let f = FrameInfo {
                width: 7,
                height: 3,
                ..frame(samples)
            };
            let ctx = tile_ctx(&f, Rect::new(-2, 1, 5, 3));
            let (mut us, mut vs) = (vec![f32::NAN; ctx.len()], vec![f32::NAN; ctx.len()]);
            ctx.texcoord_planes(&mut us, &mut vs);
            let seen: Vec<Vec2> = us.into_iter().zip(vs).map(Vec2::from).collect();
            let expected: Vec<Vec2> = (0..ctx.len()).map(|i| ctx.texcoord(i)).collect();
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn location_planes_are_the_samples_located_one_by_one() {
        for samples in [1, 3] {
            let f = frame(samples);
            let ctx = tile_ctx(&f, Rect::new(-2, 1, 5, 3));
            let expected: Vec<_> = (0..ctx.len()).map(|i| ctx.locate(i)).collect();
            let n = ctx.len();
            let (mut xs, mut ys, mut indices) = (vec![9; n], vec![9; n], vec![9; n]);
            ctx.location_planes(&mut xs, &mut ys, &mut indices);
            let planes: Vec<_> = (0..n).map(|i| (xs[i], ys[i], indices[i])).collect();
            assert_eq!(planes, expected);
        }
        // No rows: nothing to write.
        let f = frame(1);
        tile_ctx(&f, Rect::new(0, 0, 4, 0)).location_planes(&mut [], &mut [], &mut []);
    }

    #[test]
    fn expand_grows_every_side() {
        let r = Rect::new(0, 0, 8, 8).expand(2);
        assert_eq!(r, Rect::new(-2, -2, 12, 12));
        assert!(r.contains_rect(&Rect::new(0, 0, 8, 8)));
        assert!(r.contains(-2, -2) && r.contains(9, 9));
        assert!(!r.contains(10, 0) && !r.contains(0, -3));
    }
}
