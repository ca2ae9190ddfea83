//! Evaluating the plan over one tile.

use crate::{NodeFailure, RenderError, lock};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Mutex, MutexGuard};
use tessera_core::hash::hash_str;
use tessera_core::{
    Buffer, BufferPool, ColorSpace, CoreHeld, FrameInfo, GeomProp, PixelLayout, PlaneSource, Rect,
    SampleFailures, TileCtx, ValueType,
};
use tessera_graph::{Plan, PlannedInput};

/// The colour of a sample a node failed on and painted (`--on-error=color`).
pub const FAILURE_COLOR: [f32; 4] = [1.0, 0.0, 1.0, 1.0];

/// What a render worker keeps from one tile to the next, so that a tile
/// does not rebuild what the one before it built.
#[derive(Debug, Default)]
pub struct TileScratch {
    /// Each constant input broadcast over the length it was last asked for,
    /// as `constants[node][input]`; the output's inputs come after the
    /// plan's nodes. Tiles of one size reuse them as they are.
    constants: Constants,
    /// Storage of the buffers of the tile before, for this tile's buffers.
    pool: BufferPool,
    /// 1.0s, the alpha of an output colour widened from colour3.
    ones: Vec<f32>,
    /// Each node's `hash_str(id)`, in plan order.
    node_hashes: Vec<u32>,
    /// The tile's pixels, resolved, to be encoded in the output's colour
    /// space before its band's rows are locked.
    resolved: Vec<f32>,
}

type Constants = Vec<Vec<Option<Buffer>>>;

/// Where a tile's pixels go: the band of rows that holds it, locked only
/// while the finished tile is written, since other tiles of the same rows
/// are rendered at the same time.
pub struct TileTarget<'a> {
    /// The band's rows (of the image, or its region), the tile's first row
    /// first, in the pass's [`PixelLayout`]; empty until its first tile
    /// takes storage for it from `spare`.
    pub band: &'a Mutex<Vec<f32>>,
    /// Floats the band holds.
    pub band_floats: usize,
    /// Storage of bands the sink is done with.
    pub spare: &'a Mutex<Vec<Vec<f32>>>,
    /// The channels kept of each pixel ([`output_layout`]).
    pub layout: PixelLayout,
    /// The image column of the rows' first pixel.
    pub left: i32,
    /// Pixels per row.
    pub width: u32,
}

impl TileTarget<'_> {
    /// The band, with storage.
    fn rows(&self) -> MutexGuard<'_, Vec<f32>> {
        let mut band = lock(self.band);
        if band.is_empty() {
            *band = lock(self.spare).pop().unwrap_or_default();
            // Every float is written by the band's tiles before it is read.
            band.resize(self.band_floats, 0.0);
        }
        band
    }
}

/// The channels a render of `plan` keeps per pixel: those of its output's
/// type, and alpha where it is not a copy of them or 1 (or where the
/// colour space's encoding may make a grey coloured); RGBA where a node
/// may paint failures.
pub fn output_layout(plan: &Plan, colorspace: ColorSpace) -> PixelLayout {
    let color = match &plan.output.color {
        PlannedInput::Link { from, .. } => *from,
        _ => ValueType::Color4,
    };
    let alpha = plan.output.alpha.is_some();
    if plan
        .nodes
        .iter()
        .any(|planned| planned.node.paints_failures())
    {
        return PixelLayout::Rgba;
    }
    match (color, alpha) {
        (ValueType::Float, false) if colorspace.is_working_space() => PixelLayout::Gray,
        (ValueType::Float, _) if colorspace.encodes_channels_alone() => PixelLayout::GrayAlpha,
        (ValueType::Color3, false) => PixelLayout::Rgb,
        _ => PixelLayout::Rgba,
    }
}

/// A node evaluated once over the whole image ([`Evaluation::WholeImage`]),
/// before the tiles that read it.
///
/// [`Evaluation::WholeImage`]: tessera_core::Evaluation::WholeImage
#[derive(Debug)]
pub struct StoredNode {
    /// The pixels its outputs cover: the image grown by the node's margin.
    pub rect: Rect,
    pub outputs: Vec<Buffer>,
    /// The samples it failed on and painted (`--on-error=color`), sorted.
    pub failures: Vec<(i32, i32, u32)>,
}

