//! The tile executor: the only Tessera crate that uses rayon.
//!
//! The image is cut into a grid of tiles; each tile evaluates the whole plan
//! for its pixels (plus each node's margin), independently of every other
//! tile, on a rayon pool whose workers claim tiles in index order. The
//! worker copies each finished tile into its own pixels of the band of rows
//! it belongs to (tiles never overlap, so completion order cannot change a
//! bit) and tells the calling thread, which reports progress and failures
//! strictly in tile-index order through a reorder buffer, and hands each
//! band to the caller's [`RowSink`] as soon as its last tile is done: an
//! image file is encoded while the rest is rendered, and no framebuffer of
//! the whole image need exist.
//!
//! A node whose pixels depend on the order of its calls
//! ([`Evaluation::WholeImage`]) is evaluated first, once, over the whole
//! image, in plan order: its inputs are gathered tile by tile on every core,
//! then it runs on one thread, and the tiles read its stored outputs.

mod tile;
mod whole;

pub use tile::FAILURE_COLOR;
use tile::{Pass, StoredNode, TileScratch, TileTarget, output_layout};

use crossbeam_channel::{Sender, unbounded};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tessera_core::{
    Collected, ColorSpace, CoreHeld, Cores, FrameInfo, NodeError, PixelLayout, Rect, RowSink,
};
use tessera_graph::Plan;

/// How to render.
#[derive(Clone)]
pub struct RenderOptions {
    /// Worker threads; 0 uses every core.
    pub threads: usize,
    /// Tile edge in pixels.
    pub tile_size: u32,
    /// The frame number; nodes see `time = frame / fps`.
    pub frame: i64,
    /// Told of worker threads starting and exiting (the Python crate keeps
    /// a thread state per worker through these).
    pub hooks: Option<Arc<dyn RenderHooks>>,
    /// Memory the caller needs for the result (the image's encoding, or
    /// the image itself in memory), counted when the render checks what it
    /// needs.
    pub output_bytes: u64,
    /// The colour space the image's RGB is in: each tile is encoded
    /// into it from the working space (linear Rec.709) as it is resolved.
    pub colorspace: ColorSpace,
    /// Only these pixels of the image (`--region`), each as the whole
    /// image's render gives it; None for the whole image.
    pub region: Option<Rect>,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            threads: 0,
            tile_size: 32,
            frame: 0,
            hooks: None,
            output_bytes: 0,
            colorspace: ColorSpace::LinRec709,
            region: None,
        }
    }
}

/// What the renderer tells an observer as it works.
pub trait RenderHooks: Send + Sync {
    /// On a new worker thread, before it renders anything.
    fn worker_started(&self, index: usize);
    /// On a worker thread, as it exits.
    fn worker_exiting(&self, index: usize);
}

/// A finished render (its pixels went to the [`RowSink`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub width: u32,
    pub height: u32,
    /// The channels each pixel was given to the sink in.
    pub layout: PixelLayout,
    pub threads: usize,
    pub tiles: usize,
    /// Samples painted [`FAILURE_COLOR`] because a node failed on them.
    pub failed_samples: usize,
    /// From the start until the last tile was rendered: the time the sink
    /// took for the last rows is not in it.
    pub seconds: f64,
}

/// Progress, reported on the calling thread once as the render starts (no
/// tile done: the scene is loaded) and then as tiles finish, in tile order.
/// The tiles that gather the inputs of whole-image nodes count too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub tiles_done: usize,
    pub tiles_total: usize,
}

/// A node that failed while rendering a tile, and where.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct NodeFailure {
    pub node: String,
    pub type_name: String,
    /// None for a node evaluated over the whole image.
    pub tile: Option<usize>,
    /// The pixels the node was evaluating.
    pub rect: Rect,
    pub error: NodeError,
}

impl NodeFailure {
    fn describe(&self) -> String {
        format!(
            "node `{}` ({}) failed {}: {}",
            self.node,
            self.type_name,
            self.place(),
            self.error.message
        )
    }

    /// Where it failed: "at pixel (x, y)", else "in tile 5 (pixels 16..32
    /// x 16..32)" or "over the whole image (pixels ...)".
    pub fn place(&self) -> String {
        let pixels = format!(
            "pixels {}..{} x {}..{}",
            self.rect.x,
            self.rect.x + self.rect.width as i32,
            self.rect.y,
            self.rect.y + self.rect.height as i32
        );
        match (self.error.pixel, self.tile) {
            (Some((x, y)), _) => format!("at pixel ({x}, {y})"),
            (None, Some(tile)) => format!("in tile {tile} ({pixels})"),
            (None, None) => format!("over the whole image ({pixels})"),
        }
    }
}

