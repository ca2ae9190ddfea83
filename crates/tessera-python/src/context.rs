//! `ctx`: what a Python node knows about the sample it computes.

use pyo3::prelude::*;
use tessera_core::hash::{bits_to_unit, hash_words};
use tessera_core::{Rect, TileCtx};

/// The context of one call: read-only to Python, refilled by Tessera before
/// every call (so a node must not keep it past the call).
#[pyclass(module = "tessera", name = "Context")]
pub struct Context {
    /// The pixel's column, from 0 at the left.
    #[pyo3(get)]
    x: i32,
    /// The pixel's row, from 0 at the top.
    #[pyo3(get)]
    y: i32,
    /// The sample's texture coordinate, 0 at the left edge to 1 at the right.
    #[pyo3(get)]
    u: f32,
    /// The sample's texture coordinate, 0 at the bottom edge to 1 at the top.
    #[pyo3(get)]
    v: f32,
    /// The sample's index within its pixel.
    #[pyo3(get)]
    sample: u32,
    #[pyo3(get)]
    frame: i64,
    /// Seconds: frame / fps.
    #[pyo3(get)]
    time: f32,
    /// Frames per second: the scene's `[image] fps`.
    #[pyo3(get)]
    fps: f32,
    #[pyo3(get)]
    width: u32,
    #[pyo3(get)]
    height: u32,
    /// The index of the tile being rendered.
    #[pyo3(get)]
    tile: usize,
    /// The scene's seed.
    #[pyo3(get)]
    seed: u32,
    /// The scene's id of this node.
    #[pyo3(get)]
    node: String,
    node_hash: u32,
    /// How many times `random()` was called in this call.
    draws: u32,
}

impl Context {
    pub fn new(ctx: &TileCtx) -> Context {
        Context {
            x: 0,
            y: 0,
            u: 0.0,
            v: 0.0,
            sample: 0,
            frame: ctx.frame.frame,
            time: ctx.frame.time,
            fps: ctx.frame.fps,
            width: ctx.frame.width,
            height: ctx.frame.height,
            tile: ctx.tile_index,
            seed: ctx.frame.seed,
            node: ctx.node_id.to_string(),
            node_hash: ctx.node_hash,
            draws: 0,
        }
    }

    /// Points the context at sample `sample` of pixel (x, y), at texture
    /// coordinate (u, v).
    pub fn set_sample(&mut self, [x, y]: [i32; 2], sample: u32, [u, v]: [f32; 2]) {
        self.x = x;
        self.y = y;
        self.sample = sample;
        self.u = u;
        self.v = v;
        self.draws = 0;
    }
}

/// The random source of an `evaluate_tile` call: `draw(k)` gives, for each
/// sample of the tile, the next `k` of the values the per-sample
/// `ctx.random()` would give, as float32 bytes.
// Private to the module: scripts reach it only through TileContext.random.
#[pyclass(module = "tessera", name = "_TileDraws")]
pub struct TileDraws {
    seed: u32,
    node_hash: u32,
    /// The tile's samples: located when drawn, as most tiles draw nothing.
    rect: Rect,
    samples_per_pixel: u32,
    drawn: u32,
}

impl TileDraws {
    pub fn new(ctx: &TileCtx) -> TileDraws {
        TileDraws {
            seed: ctx.frame.seed,
            node_hash: ctx.node_hash,
            rect: ctx.rect,
            samples_per_pixel: ctx.frame.samples,
            drawn: 0,
        }
    }

    fn len(&self) -> usize {
        self.rect.area() * self.samples_per_pixel as usize
    }
}

/// The most values one `ctx.random` request of `evaluate_tile` may ask for
/// (1 GiB of float32): more is a MemoryError, not an aborting allocation.
const MAX_DRAWS: usize = 1 << 28;

#[pymethods]
impl TileDraws {
    /// The next `k` draws of every sample, sample by sample: a float32
    /// array of `samples x k` values, moved into numpy.
    fn draw<'py>(&mut self, py: Python<'py>, k: u32) -> PyResult<Bound<'py, numpy::PyArray1<f32>>> {
        let too_many = || {
            let mib = (self.len() as u64 * u64::from(k) * 4) >> 20;
            pyo3::exceptions::PyMemoryError::new_err(format!(
                "ctx.random asked for {k} values for each of the tile's {} samples: {mib} MiB, \
                 more than the {} MiB one request may take",
                self.len(),
                (MAX_DRAWS * 4) >> 20
            ))
        };
        let count = self
            .len()
            .checked_mul(k as usize)
            .filter(|&count| count <= MAX_DRAWS)
            .ok_or_else(too_many)?;
        let drawn = self.drawn.checked_add(k).ok_or_else(|| {
            pyo3::exceptions::PyOverflowError::new_err("ctx.random: over 2^32 draws in one tile")
        })?;
        let mut values = Vec::new();
        values.try_reserve_exact(count).map_err(|_| too_many())?;
        for i in 0..self.len() {
            let (x, y, s) = self.rect.locate(i, self.samples_per_pixel);
            for j in 0..k {
                let h = hash_words(&[
                    self.seed,
                    self.node_hash,
                    x as u32,
                    y as u32,
                    s,
                    self.drawn + j,
                ]);
                values.push(bits_to_unit(h));
            }
        }
        self.drawn = drawn;
        Ok(numpy::PyArray1::from_vec(py, values))
    }
}

#[pymethods]
impl Context {
    /// A float in [0, 1) that depends on the scene seed, this node, the pixel,
    /// the sample and how many times `random()` was called before in this
    /// call: the same on every run and every thread.
    fn random(&mut self) -> f64 {
        let h = hash_words(&[
            self.seed,
            self.node_hash,
            self.x as u32,
            self.y as u32,
            self.sample,
            self.draws,
        ]);
        self.draws += 1;
        bits_to_unit(h) as f64
    }

    /// The render thread making this call: for diagnostics only; never let
    /// it change a result.
    #[getter]
    fn thread(&self) -> String {
        let current = std::thread::current();
        current.name().unwrap_or("main").to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "<tessera.Context node={:?} pixel=({}, {}) sample={} tile={}>",
            self.node, self.x, self.y, self.sample, self.tile
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::{FrameInfo, Rect, SampleFailures};

    fn context(seed: u32) -> Context {
        let frame = FrameInfo {
            width: 4,
            height: 4,
            samples: 2,
            seed,
            frame: 0,
            time: 0.0,
            fps: 24.0,
        };
        let failures = SampleFailures::default();
        let ctx = TileCtx {
            frame: &frame,
            rect: Rect::new(0, 0, 4, 4),
            tile_index: 0,
            node_id: "n",
            node_hash: 7,
            failures: &failures,
            share: None,
        };
        let mut context = Context::new(&ctx);
        let (x, y, s) = ctx.locate(5);
        context.set_sample([x, y], s, ctx.texcoord(5).into());
        context
    }

    #[test]
    fn random_depends_on_the_draw_and_the_seed_only() {
        let mut a = context(1);
        let first = a.random();
        let second = a.random();
        assert_ne!(first, second);
        assert!((0.0..1.0).contains(&first));
        let mut b = context(1);
        assert_eq!((b.random(), b.random()), (first, second));
        assert_ne!(context(2).random(), first);
    }

    #[test]
    fn set_sample_locates_the_pixel_and_restarts_the_draws() {
        let mut c = context(1);
        assert_eq!((c.x, c.y, c.sample), (2, 0, 1));
        let first = c.random();
        c.draws = 0;
        assert_eq!(c.random(), first);
    }
}