/// One pass of the renderer over tiles: what every tile of it shares, and
/// which of the plan's nodes a tile evaluates.
pub struct Pass<'s> {
    pub plan: &'s Plan,
    pub frame: &'s FrameInfo,
    /// By plan index: the nodes already evaluated over the whole image.
    pub stored: &'s [Option<StoredNode>],
    /// By plan index: whether a tile of this pass evaluates the node, over
    /// the tile grown by the node's margin. Nodes neither evaluated nor
    /// stored are not read by this pass.
    pub evaluates: Vec<bool>,
    /// The colour space the image's RGB is written in (encoded from the
    /// working space as each tile is resolved).
    pub colorspace: ColorSpace,
}

impl<'s> Pass<'s> {
    /// Renders one tile: every node of the plan over the tile grown by the
    /// node's margin, then the output averaged over each pixel's samples into
    /// `target`. Returns how many samples of the tile were painted
    /// [`FAILURE_COLOR`] because a node failed on them.
    pub fn render_tile(
        &self,
        tile_index: usize,
        tile: Rect,
        scratch: &mut TileScratch,
        share: Option<&CoreHeld>,
        target: TileTarget,
    ) -> Result<usize, RenderError> {
        let (plan, frame) = (self.plan, self.frame);
        let failures = SampleFailures::default();
        let mut tile_buffers = self.evaluate_nodes(tile_index, tile, scratch, share, &failures)?;
        let TileScratch {
            constants,
            pool,
            ones,
            resolved,
            ..
        } = scratch;
        let output_key = |k| (plan.nodes.len(), k);
        for (k, input) in plan.output.inputs().enumerate() {
            tile_buffers.prepare(input, output_key(k), frame, tile, constants, pool);
        }
        let samples = frame.samples as usize;
        let painted: Vec<usize> = (failures.take().into_iter())
            // A sample in a halo is painted by the tile that owns its pixel.
            .filter(|&(x, y, _)| tile.contains(x, y))
            .map(|(x, y, s)| {
                let pixel = (y - tile.y) as usize * tile.width as usize + (x - tile.x) as usize;
                pixel * samples + s as usize
            })
            .collect();
        // Borrowed from the tile's results, and widened to RGBA while it is
        // averaged, unless failures are painted on it.
        let (mut color, widening) = tile_buffers.unwidened(
            &plan.output.color,
            output_key(0),
            frame,
            tile,
            constants,
            pool,
        );
        // The output's colour is RGBA (what the compiler gives it).
        let mut color_type = ValueType::Color4;
        match widening {
            Some((from, _)) if painted.is_empty() => color_type = from,
            Some((from, to)) => color = Cow::Owned(widen(color, from, to, pool)),
            None => {}
        }
        let mut alpha = (plan.output.alpha.as_ref())
            .map(|a| tile_buffers.input(a, output_key(1), frame, tile, constants, pool));
        for &i in &painted {
            color.to_mut().write_sample(i, &FAILURE_COLOR);
            if let Some(alpha) = &mut alpha {
                alpha.to_mut().write_sample(i, &FAILURE_COLOR[3..]);
            }
        }
        let layout = target.layout;
        assert!(
            painted.is_empty() || layout == PixelLayout::Rgba,
            "a node painted samples it failed on without saying it may (Node::paints_failures)"
        );
        if ones.len() < color.len() {
            ones.resize(color.len(), 1.0);
        }
        let mut rgba: [&[f32]; 4] =
            std::array::from_fn(|c| match color_type.widened_plane(ValueType::Color4, c) {
                PlaneSource::Plane(k) => color.plane(k),
                PlaneSource::One => &ones[..color.len()],
            });
        if let Some(alpha) = &alpha {
            rgba[3] = alpha.plane(0);
        }
        let kept = layout.kept();
        let planes: [&[f32]; 4] =
            std::array::from_fn(|k| kept.get(k).map_or(&[][..], |&c| rgba[c]));
        let planes = &planes[..kept.len()];
        let row = tile.width as usize * planes.len();
        let stride = target.width as usize * planes.len();
        let column = (tile.x - target.left) as usize * planes.len();
        if self.colorspace.is_working_space() {
            let mut rows = target.rows();
            let tile_rows = (rows.chunks_mut(stride)).map(|r| &mut r[column..][..row]);
            resolve_pixels(planes, samples, tile_rows);
        } else {
            // Encoded outside the lock: other tiles of the band wait for it.
            resolved.resize(tile.area() * planes.len(), 0.0);
            resolve_pixels(planes, samples, resolved.chunks_mut(row));
            encode_pixels(self.colorspace, layout, resolved);
            let mut rows = target.rows();
            let tile_rows = (rows.chunks_mut(stride)).map(|r| &mut r[column..][..row]);
            for (into, from) in tile_rows.zip(resolved.chunks(row)) {
                into.copy_from_slice(from);
            }
        }
        recycle_owned([color].into_iter().chain(alpha), pool);
        tile_buffers.recycle(pool);
        Ok(painted.len())
    }