/// Why a render stopped.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Node(Box<NodeFailure>),
    /// Cancelled from outside (Ctrl-C, a timeout); `interrupted` is the
    /// failure of the node that was stopped mid-call, if any.
    #[error("the render was cancelled{}", .interrupted.as_ref().map(|f| format!(" while {f}")).unwrap_or_default())]
    Cancelled {
        interrupted: Option<Box<NodeFailure>>,
    },
    #[error("could not start {threads} render threads: {message}")]
    ThreadPool { threads: usize, message: String },
    #[error("tile size must be at least 1 pixel")]
    BadTileSize,
    /// `region` is empty or reaches outside the image.
    #[error(
        "the region {},{},{},{} (x, y, width, height) is not a non-empty part of the {image_width} x {image_height} image",
        .region.x, .region.y, .region.width, .region.height
    )]
    BadRegion {
        region: Rect,
        image_width: u32,
        image_height: u32,
    },
    /// Predicted before rendering: more memory than the machine (or the
    /// process's address-space limit) has.
    #[error("{}", describe_memory(.0))]
    NotEnoughMemory(MemoryNeeds),
    /// An allocation the renderer asked for was refused.
    #[error("out of memory: {what} needs {} MiB", .bytes >> 20)]
    OutOfMemory { what: String, bytes: u64 },
    /// The [`RowSink`] failed (a full disk, say); it holds the reason.
    #[error("the image's rows could not be written")]
    SinkFailed,
}

/// What a render needs, predicted from its plan, and what there is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryNeeds {
    /// The bands of rows being filled or waiting for the sink.
    pub bands: u64,
    /// What the caller needs for the result (the encoding, or the image).
    pub output: u64,
    /// One render thread's buffers for one tile: every node's outputs over
    /// the tile and its margin.
    pub per_thread: u64,
    pub threads: u64,
    /// The largest margin of any node, in pixels.
    pub margin: u32,
    /// Nodes evaluated over the whole image: their outputs, kept until the
    /// end, and the largest of their inputs, gathered one node at a time.
    pub whole_image: u64,
    /// The ids of those nodes.
    pub whole_image_nodes: Vec<String>,
    /// Memory available (the smaller of free memory and the address-space limit).
    pub available: u64,
}

impl MemoryNeeds {
    pub fn total(&self) -> u64 {
        self.bands
            .saturating_add(self.output)
            .saturating_add(self.per_thread.saturating_mul(self.threads))
            .saturating_add(self.whole_image)
    }
}

fn describe_memory(needs: &MemoryNeeds) -> String {
    let margins = match needs.margin {
        0 => String::new(),
        margin => {
            format!(" (tiles grow by margins of up to {margin} pixels for the blurs downstream)")
        }
    };
    let output = match needs.output {
        0 => String::new(),
        bytes => format!(", {} MiB for the finished image", bytes >> 20),
    };
    let whole_image = match needs.whole_image_nodes.as_slice() {
        [] => String::new(),
        nodes => format!(
            ", {} MiB for the inputs and outputs of {} over the whole image \
             (a Python node keeping state, under the `ordered` policy: docs/determinism.md)",
            needs.whole_image >> 20,
            nodes
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "this render needs about {} MiB: {} MiB of rows being finished{output}{whole_image} and {} MiB for each of {} render threads{margins}, \
         more than the {} MiB available; use fewer threads, smaller tiles or blur radii, or a smaller image",
        needs.total() >> 20,
        needs.bands >> 20,
        needs.per_thread >> 20,
        needs.threads,
        needs.available >> 20
    )
}

/// Memory the bands of rows finished but not yet taken by the sink may
/// hold: within it workers never wait for a sink that is briefly slower (a
/// band of a 2048-pixel-wide float image is 256 KiB); beyond it, they wait.
const BANDS_WAITING: u64 = 64 << 20;

/// How many bands of `band_bytes` may be finished and waiting for the sink
/// while `threads` workers fill theirs: [`BANDS_WAITING`]'s worth, and two
/// at least.
fn bands_waiting(band_bytes: u64) -> usize {
    (BANDS_WAITING / band_bytes.max(1)).max(2) as usize
}

/// What rendering `plan` (whose whole-image stages are `stages`) at
/// `tile_size` on `threads` threads needs, with `bands` bands of
/// `band_bytes` and `output` bytes more for the result.
fn memory_needs(
    plan: &Plan,
    stages: &[whole::Stage],
    tile_size: u32,
    threads: usize,
    (bands, band_bytes): (usize, u64),
    output: u64,
) -> MemoryNeeds {
    let image = &plan.image;
    let tile = u64::from(tile_size.min(image.width.max(image.height)));
    let per_thread = plan
        .nodes
        .iter()
        .map(|node| {
            let edge = tile + 2 * u64::from(node.margin);
            let channels: usize = node.outputs.iter().filter_map(|t| t.channels()).sum();
            edge * edge * u64::from(image.samples) * channels as u64 * 4
        })
        .fold(0u64, u64::saturating_add);
    MemoryNeeds {
        // A band per thread being filled, those waiting for the sink, and
        // the one it is taking (`render` holds workers back beyond that);
        // never more than the image has.
        bands: band_bytes.saturating_mul(bands.min(threads + bands_waiting(band_bytes) + 1) as u64),
        output,
        per_thread,
        threads: threads as u64,
        margin: plan.nodes.iter().map(|n| n.margin).max().unwrap_or(0),
        whole_image: whole::memory(plan, stages),
        whole_image_nodes: (stages.iter())
            .map(|stage| plan.nodes[stage.node].id.clone())
            .collect(),
        available: available_memory(),
    }
}

/// The smaller of the memory Linux says is available (MemAvailable plus
/// free swap) and this process's address-space limit; unknown is unlimited.
fn available_memory() -> u64 {
    let mut available = u64::MAX;
    if let Ok(meminfo) = std::fs::read_to_string("/proc/meminfo") {
        let field = |name: &str| {
            meminfo
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .map(|kib| kib * 1024)
        };
        if let Some(free) = field("MemAvailable:") {
            available = free.saturating_add(field("SwapFree:").unwrap_or(0));
        }
    }
    #[cfg(target_os = "linux")]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0
            && limit.rlim_cur != libc::RLIM_INFINITY
        {
            available = available.min(limit.rlim_cur);
        }
    }
    available
}