    /// Evaluates the nodes of the pass over one tile of the image, and
    /// gives the outputs of `nodes` over the tile's part of each one's whole
    /// image ([`owned_part`]), to be stored.
    pub fn gather_outputs(
        &self,
        nodes: &[usize],
        tile_index: usize,
        tile: Rect,
        scratch: &mut TileScratch,
        share: Option<&CoreHeld>,
    ) -> Result<Gathered, RenderError> {
        let plan = self.plan;
        let image = Rect::new(0, 0, self.frame.width, self.frame.height);
        let failures = SampleFailures::default();
        let tile_buffers = self.evaluate_nodes(tile_index, tile, scratch, share, &failures)?;
        let samples = self.frame.samples as usize;
        let gathered = (nodes.iter())
            .map(|&node| {
                let (rect, outputs) = tile_buffers.results[node]
                    .as_ref()
                    .expect("a pass evaluates what it gathers");
                let part = owned_part(tile, image, plan.nodes[node].margin);
                (outputs.iter())
                    .map(|output| crop(output, *rect, part, samples, &mut scratch.pool))
                    .collect()
            })
            .collect();
        tile_buffers.recycle(&mut scratch.pool);
        let failures = (failures.take().into_iter())
            .filter(|&(x, y, _)| tile.contains(x, y))
            .collect();
        Ok((gathered, failures))
    }

    /// Evaluates the nodes of the pass over one tile, each over the tile
    /// grown by its margin, in plan order; `share` is the thread's processor
    /// share, for nodes that wait elsewhere.
    fn evaluate_nodes(
        &self,
        tile_index: usize,
        tile: Rect,
        scratch: &mut TileScratch,
        share: Option<&CoreHeld>,
        failures: &SampleFailures,
    ) -> Result<TileBuffers<'s>, RenderError> {
        let (plan, frame) = (self.plan, self.frame);
        let TileScratch {
            constants,
            pool,
            node_hashes,
            ..
        } = scratch;
        if node_hashes.is_empty() {
            node_hashes.extend(plan.nodes.iter().map(|planned| hash_str(&planned.id)));
        }
        let mut tile_buffers = TileBuffers {
            results: Vec::with_capacity(plan.nodes.len()),
            geometry: Vec::new(),
        };
        for (node_index, planned) in plan.nodes.iter().enumerate() {
            if let Some(stored) = &self.stored[node_index] {
                // Its failures are painted on the tile's pixels, as a node
                // evaluated with the tile would have reported them.
                for &(x, y, s) in &stored.failures {
                    if tile.contains(x, y) {
                        failures.record(x, y, s);
                    }
                }
                let outputs = Cow::Borrowed(stored.outputs.as_slice());
                tile_buffers.results.push(Some((stored.rect, outputs)));
                continue;
            }
            if !self.evaluates[node_index] {
                tile_buffers.results.push(None);
                continue;
            }
            let rect = tile.expand(planned.margin);
            let input_rect = rect.expand(planned.halo());
            let ctx = TileCtx {
                frame,
                rect,
                tile_index,
                node_id: &planned.id,
                node_hash: node_hashes[node_index],
                failures,
                share,
            };
            for (input_index, input) in planned.inputs.iter().enumerate() {
                let key = (node_index, input_index);
                tile_buffers.prepare(input, key, frame, input_rect, constants, pool);
            }
            let inputs: Vec<Cow<Buffer>> = (planned.inputs.iter().enumerate())
                .map(|(k, input)| {
                    let key = (node_index, k);
                    tile_buffers.input(input, key, frame, input_rect, constants, pool)
                })
                .collect();
            let input_refs: Vec<&Buffer> = inputs.iter().map(|b| b.as_ref()).collect();
            let mut outputs: Vec<Buffer> = (planned.outputs.iter())
                .map(|ty| pool.zeroed(ty.channels().expect("varying output"), ctx.len()))
                .collect();
            let evaluated = planned.node.eval_tile(&ctx, &input_refs, &mut outputs);
            drop(input_refs);
            recycle_owned(inputs, pool);
            evaluated.map_err(|error| {
                RenderError::Node(Box::new(NodeFailure {
                    node: planned.id.clone(),
                    type_name: planned.type_name.clone(),
                    tile: Some(tile_index),
                    rect,
                    error,
                }))
            })?;
            tile_buffers.results.push(Some((rect, Cow::Owned(outputs))));
        }
        Ok(tile_buffers)
    }
}

/// What a tile of a gathering pass gives: for each node gathered, its
/// outputs over the part of the whole image the tile stands for, and the
/// samples of the tile a node failed on.
pub type Gathered = (Vec<Vec<Buffer>>, Vec<(i32, i32, u32)>);

/// The part of `image` grown by `margin` that `tile` stands for: the tile,
/// grown by the margin on the sides where it touches the image's edges.
/// The image's tiles share the grown image out this way, each pixel once.
pub fn owned_part(tile: Rect, image: Rect, margin: u32) -> Rect {
    let m = margin as i32;
    let (right, bottom) = (tile.x + tile.width as i32, tile.y + tile.height as i32);
    let grow = |at_edge: bool| if at_edge { m } else { 0 };
    let left = tile.x - grow(tile.x == image.x);
    let top = tile.y - grow(tile.y == image.y);
    let right = right + grow(right == image.x + image.width as i32);
    let bottom = bottom + grow(bottom == image.y + image.height as i32);
    Rect::new(left, top, (right - left) as u32, (bottom - top) as u32)
}

/// Evaluates plan node `node` alone, once, over the image grown by its
/// margin, its inputs read from the nodes `stored`; gives its outputs.
pub fn evaluate_alone(
    plan: &Plan,
    frame: &FrameInfo,
    stored: &[Option<StoredNode>],
    node: usize,
    failures: &SampleFailures,
) -> Result<Vec<Buffer>, RenderError> {
    let mut evaluates = vec![false; plan.nodes.len()];
    evaluates[node] = true;
    let pass = Pass {
        plan,
        frame,
        stored,
        evaluates,
        colorspace: ColorSpace::LinRec709,
    };
    let scratch = &mut TileScratch::default();
    let image = Rect::new(0, 0, frame.width, frame.height);
    // Alone, on one thread: no share to set aside.
    let mut tile_buffers = pass.evaluate_nodes(0, image, scratch, None, failures)?;
    match tile_buffers.results[node].take() {
        Some((_, Cow::Owned(outputs))) => Ok(outputs),
        _ => unreachable!("the pass evaluates the node"),
    }
}

/// Gives the pool the buffers made for one reader (crops, conversions).
fn recycle_owned<'a>(buffers: impl IntoIterator<Item = Cow<'a, Buffer>>, pool: &mut BufferPool) {
    for buffer in buffers {
        if let Cow::Owned(buffer) = buffer {
            pool.recycle(buffer);
        }
    }
}

/// The buffers of one tile that inputs read: node outputs, and geometry
/// computed once per rectangle however many nodes read it.
struct TileBuffers<'s> {
    /// Each node's rectangle and outputs, in plan order: computed for the
    /// tile, borrowed from a node stored over the whole image, or None for a
    /// node the pass does not read.
    results: Vec<Option<(Rect, Cow<'s, [Buffer]>)>>,
    geometry: Vec<(GeomProp, Rect, Buffer)>,
}