/// The tiles of a `width` x `height` image, in index order (row-major).
pub fn tile_grid(width: u32, height: u32, tile_size: u32) -> Vec<Rect> {
    let mut tiles = Vec::new();
    for y in (0..height).step_by(tile_size as usize) {
        for x in (0..width).step_by(tile_size as usize) {
            tiles.push(Rect::new(
                x as i32,
                y as i32,
                tile_size.min(width - x),
                tile_size.min(height - y),
            ));
        }
    }
    tiles
}

/// Renders `plan`, giving `sink` the image's rows from the top as they are
/// finished, in the channels of the returned [`Rendered::layout`].
/// `cancel` may be set from another thread (Ctrl-C, a timeout) to stop
/// between tiles; `progress` and `sink` are called on this thread.
pub fn render(
    plan: &Plan,
    options: &RenderOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
    sink: &mut dyn RowSink,
) -> Result<Rendered, RenderError> {
    let started = Instant::now();
    if options.tile_size == 0 {
        return Err(RenderError::BadTileSize);
    }
    let image = &plan.image;
    let frame = FrameInfo {
        width: image.width,
        height: image.height,
        samples: image.samples,
        seed: image.seed,
        frame: options.frame,
        time: options.frame as f32 / image.fps,
        fps: image.fps,
    };
    let region = checked_region(plan, options)?;
    let tiles = tile_grid(image.width, image.height, options.tile_size);
    // The image's tiles that meet the region, clipped to it, keeping their
    // index in the image's grid: a region's pixels are the image's.
    let region_tiles: Vec<(usize, Rect)> = (tiles.iter().enumerate())
        .filter_map(|(index, tile)| Some((index, tile.intersection(&region)?)))
        .collect();
    let layout = output_layout(plan, options.colorspace);
    let row_floats = region.width as usize * layout.channels();
    // The region's rows of tiles, each a band of rows handed to the sink
    // whole (the first may be cut by the region): the rows of each, and
    // for each tile, its band and whether it is the band's last tile.
    let band_heights: Vec<usize> = (region_tiles.iter())
        .filter(|(_, t)| t.x == region.x)
        .map(|(_, t)| t.height as usize)
        .collect();
    let band_of = |tile: &Rect| ((tile.y - region.y) as u32).div_ceil(options.tile_size) as usize;
    let region_right = region.x + region.width as i32;
    let band_bytes = (options.tile_size.min(region.height) as usize * row_floats * 4) as u64;
    let (stages, image_evaluates) = whole::schedule(plan);
    // Tiles handed to other processes at once, per core computing: as many
    // threads, of which one per core computes at a time.
    let tiles_elsewhere = (plan.nodes.iter())
        .map(|planned| planned.node.tiles_elsewhere())
        .max()
        .unwrap_or(0);
    let computing = worker_count(options.threads);
    let thread_count = computing * tiles_elsewhere.max(1);
    let needs = memory_needs(
        plan,
        &stages,
        options.tile_size,
        thread_count,
        (band_heights.len(), band_bytes),
        options.output_bytes,
    );
    if needs.total() > needs.available {
        return Err(RenderError::NotEnoughMemory(needs));
    }
    let threads = RenderThreads {
        pool: thread_pool(options, thread_count, tiles_elsewhere > 0)?,
        cores: (tiles_elsewhere > 0).then(|| Cores::new(computing)),
    };

    let mut steps = Steps {
        done: 0,
        total: tiles.len() * stages.len() + region_tiles.len(),
        progress,
    };
    steps.start();
    let mut stored: Vec<Option<StoredNode>> = plan.nodes.iter().map(|_| None).collect();
    for stage in &stages {
        whole::evaluate_stage(
            plan,
            stage,
            &mut stored,
            &tiles,
            &frame,
            &threads,
            cancel,
            &mut steps,
        )?;
    }

    // The worker that renders a tile copies it into its band itself, so
    // that tile buffers are allocated and freed on one thread. (Freed on
    // another, they made glibc's per-thread heaps shrink and grow again,
    // page faults and all, once per tile.) A band's storage is taken from
    // `spare` by its first tile and given back once the sink has its rows.
    let bands: Vec<Mutex<Vec<f32>>> = band_heights.iter().map(|_| Mutex::default()).collect();
    let spare = Mutex::new(Vec::new());
    let pass = Pass {
        plan,
        frame: &frame,
        stored: &stored,
        evaluates: image_evaluates,
        colorspace: options.colorspace,
    };
    let mut failed_samples = 0;
    // A band per thread being filled, and those waiting for the sink:
    // beyond that, workers wait for the sink.
    let tiles_per_band = region_tiles.len() / band_heights.len().max(1);
    let rendered = run_tiles(
        &threads,
        region_tiles.len(),
        tiles_per_band * (thread_count + bands_waiting(band_bytes)),
        cancel,
        |index, scratch, share| {
            let (image_index, tile) = region_tiles[index];
            let band = band_of(&tile);
            let target = TileTarget {
                band: &bands[band],
                band_floats: band_heights[band] * row_floats,
                spare: &spare,
                layout,
                left: region.x,
                width: region.width,
            };
            pass.render_tile(image_index, tile, scratch, share, target)
        },
        |index, tile_failed_samples| {
            failed_samples += tile_failed_samples;
            steps.advance();
            let tile = region_tiles[index].1;
            if tile.x + tile.width as i32 == region_right {
                let band = std::mem::take(&mut *lock(&bands[band_of(&tile)]));
                sink.rows(layout, &band)
                    .map_err(|_| RenderError::SinkFailed)?;
                lock(&spare).push(band);
            }
            Ok(())
        },
    )?;
    Ok(Rendered {
        width: region.width,
        height: region.height,
        layout,
        threads: computing,
        tiles: region_tiles.len(),
        failed_samples,
        seconds: (rendered - started).as_secs_f64(),
    })
}