impl TileBuffers<'_> {
    /// Gives the pool every buffer of the tile, once nothing reads them.
    fn recycle(self, pool: &mut BufferPool) {
        let outputs = (self.results.into_iter().flatten())
            .filter_map(|(_, outputs)| match outputs {
                Cow::Owned(outputs) => Some(outputs),
                Cow::Borrowed(_) => None,
            })
            .flatten();
        let geometry = self.geometry.into_iter().map(|(_, _, buffer)| buffer);
        for buffer in outputs.chain(geometry) {
            pool.recycle(buffer);
        }
    }

    /// Makes what [`TileBuffers::input`] will hand out for `input` over `rect`.
    fn prepare(
        &mut self,
        input: &PlannedInput,
        key: (usize, usize),
        frame: &FrameInfo,
        rect: Rect,
        constants: &mut Constants,
        pool: &mut BufferPool,
    ) {
        let len = rect.area() * frame.samples as usize;
        match input {
            PlannedInput::Constant(value) => {
                let (node, input) = key;
                if constants.len() <= node {
                    constants.resize_with(node + 1, Vec::new);
                }
                let inputs = &mut constants[node];
                if inputs.len() <= input {
                    inputs.resize_with(input + 1, || None);
                }
                if inputs[input].as_ref().is_none_or(|b| b.len() != len) {
                    inputs[input] = Some(Buffer::filled(value, len));
                }
            }
            PlannedInput::Geometry(prop) => {
                if !self
                    .geometry
                    .iter()
                    .any(|(p, r, _)| p == prop && *r == rect)
                {
                    let buffer = geometry(*prop, frame, rect, pool);
                    self.geometry.push((*prop, rect, buffer));
                }
            }
            PlannedInput::Link { .. } => {}
        }
    }

    /// The samples `input` hands its node over `rect`, once prepared.
    fn input<'a>(
        &'a self,
        input: &PlannedInput,
        key: (usize, usize),
        frame: &FrameInfo,
        rect: Rect,
        constants: &'a Constants,
        pool: &mut BufferPool,
    ) -> Cow<'a, Buffer> {
        match self.unwidened(input, key, frame, rect, constants, pool) {
            (samples, None) => samples,
            (samples, Some((from, to))) => Cow::Owned(widen(samples, from, to, pool)),
        }
    }

    /// What [`TileBuffers::input`] hands out, before a link widens it: the
    /// samples, and the types a link widens them from and to.
    fn unwidened<'a>(
        &'a self,
        input: &PlannedInput,
        key: (usize, usize),
        frame: &FrameInfo,
        rect: Rect,
        constants: &'a Constants,
        pool: &mut BufferPool,
    ) -> (Cow<'a, Buffer>, Option<(ValueType, ValueType)>) {
        match input {
            PlannedInput::Constant(_) => {
                let constant = constants[key.0][key.1].as_ref();
                (Cow::Borrowed(constant.expect("constant prepared")), None)
            }
            PlannedInput::Geometry(prop) => {
                let geometry = (self.geometry.iter())
                    .find_map(|(p, r, buffer)| (p == prop && *r == rect).then_some(buffer));
                (Cow::Borrowed(geometry.expect("geometry prepared")), None)
            }
            PlannedInput::Link {
                node,
                output,
                from,
                to,
            } => {
                let (source_rect, outputs) = self.results[*node]
                    .as_ref()
                    .expect("a pass evaluates what it reads");
                let source = &outputs[*output];
                let cropped = if *source_rect == rect {
                    Cow::Borrowed(source)
                } else {
                    let samples = frame.samples as usize;
                    Cow::Owned(crop(source, *source_rect, rect, samples, pool))
                };
                (cropped, (from != to).then_some((*from, *to)))
            }
        }
    }
}

fn geometry(prop: GeomProp, frame: &FrameInfo, rect: Rect, pool: &mut BufferPool) -> Buffer {
    let ctx = TileCtx {
        frame,
        rect,
        tile_index: 0,
        node_id: "",
        node_hash: 0,
        failures: &SampleFailures::default(),
        share: None,
    };
    let channels = prop.value_type().channels().expect("varying");
    let mut buffer = pool.zeroed(channels, ctx.len());
    // (u, v), then a zero plane for a position's z.
    let (us, rest) = buffer.data_mut().split_at_mut(ctx.len());
    ctx.texcoord_planes(us, &mut rest[..ctx.len()]);
    buffer
}