/// Renders `plan` as [`render`] does, into memory: the image's pixels,
/// row by row from the top, in the channels of [`Rendered::layout`].
pub fn render_to_memory(
    plan: &Plan,
    options: &RenderOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Rendered, Vec<f32>), RenderError> {
    let region = checked_region(plan, options)?;
    let floats = region.area() * output_layout(plan, options.colorspace).channels();
    let mut memory = Collected::kept(floats);
    let options = RenderOptions {
        output_bytes: options.output_bytes.saturating_add(memory.bytes()),
        ..options.clone()
    };
    match render(plan, &options, cancel, progress, &mut memory) {
        Ok(rendered) => Ok((rendered, memory.pixels)),
        Err(RenderError::SinkFailed) => Err(RenderError::OutOfMemory {
            what: format!("the {} x {} image", region.width, region.height),
            bytes: memory.bytes(),
        }),
        Err(error) => Err(error),
    }
}

/// The pixels `options` asks for (its region, or the whole image), checked
/// to be a non-empty part of the image.
fn checked_region(plan: &Plan, options: &RenderOptions) -> Result<Rect, RenderError> {
    let image = &plan.image;
    let region = options
        .region
        .unwrap_or(Rect::new(0, 0, image.width, image.height));
    // In 64 bits: a region's x + width may not fit in the 32 of a Rect.
    let within = |start: i32, length: u32, limit: u32| {
        start >= 0 && i64::from(start) + i64::from(length) <= i64::from(limit)
    };
    if region.area() == 0
        || !within(region.x, region.width, image.width)
        || !within(region.y, region.height, image.height)
    {
        return Err(RenderError::BadRegion {
            region,
            image_width: image.width,
            image_height: image.height,
        });
    }
    Ok(region)
}

/// The value behind `mutex`, even if a thread panicked holding it (its
/// data is plain floats, never left half-updated in a way that matters).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts tiles done, over every pass of the render, for [`Progress`].
struct Steps<'p> {
    done: usize,
    total: usize,
    progress: &'p mut dyn FnMut(Progress),
}

impl Steps<'_> {
    /// Says the render has started: no tile done yet.
    fn start(&mut self) {
        self.report();
    }

    fn advance(&mut self) {
        self.done += 1;
        self.report();
    }

    fn report(&mut self) {
        (self.progress)(Progress {
            tiles_done: self.done,
            tiles_total: self.total,
        });
    }
}

/// Runs `work` for tiles 0..count on the pool, whose workers claim tiles in
/// index order, and gives each result to `finish` on this thread, in tile
/// order. Tiles after the first failed one are skipped; earlier ones still
/// run, so the failure returned is always the lowest-index one, at any
/// thread count. Tiles are started in order, so that a worker blocked on a
/// tile never holds back an earlier one. A worker starts a tile only within
/// `ahead` tiles of those finished, so that what `finish` has yet to take
/// stays bounded when it is the slower side. `finish` failing stops the
/// workers, as a failed tile would. Returns when the workers were done.
fn run_tiles<R: Send>(
    threads: &RenderThreads,
    count: usize,
    ahead: usize,
    cancel: &AtomicBool,
    work: impl Fn(usize, &mut TileScratch, Option<&CoreHeld>) -> Result<R, RenderError> + Sync,
    mut finish: impl FnMut(usize, R) -> Result<(), RenderError>,
) -> Result<Instant, RenderError> {
    let (sender, receiver) = unbounded::<Vec<TileReport<R>>>();
    let stop = AtomicBool::new(false);
    let finished = Finished::default();
    let (failure, workers_done) = std::thread::scope(|scope| {
        let (work, stop, finished) = (&work, &stop, &finished);
        let claims = Claims {
            count,
            ahead,
            cancel,
            stop,
            finished,
        };
        let workers = scope.spawn(move || claim_tiles(threads, claims, work, sender));
        let stop_on_panic = StopOnPanic { stop, finished };
        let failure = in_tile_order(receiver, &mut finish, (stop, cancel), finished);
        drop(stop_on_panic);
        let done = workers
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (failure, done)
    });
    if cancel.load(Ordering::Relaxed) {
        let interrupted = match failure {
            Some(RenderError::Node(failure)) => Some(failure),
            _ => None,
        };
        return Err(RenderError::Cancelled { interrupted });
    }
    failure.map_or(Ok(workers_done), Err)
}

/// What the workers of [`run_tiles`] share about the tiles they claim.
struct Claims<'c> {
    count: usize,
    ahead: usize,
    cancel: &'c AtomicBool,
    /// `finish` failed: every tile left is skipped.
    stop: &'c AtomicBool,
    finished: &'c Finished,
}

/// How many tiles the calling thread of [`run_tiles`] has finished, in
/// order: workers wait on it to stay within `ahead` tiles of it.
#[derive(Default)]
struct Finished {
    tiles: AtomicUsize,
    /// Workers waiting: only then is a change worth a wake-up (a system
    /// call, once per tile otherwise).
    waiting: AtomicUsize,
    lock: Mutex<()>,
    advanced: Condvar,
}

impl Finished {
    fn set(&self, tiles: usize) {
        self.tiles.store(tiles, Ordering::SeqCst);
        self.wake();
    }

    /// Wakes the waiting workers to look again (at the count, or at why
    /// they might stop waiting).
    fn wake(&self) {
        // Stored before `waiting` is read, and a worker counts itself
        // before it reads `tiles`: one of the two sees the other.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let _lock = lock(&self.lock);
            self.advanced.notify_all();
        }
    }

    fn is_within(&self, index: usize, ahead: usize) -> bool {
        index < self.tiles.load(Ordering::SeqCst).saturating_add(ahead)
    }

    /// Waits until tile `index` is within `ahead` tiles of the finished
    /// ones, or `give_up` says so, looked at whenever woken and at least
    /// every 10 ms (a cancel from outside wakes nobody).
    fn wait_for(&self, index: usize, ahead: usize, give_up: impl Fn() -> bool) {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut guard = lock(&self.lock);
        while !self.is_within(index, ahead) && !give_up() {
            guard = (self.advanced)
                .wait_timeout(guard, Duration::from_millis(10))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(guard);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Stops every worker of [`run_tiles`] when the thread holding it panics:
/// the tiles it would have finished or reported never will be, and the
/// workers waiting for them would wait for ever. The panic then goes on
/// (rayon passes a worker's on once every worker is done; the scope, the
/// calling thread's).
struct StopOnPanic<'c> {
    stop: &'c AtomicBool,
    finished: &'c Finished,
}

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stop.store(true, Ordering::SeqCst);
            self.finished.wake();
        }
    }
}

/// The workers' side of [`run_tiles`]: each claims the next tile in index
/// order until there is none, or until it is cancelled or stopped or its
/// tile comes after a failed one, and sends what became of each. Returns
/// when the last worker was done.
fn claim_tiles<R: Send>(
    threads: &RenderThreads,
    claims: Claims,
    work: &(impl Fn(usize, &mut TileScratch, Option<&CoreHeld>) -> Result<R, RenderError> + Sync),
    sender: Sender<Vec<TileReport<R>>>,
) -> Instant {
    let next_tile = AtomicUsize::new(0);
    let first_failure = AtomicUsize::new(usize::MAX);
    threads.pool.broadcast(|_| {
        let _stop_on_panic = StopOnPanic {
            stop: claims.stop,
            finished: claims.finished,
        };
        let mut scratch = TileScratch::default();
        let mut reports = TileReports::new(&sender);
        loop {
            let claim = || next_tile.fetch_add(1, Ordering::Relaxed);
            // Where threads outnumber the cores, a tile is claimed and
            // computed holding a share of them.
            let share = threads.cores.as_ref().map(|cores| cores.claim(claim));
            let index = share.as_ref().map_or_else(claim, CoreHeld::tile);
            if index >= claims.count {
                break;
            }
            let skip = || {
                claims.cancel.load(Ordering::Relaxed)
                    || claims.stop.load(Ordering::Relaxed)
                    || index > first_failure.load(Ordering::Relaxed)
            };
            if !claims.finished.is_within(index, claims.ahead) {
                // The tiles this worker has done may be the ones waited for.
                reports.send();
                let wait = || claims.finished.wait_for(index, claims.ahead, skip);
                match &share {
                    Some(share) => share.set_aside(wait),
                    None => wait(),
                }
            }
            if skip() {
                // So is every tile this worker would claim after it: cancel
                // and stop stay set, and its later tiles come after a failed
                // one too.
                break;
            }
            let result = work(index, &mut scratch, share.as_ref());
            drop(share);
            if result.is_err() {
                first_failure.fetch_min(index, Ordering::Relaxed);
                claims.finished.wake();
            }
            reports.push((index, result));
        }
        reports.send();
    });
    Instant::now()
}