/// The part of `source` (covering `from`) that covers `to`.
fn crop(source: &Buffer, from: Rect, to: Rect, samples: usize, pool: &mut BufferPool) -> Buffer {
    debug_assert!(from.contains_rect(&to));
    let row = to.width as usize * samples;
    pool.build(source.channels(), |data| {
        for c in 0..source.channels() {
            let plane = source.plane(c);
            for y in 0..to.height as usize {
                let sy = (to.y - from.y) as usize + y;
                let sx = (to.x - from.x) as usize;
                let start = (sy * from.width as usize + sx) * samples;
                data.extend_from_slice(&plane[start..start + row]);
            }
        }
    })
}

/// Copies `part` (covering `at`) into its place in `into` (covering
/// `whole`): the inverse of [`crop`].
pub fn paste(part: &Buffer, at: Rect, into: &mut Buffer, whole: Rect, samples: usize) {
    debug_assert!(whole.contains_rect(&at));
    let row = at.width as usize * samples;
    for c in 0..part.channels() {
        let source = part.plane(c);
        let plane = into.plane_mut(c);
        for y in 0..at.height as usize {
            let start = ((at.y - whole.y) as usize + y) * whole.width as usize * samples
                + (at.x - whole.x) as usize * samples;
            plane[start..start + row].copy_from_slice(&source[y * row..(y + 1) * row]);
        }
    }
}

/// `source`, widened from `from` to `to`; `source` goes back to the pool.
fn widen(source: Cow<Buffer>, from: ValueType, to: ValueType, pool: &mut BufferPool) -> Buffer {
    let mut out = pool.zeroed(to.channels().expect("varying"), source.len());
    from.convert_samples(to, source.data(), out.data_mut());
    recycle_owned([source], pool);
    out
}

/// Averages each pixel's samples of `planes` (the channels kept, in order)
/// into pixels of those channels, one row of `rows` per row of the tile.
fn resolve_pixels<'r>(
    planes: &[&[f32]],
    samples: usize,
    rows: impl Iterator<Item = &'r mut [f32]>,
) {
    let mut first_sample = 0;
    for row in rows {
        let row_samples = first_sample..first_sample + row.len() / planes.len() * samples;
        first_sample = row_samples.end;
        if samples == 1 {
            let samples = row_samples.clone();
            match planes.len() {
                1 => interleave::<1>(planes, samples, row),
                2 => interleave::<2>(planes, samples, row),
                3 => interleave::<3>(planes, samples, row),
                _ => interleave::<4>(planes, samples, row),
            }
            continue;
        }
        for (p, pixel) in row.chunks_exact_mut(planes.len()).enumerate() {
            let first = row_samples.start + p * samples;
            let pixel_samples = first..first + samples;
            for (channel, plane) in pixel.iter_mut().zip(planes) {
                let sum = plane[pixel_samples.clone()]
                    .iter()
                    .fold(0.0f32, |sum, v| sum + v);
                *channel = sum / samples as f32;
            }
        }
    }
}

/// Pixels of one sample each: the `K` planes' `samples` side by side, plus
/// 0 as the average of one sample is (0 + v, which turns -0 into +0).
fn interleave<const K: usize>(planes: &[&[f32]], samples: Range<usize>, row: &mut [f32]) {
    let sources: [&[f32]; K] = std::array::from_fn(|c| &planes[c][samples.clone()]);
    for (p, pixel) in row.as_chunks_mut::<K>().0.iter_mut().enumerate() {
        *pixel = std::array::from_fn(|c| sources[c][p] + 0.0);
    }
}