/// The calling thread's side of [`run_tiles`]: gives each tile's result to
/// `finish` in tile order, until a tile that failed or was skipped, until
/// `finish` fails (which sets `stop`), or until `cancel` is set (the tiles
/// rendered ahead are not finished: a band's encoding takes long), and
/// returns the lowest-index failure.
fn in_tile_order<R>(
    reports: impl IntoIterator<Item = Vec<TileReport<R>>>,
    finish: &mut impl FnMut(usize, R) -> Result<(), RenderError>,
    (stop, cancel): (&AtomicBool, &AtomicBool),
    finished: &Finished,
) -> Option<RenderError> {
    let mut failure: Option<(usize, RenderError)> = None;
    let mut pending = BTreeMap::new();
    let mut next = 0;
    for (index, result) in reports.into_iter().flatten() {
        match result {
            Ok(value) => {
                pending.insert(index, value);
            }
            Err(error) if failure.as_ref().is_none_or(|(i, _)| index < *i) => {
                failure = Some((index, error));
            }
            Err(_) => {}
        }
        while !stop.load(Ordering::Relaxed)
            && !cancel.load(Ordering::Relaxed)
            && let Some(value) = pending.remove(&next)
        {
            if let Err(error) = finish(next, value) {
                // Every tile before this one was finished: no failure can
                // be lower.
                failure = Some((next, error));
                stop.store(true, Ordering::Relaxed);
            }
            next += 1;
        }
        finished.set(next);
    }
    failure.map(|(_, error)| error)
}

/// A tile's index and its result, or why it failed.
type TileReport<R> = (usize, Result<R, RenderError>);

/// A worker's finished tiles, sent in batches to the thread that orders
/// them: each send wakes that thread, which cost a system call per tile (5%
/// of a fast render), and a progress bar needs a few updates a second. A
/// tile may thus be counted late by the time the worker's next tile takes.
struct TileReports<'s, R> {
    sender: &'s Sender<Vec<TileReport<R>>>,
    batch: Vec<TileReport<R>>,
    sent: Instant,
}

impl<'s, R> TileReports<'s, R> {
    /// How long a finished tile may wait to be reported.
    const LATENCY: Duration = Duration::from_millis(10);

    fn new(sender: &'s Sender<Vec<TileReport<R>>>) -> TileReports<'s, R> {
        TileReports {
            sender,
            batch: Vec::new(),
            sent: Instant::now(),
        }
    }

    /// Adds a tile's report; sends the batch if it holds a failure, so that
    /// the first failure is known at once, or if it has waited long enough.
    fn push(&mut self, report: TileReport<R>) {
        let failed = report.1.is_err();
        self.batch.push(report);
        if failed || self.sent.elapsed() >= Self::LATENCY {
            self.send();
        }
    }

    fn send(&mut self) {
        if !self.batch.is_empty() {
            // The receiver lives until every sender is gone.
            let _ = self.sender.send(std::mem::take(&mut self.batch));
        }
        self.sent = Instant::now();
    }
}

/// The most render threads Tessera starts: beyond this, a typo (1000000)
/// rather than a machine.
pub const MAX_THREADS: usize = 1024;

/// The number of workers a render with `requested` threads uses: `requested`,
/// or for 0, `RAYON_NUM_THREADS` when set, else every core (rayon's rule).
pub fn worker_count(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The threads of one render.
pub(crate) struct RenderThreads {
    pool: rayon::ThreadPool,
    /// Where some node waits elsewhere ([`tessera_core::Node::tiles_elsewhere`]):
    /// the pool has more threads, of which as many compute at once as the
    /// render was given.
    cores: Option<Cores>,
}

/// The render's pool of `threads` threads; `feeding` where they feed
/// other processes (see [`ask_for_short_slices`]).
fn thread_pool(
    options: &RenderOptions,
    threads: usize,
    feeding: bool,
) -> Result<rayon::ThreadPool, RenderError> {
    let hooks = options.hooks.clone();
    let mut builder = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        // A main thread's stack: Python nodes recursing through C calls use it.
        .stack_size(8 << 20)
        .thread_name(|i| format!("tessera-render-{i}"))
        .start_handler(move |i| {
            if feeding {
                ask_for_short_slices();
            }
            if let Some(hooks) = &hooks {
                hooks.worker_started(i);
            }
        });
    if let Some(hooks) = &options.hooks {
        let exit = hooks.clone();
        builder = builder.exit_handler(move |i| exit.worker_exiting(i));
    }
    builder.build().map_err(|e| RenderError::ThreadPool {
        threads: options.threads,
        message: e.to_string(),
    })
}

/// The time slice a render thread feeding other processes asks for.
#[cfg(target_os = "linux")]
const FEEDING_SLICE_NS: u64 = 100_000;

/// Asks the kernel to schedule the calling thread with short time slices
/// (Linux 6.12 on; elsewhere and before, nothing changes). A thread that
/// feeds a worker process has a little to do whenever the worker answers,
/// and the worker waits meanwhile; with the default slice (1.4 ms on the
/// machine measured) the kernel let whatever ran on the processor it woke
/// on (a band of rows being hashed) finish first, 0.85 ms once while the
/// other processor was idle (docs/performance.md). A shorter slice lets it
/// take the processor at once, without taking any share from other threads
/// (a lower priority for the output stage would: behind other processes'
/// work, it starved). A thread under another policy than the default
/// (`chrt`) is left as it is.
fn ask_for_short_slices() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_getscheduler and getpriority read, and sched_setattr
    // with pid 0 changes, only the calling thread's scheduling; the
    // attributes are a whole, initialised sched_attr of the size given.
    unsafe {
        if libc::sched_getscheduler(0) != libc::SCHED_OTHER {
            return;
        }
        // The thread's nice value stays as it is (sched_setattr sets it).
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
        if *libc::__errno_location() != 0 {
            return;
        }
        let attributes = libc::sched_attr {
            size: std::mem::size_of::<libc::sched_attr>() as u32,
            sched_policy: libc::SCHED_OTHER as u32,
            sched_flags: 0,
            sched_nice: nice,
            sched_priority: 0,
            sched_runtime: FEEDING_SLICE_NS,
            sched_deadline: 0,
            sched_period: 0,
        };
        libc::syscall(libc::SYS_sched_setattr, 0, &attributes, 0);
    }
}

/// `len` zeroed floats, or None when the allocation is refused (where
/// `vec!` would abort). Zeroed by the allocator (calloc): a large block
/// comes as fresh pages that are zero already, and are not written twice.
fn zeroed_floats(len: usize) -> Option<Vec<f32>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<f32>(len).ok()?;
    // SAFETY: the layout has a non-zero size; a non-null result is a block
    // of `len` zeroed f32s (all-zero bits are 0.0) from the global
    // allocator with f32's alignment, which Vec then owns and frees.
    unsafe {
        let block = std::alloc::alloc_zeroed(layout).cast::<f32>();
        (!block.is_null()).then(|| Vec::from_raw_parts(block, len, len))
    }
}