/// Encodes resolved pixels of `layout` from the working space into
/// `colorspace`: a grey as the grey it stays ([`output_layout`] keeps one
/// channel only where the encoding treats channels alone), alpha untouched.
fn encode_pixels(colorspace: ColorSpace, layout: PixelLayout, pixels: &mut [f32]) {
    for pixel in pixels.chunks_exact_mut(layout.channels()) {
        if let [r, g, b, ..] = *pixel {
            pixel[..3].copy_from_slice(&colorspace.encode([r, g, b]));
        } else {
            pixel[0] = colorspace.encode([pixel[0]; 3])[0];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_takes_the_inner_rectangle() {
        // A 4x3 one-channel, one-sample buffer holding x + 10 * y.
        let from = Rect::new(-1, -1, 4, 3);
        let data: Vec<f32> = (0..3)
            .flat_map(|y| (0..4).map(move |x| (x + 10 * y) as f32))
            .collect();
        let pool = &mut BufferPool::default();
        let cropped = crop(
            &Buffer::from_planar(1, data),
            from,
            Rect::new(0, 0, 2, 1),
            1,
            pool,
        );
        assert_eq!(cropped.data(), &[11.0, 12.0]);
        // Two channels, the second 100 more: each plane is cropped.
        let two = Buffer::from_planar(2, (0..24).map(|k| (k % 12 + k / 12 * 100) as f32).collect());
        let cropped = crop(&two, from, Rect::new(0, 1, 1, 1), 1, pool);
        assert_eq!(cropped.data(), &[9.0, 109.0]);
    }

    #[test]
    fn the_tiles_share_the_grown_image_out_each_pixel_once() {
        let image = Rect::new(0, 0, 70, 40);
        let margin = 3;
        let grown = image.expand(margin);
        let mut owners = vec![0; grown.area()];
        for tile in crate::tile_grid(image.width, image.height, 32) {
            let part = owned_part(tile, image, margin);
            assert!(grown.contains_rect(&part), "{part:?}");
            for y in part.y..part.y + part.height as i32 {
                for x in part.x..part.x + part.width as i32 {
                    owners[((y - grown.y) * grown.width as i32 + x - grown.x) as usize] += 1;
                }
            }
        }
        assert!(owners.iter().all(|&n| n == 1));
    }

    #[test]
    fn paste_puts_back_what_crop_takes() {
        let whole = Rect::new(-2, -1, 5, 4);
        let samples = 2;
        let len = whole.area() * samples;
        let original = Buffer::from_planar(2, (0..2 * len).map(|k| k as f32).collect());
        let pool = &mut BufferPool::default();
        let mut rebuilt = Buffer::new(2, len);
        // Four parts of uneven sizes that cover `whole` once.
        let parts = [
            Rect::new(-2, -1, 3, 2),
            Rect::new(1, -1, 2, 2),
            Rect::new(-2, 1, 3, 2),
            Rect::new(1, 1, 2, 2),
        ];
        for at in parts {
            let part = crop(&original, whole, at, samples, pool);
            paste(&part, at, &mut rebuilt, whole, samples);
        }
        assert_eq!(rebuilt, original);
    }

    /// `resolve_pixels` of `planes` into one row of as many pixels as they
    /// have samples / `samples`.
    fn resolve_row(planes: &[&[f32]], samples: usize) -> Vec<f32> {
        let mut row = vec![f32::NAN; planes[0].len() / samples * planes.len()];
        resolve_pixels(planes, samples, std::iter::once(row.as_mut_slice()));
        row
    }

    #[test]
    fn one_sample_resolves_as_an_average_of_one_would() {
        let values = [-0.0, 0.25, 1.0, f32::MIN_POSITIVE];
        for channels in 1..=4 {
            let planes: Vec<&[f32]> = (0..channels).map(|_| &values[..]).collect();
            let row = resolve_row(&planes, 1);
            let average_of_one = |v: f32| (0.0 + v) / 1.0;
            let expected: Vec<u32> = (values.iter())
                .flat_map(|&v| std::iter::repeat_n(average_of_one(v).to_bits(), channels))
                .collect();
            let bits: Vec<u32> = row.iter().map(|v| v.to_bits()).collect();
            assert_eq!(bits, expected, "{channels} channels");
            assert_eq!(row[0].to_bits(), 0.0f32.to_bits(), "-0 becomes +0");
        }
    }

    #[test]
    fn samples_average_channel_by_channel() {
        // Two pixels of two samples, in three channels.
        let planes: [&[f32]; 3] = [&[1.0, 0.0, 0.5, 0.25], &[0.0; 4], &[0.0, 1.0, 1.0, 1.0]];
        assert_eq!(resolve_row(&planes, 2), [0.5, 0.0, 0.5, 0.375, 0.0, 1.0]);
    }
}