/// Asks Linux to back a node's whole-image storage with transparent huge
/// pages. Its memory is fresh, so each 4 KiB page would otherwise cost a
/// page fault on first write: 4,096 faults for a 1024 x 1024 image, 8 ms
/// on a virtual machine. numpy advises the same for its large arrays.
/// Advice only: where huge pages are off or refused, nothing changes but
/// the speed.
#[cfg(target_os = "linux")]
fn advise_huge_pages(pixels: &mut [f32]) {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let address = pixels.as_mut_ptr() as usize;
    // The whole pages inside `pixels`: madvise takes page-aligned ranges.
    let start = address.next_multiple_of(page);
    let end = (address + std::mem::size_of_val(pixels)) / page * page;
    if end > start {
        // SAFETY: the range lies within `pixels`, which stays allocated, and
        // MADV_HUGEPAGE changes neither its contents nor its mapping.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_pixels: &mut [f32]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_floats_are_zero_and_a_refused_size_is_none() {
        assert_eq!(zeroed_floats(5), Some(vec![0.0; 5]));
        assert_eq!(zeroed_floats(0), Some(Vec::new()));
        assert_eq!(zeroed_floats(usize::MAX / 2), None);
    }

    #[test]
    fn results_are_finished_in_tile_order_and_the_lowest_failure_is_kept() {
        let reports: Vec<Vec<TileReport<usize>>> = vec![
            vec![(2, Ok(2)), (0, Ok(0))],
            vec![(5, Err(RenderError::BadTileSize)), (1, Ok(1))],
            vec![
                (3, Err(RenderError::Cancelled { interrupted: None })),
                (4, Ok(4)),
            ],
        ];
        let mut finished = Vec::new();
        let (stop, cancel) = (AtomicBool::new(false), AtomicBool::new(false));
        let counted = Finished::default();
        let failure = in_tile_order(
            reports,
            &mut |index, value| {
                finished.push((index, value));
                Ok(())
            },
            (&stop, &cancel),
            &counted,
        );
        assert_eq!(counted.tiles.load(Ordering::SeqCst), 3);
        // Tiles 0, 1 and 2 in order, though 2 came first; none after 3.
        assert_eq!(finished, [(0, 0), (1, 1), (2, 2)]);
        // Tile 3's failure, reported after tile 5's.
        assert!(
            matches!(failure, Some(RenderError::Cancelled { .. })),
            "{failure:?}"
        );
        assert!(!stop.load(Ordering::Relaxed));
    }

    #[test]
    fn a_failed_finish_stops_the_workers_and_is_the_failure() {
        let reports: Vec<Vec<TileReport<usize>>> = vec![
            vec![(0, Ok(0)), (3, Err(RenderError::BadTileSize))],
            vec![(1, Ok(1)), (2, Ok(2))],
        ];
        let mut finished = Vec::new();
        let (stop, cancel) = (AtomicBool::new(false), AtomicBool::new(false));
        let failure = in_tile_order(
            reports,
            &mut |index, _| {
                finished.push(index);
                match index {
                    1 => Err(RenderError::SinkFailed),
                    _ => Ok(()),
                }
            },
            (&stop, &cancel),
            &Finished::default(),
        );
        // Tile 1's sink failure, not tile 3's later one; tile 2 never finished.
        assert_eq!(finished, [0, 1]);
        assert!(
            matches!(failure, Some(RenderError::SinkFailed)),
            "{failure:?}"
        );
        assert!(stop.load(Ordering::Relaxed));
    }

    #[test]
    fn once_cancelled_no_tile_rendered_ahead_is_finished() {
        // Rendered ahead, up to a few bands of tiles wait to be encoded:
        // encoding them kept a cancelled render going for half a second.
        let cancel = AtomicBool::new(false);
        let mut finished = Vec::new();
        let reports = (0..4).map(|index| {
            if index == 2 {
                cancel.store(true, Ordering::Relaxed);
            }
            vec![(index, Ok(index))]
        });
        let failure = in_tile_order(
            reports,
            &mut |index, _| {
                finished.push(index);
                Ok(())
            },
            (&AtomicBool::new(false), &cancel),
            &Finished::default(),
        );
        assert_eq!(finished, [0, 1]);
        assert!(failure.is_none());
    }

    fn pool(threads: usize) -> RenderThreads {
        RenderThreads {
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap(),
            cores: None,
        }
    }

    #[test]
    fn threads_beyond_the_render_s_cores_compute_only_while_others_wait() {
        let threads = RenderThreads {
            cores: Some(Cores::new(2)),
            ..pool(4)
        };
        let (computing, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let done = run_tiles(
            &threads,
            60,
            usize::MAX,
            &AtomicBool::new(false),
            |index, _, _| {
                let now = computing.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_micros(200));
                computing.fetch_sub(1, Ordering::SeqCst);
                Ok(index)
            },
            |_, _| Ok(()),
        );
        assert!(done.is_ok());
        assert!(most.load(Ordering::SeqCst) <= 2, "{most:?}");
    }

    #[test]
    fn workers_stay_within_ahead_tiles_of_a_slow_finish() {
        let finished = AtomicUsize::new(0);
        let furthest = AtomicUsize::new(0);
        let done = run_tiles(
            &pool(3),
            40,
            4,
            &AtomicBool::new(false),
            |index, _, _| {
                // How far ahead of the finished tiles this one started.
                let lead = index + 1 - finished.load(Ordering::SeqCst).min(index + 1);
                furthest.fetch_max(lead, Ordering::SeqCst);
                Ok(index)
            },
            |index, value| {
                assert_eq!(index, value);
                std::thread::sleep(Duration::from_millis(1));
                finished.store(index + 1, Ordering::SeqCst);
                Ok(())
            },
        );
        assert!(done.is_ok());
        assert_eq!(finished.load(Ordering::SeqCst), 40);
        assert!(furthest.load(Ordering::SeqCst) <= 4, "{furthest:?}");
    }

    #[test]
    fn workers_held_back_give_up_on_a_failed_tile_or_finish() {
        // A tile fails while later ones wait for `finish`, which never
        // reaches them: they are skipped, not left waiting.
        let failed = run_tiles(
            &pool(2),
            50,
            2,
            &AtomicBool::new(false),
            |index, _, _| match index {
                5 => Err(RenderError::BadTileSize),
                _ => Ok(()),
            },
            |_, ()| Ok(()),
        );
        assert!(matches!(failed, Err(RenderError::BadTileSize)));
        let stopped = run_tiles(
            &pool(2),
            50,
            2,
            &AtomicBool::new(false),
            |_, _, _| Ok(()),
            |index, ()| match index {
                5 => Err(RenderError::SinkFailed),
                _ => Ok(()),
            },
        );
        assert!(matches!(stopped, Err(RenderError::SinkFailed)));
    }

    #[test]
    fn a_panic_on_either_side_stops_the_workers_held_back_and_goes_on() {
        for worker_panics in [true, false] {
            let panicked = std::panic::catch_unwind(|| {
                let _ = run_tiles(
                    &pool(2),
                    200,
                    2,
                    &AtomicBool::new(false),
                    |index, _, _| {
                        assert!(!(worker_panics && index == 3), "a worker's bug");
                        Ok(())
                    },
                    |index, ()| {
                        assert!(worker_panics || index != 3, "the caller's bug");
                        Ok(())
                    },
                );
            });
            assert!(panicked.is_err(), "worker panics: {worker_panics}");
        }
    }

    /// The calling thread's own time slice in nanoseconds, where the
    /// kernel keeps one (Linux 6.12 on); None elsewhere.
    #[cfg(target_os = "linux")]
    fn thread_slice() -> Option<u64> {
        // SAFETY: sched_getattr writes at most the size given into the
        // zeroed attributes, and only reads the calling thread's.
        let mut attributes: libc::sched_attr = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::sched_attr>() as u32;
        let got = unsafe { libc::syscall(libc::SYS_sched_getattr, 0, &mut attributes, size, 0) };
        (got == 0).then_some(attributes.sched_runtime)
    }

    /// Whether the running kernel keeps a slice per thread: 6.12 or later.
    #[cfg(target_os = "linux")]
    fn kernel_keeps_slices() -> bool {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut numbers = release
            .split(['.', '-'])
            .map(|n| n.parse::<u32>().unwrap_or(0));
        (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0)) >= (6, 12)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn threads_feeding_other_processes_ask_for_short_slices() {
        let slices = |feeding| {
            let pool = thread_pool(&RenderOptions::default(), 2, feeding).unwrap();
            pool.broadcast(|_| thread_slice())
        };
        let (feeding, computing) = (slices(true), slices(false));
        if kernel_keeps_slices() {
            assert_eq!(feeding, [Some(FEEDING_SLICE_NS); 2]);
        }
        assert!(
            computing
                .iter()
                .all(|slice| *slice != Some(FEEDING_SLICE_NS))
        );
    }

    #[test]
    fn the_grid_covers_the_image_once_in_row_major_order() {
        let tiles = tile_grid(70, 40, 32);
        assert_eq!(tiles.len(), 6);
        assert_eq!(tiles[2], Rect::new(64, 0, 6, 32));
        assert_eq!(tiles[5], Rect::new(64, 32, 6, 8));
        let area: usize = tiles.iter().map(Rect::area).sum();
        assert_eq!(area, 70 * 40);
    }
}
