//! Encoding an image file from its rows as they are rendered: PNG and
//! OpenEXR rows go to the file at once (a render writes its image while it
//! renders the rest, and never holds the whole of it); JPEG's encoder takes
//! the whole image, so its 8-bit samples are kept until the last row.

use std::fs::File;
use std::io::{Seek, Write};

use exr::block::chunk::{Chunk, CompressedBlock, CompressedScanLineBlock};
use exr::block::writer::ChunksWriter;
use exr::block::{BlockIndex, UncompressedBlock};
use exr::compression::Compression;
use exr::math::Vec2;
use exr::meta::BlockDescription;
use exr::meta::attribute::{ChannelDescription, LineOrder, SampleType};
use exr::meta::header::{Header, LayerAttributes};
use half::f16;
use image::{ImageBuffer, ImageFormat, Rgb};
use tessera_core::{PixelLayout, RowSink, SinkFailed};

use crate::rle::RleCompressor;
use crate::streamed::StreamedFile;
use crate::{
    Depth, ExrCompression, ImageTarget, JPEG_QUALITY, OutputError, PixelHasher, encode_png_header,
    os_error_in, to_u8, to_u16,
};

/// What [`ImageTarget::encode_rows`] gives back: the pixel hash when asked
/// for, or why the file could not be written.
pub type Encoded = Result<Option<String>, OutputError>;

impl ImageTarget {
    /// Encodes a `width` x `height` image into `file` (a temporary file)
    /// from the rows `produce` gives the sink it is handed, top row first,
    /// then flushes and syncs the file. Returns what `produce` returned,
    /// and the image's [`pixel_hash`](crate::pixel_hash) if `hash`, or the
    /// error that stopped the encoding. The sink fails (and keeps failing)
    /// once the file cannot be written: a producer should stop then. An
    /// image given fewer rows than its height is not a valid file; the
    /// producer's own failure says why.
    pub fn encode_rows<R>(
        &self,
        file: &mut File,
        width: u32,
        height: u32,
        hash: bool,
        produce: impl FnOnce(&mut dyn RowSink) -> R,
    ) -> (R, Encoded) {
        let hasher = hash.then(|| PixelHasher::new(width, height));
        let mut writer = StreamedFile::new(&mut *file, true);
        let (produced, encoded) = match (self.format, self.depth) {
            (ImageFormat::Jpeg, _) => {
                let mut lines = JpegLines {
                    rgb: Vec::new(),
                    len: width as usize * height as usize * 3,
                };
                let (produced, encoded) = feed(self, &mut lines, width, height, hasher, produce);
                let encoded = encoded.and_then(|hash| {
                    let img = ImageBuffer::<Rgb<u8>, _>::from_raw(width, height, lines.rgb)
                        .expect("every row came");
                    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(
                        &mut writer,
                        JPEG_QUALITY,
                    );
                    img.write_with_encoder(encoder)
                        .map_err(|e| self.encode_error(e))?;
                    Ok(hash)
                });
                (produced, encoded)
            }
            (_, Depth::Half | Depth::Float32) => {
                self.encode_exr(&mut writer, width, height, hasher, produce)
            }
            (_, depth) => self.encode_png(&mut writer, width, height, depth, hasher, produce),
        };
        let encoded = match encoded {
            Ok(hash) => match writer.flush() {
                Ok(()) => {
                    drop(writer);
                    file.sync_all().map(|()| hash).map_err(|e| self.io_error(e))
                }
                Err(e) => Err(self.io_error(e)),
            },
            Err(error) => Err(error),
        };
        (produced, encoded)
    }

    /// PNG, 8 or 16 bits, RGBA: rows deflated into the file as they come.
    fn encode_png<R, W: Write>(
        &self,
        writer: &mut W,
        width: u32,
        height: u32,
        depth: Depth,
        hasher: Option<PixelHasher>,
        produce: impl FnOnce(&mut dyn RowSink) -> R,
    ) -> (R, Encoded) {
        let mut png = match encode_png_header(&mut *writer, width, height, depth, self.colorspace) {
            Ok(png) => png,
            Err(e) => return self.refused(width, height, produce, png_error(e)),
        };
        let stream = match png.stream_writer() {
            Ok(stream) => stream,
            Err(e) => return self.refused(width, height, produce, png_error(e)),
        };
        let (produced, encoded) = {
            let mut lines = PngLines {
                stream,
                depth,
                bytes: Vec::new(),
            };
            let (produced, encoded) = feed(self, &mut lines, width, height, hasher, produce);
            let encoded = match encoded {
                Ok(hash) => lines.stream.finish().map(|()| hash),
                Err(error) => return (produced, Err(error)),
            };
            (produced, encoded)
        };
        let encoded = encoded.and_then(|hash| png.finish().map(|()| hash));
        (
            produced,
            encoded.map_err(|e| self.encode_error(png_error(e))),
        )
    }

    /// OpenEXR, R, G, B and A as 32-bit floats or halves (the target's
    /// depth), in blocks of scan lines
    /// compressed as they come ([`ImageTarget::exr_compression`]), on
    /// exr's own threads.
    fn encode_exr<R, W: Write + Seek>(
        &self,
        writer: &mut W,
        width: u32,
        height: u32,
        hasher: Option<PixelHasher>,
        produce: impl FnOnce(&mut dyn RowSink) -> R,
    ) -> (R, Encoded) {
        let half = self.depth == Depth::Half;
        let sample_type = if half {
            SampleType::F16
        } else {
            SampleType::F32
        };
        // The channels sorted by name, as OpenEXR requires.
        let channels = ["A", "B", "G", "R"]
            .map(|name| ChannelDescription::named(name, sample_type))
            .into_iter()
            .collect();
        let compression = match self.exr_compression {
            ExrCompression::None => Compression::Uncompressed,
            ExrCompression::Rle => Compression::RLE,
            ExrCompression::Zip => Compression::ZIP16,
        };
        let header = Header::new("".into(), (width as usize, height as usize), channels)
            .with_encoding(
                compression,
                BlockDescription::ScanLines,
                LineOrder::Increasing,
            )
            .with_attributes(LayerAttributes::default());
        let mut outcome = None;
        let mut produce = Some(produce);
        let written = exr::block::write(writer, vec![header].into(), true, |meta, chunks| {
            let produce = produce.take().expect("exr calls this once");
            // RLE is compressed here (`rle`); exr compresses ZIP on threads
            // of its own (unless it cannot start them).
            let parallel = (self.parallel_encoding && compression != Compression::RLE)
                .then(|| chunks.parallel_blocks_compressor(&meta));
            let compressor = match parallel.flatten() {
                Some(parallel) => ExrCompressor::Parallel(parallel),
                None if compression == Compression::RLE => ExrCompressor::Rle {
                    chunks,
                    rle: RleCompressor::default(),
                },
                None => ExrCompressor::Sequential(chunks.sequential_blocks_compressor(&meta)),
            };
            let mut lines = ExrLines {
                compressor,
                half,
                width: width as usize,
                height: height as usize,
                lines_per_block: compression.scan_lines_per_block(),
                block: Vec::new(),
                first_line: 0,
                lines: 0,
            };
            let (produced, encoded) = feed(self, &mut lines, width, height, hasher, produce);
            let abort = encoded.is_err();
            outcome = Some((produced, encoded));
            // The error is the one kept; this only stops the writing.
            if abort {
                Err(exr::error::Error::Aborted)
            } else {
                Ok(())
            }
        });
        let Some((produced, encoded)) = outcome else {
            // The header itself could not be written: nothing was produced.
            let produce = produce.take().expect("not called");
            let error = written.expect_err("no closure call means a failed header");
            let (produced, _) = feed(self, &mut Refused, width, height, None, produce);
            return (produced, Err(self.exr_error(error)));
        };
        let encoded = encoded.and_then(|hash| {
            written.map_err(|e| self.exr_error(e))?;
            Ok(hash)
        });
        (produced, encoded)
    }

    /// What `produce` makes of a sink that refuses every row, and the
    /// encoder's `error`: the file could not be started.
    fn refused<R>(
        &self,
        width: u32,
        height: u32,
        produce: impl FnOnce(&mut dyn RowSink) -> R,
        error: image::ImageError,
    ) -> (R, Encoded) {
        let (produced, _) = feed(self, &mut Refused, width, height, None, produce);
        (produced, Err(self.encode_error(error)))
    }

    fn encode_error(&self, source: image::ImageError) -> OutputError {
        match os_error_in(&source) {
            // The disk, not the encoder, failed (full, or over a size limit).
            Some(code) => self.io_error(std::io::Error::from_raw_os_error(code)),
            None => OutputError::Encode {
                path: self.path.clone(),
                source,
            },
        }
    }

    fn exr_error(&self, error: exr::error::Error) -> OutputError {
        match error {
            exr::error::Error::Io(e) => self.io_error(e),
            other => self.encode_error(image::ImageError::Encoding(
                image::error::EncodingError::new(
                    image::error::ImageFormatHint::Exact(ImageFormat::OpenExr),
                    other,
                ),
            )),
        }
    }
}

fn png_error(e: png::EncodingError) -> image::ImageError {
    image::ImageError::Encoding(image::error::EncodingError::new(
        image::error::ImageFormatHint::Exact(ImageFormat::Png),
        e,
    ))
}

/// Runs `produce` with a sink that hands `lines` the rows of a `width` x
/// `height` image (hashed by `hasher` too); returns what it returned and
/// the hash, or the first error.
fn feed<R>(
    target: &ImageTarget,
    lines: &mut dyn Lines,
    width: u32,
    height: u32,
    hasher: Option<PixelHasher>,
    produce: impl FnOnce(&mut dyn RowSink) -> R,
) -> (R, Encoded) {
    let mut sink = RowEncoder {
        target,
        lines,
        width: width as usize,
        rows_left: height as usize,
        hasher,
        error: None,
    };
    let produced = produce(&mut sink);
    let encoded = match sink.error {
        Some(error) => Err(error),
        None if sink.rows_left > 0 => Err(OutputError::Unfinished {
            path: target.path.clone(),
            rows_missing: sink.rows_left,
        }),
        None => Ok(sink.hasher.map(PixelHasher::finish)),
    };
    (produced, encoded)
}

/// One format's encoder, given rows of pixels (`layout.channels()` floats
/// each, whole rows).
trait Lines {
    fn rows(&mut self, layout: PixelLayout, pixels: &[f32]) -> Result<(), LineError>;
}

/// Why a format's encoder could not take rows.
#[derive(Debug)]
enum LineError {
    Io(std::io::Error),
    Exr(exr::error::Error),
}

/// The sink a producer is given: checks the rows fit the image, hashes
/// them, hands them to the format, and keeps the first error.
struct RowEncoder<'l> {
    target: &'l ImageTarget,
    lines: &'l mut dyn Lines,
    width: usize,
    rows_left: usize,
    hasher: Option<PixelHasher>,
    error: Option<OutputError>,
}

impl RowSink for RowEncoder<'_> {
    fn rows(&mut self, layout: PixelLayout, pixels: &[f32]) -> Result<(), SinkFailed> {
        if self.error.is_some() {
            return Err(SinkFailed);
        }
        let row_floats = self.width * layout.channels();
        let rows = pixels.len().checked_div(row_floats).unwrap_or(0);
        if rows * row_floats != pixels.len() || rows > self.rows_left {
            self.error = Some(OutputError::RowsDoNotFit {
                path: self.target.path.clone(),
                floats: pixels.len(),
                row_floats,
                rows_left: self.rows_left,
            });
            return Err(SinkFailed);
        }
        self.rows_left -= rows;
        let lines = &mut *self.lines;
        let written = match &mut self.hasher {
            Some(hasher) => hashed_beside(hasher, layout, pixels, || lines.rows(layout, pixels)),
            None => lines.rows(layout, pixels),
        };
        written.map_err(|error| {
            self.error = Some(match error {
                LineError::Io(e) => self.target.io_error(e),
                LineError::Exr(e) => self.target.exr_error(e),
            });
            SinkFailed
        })
    }
}

/// Rows of at least this many floats are hashed on a thread of their own
/// while they are encoded: the hash is one stream as long as the image's
/// RGBA floats, about as much work as encoding them, and on the calling
/// thread the two in turn lag behind the render (the last bands wait).
const HASH_BESIDE_FLOATS: usize = 1 << 16;

/// Hashes `pixels` into `hasher` while `encode` runs, on a scoped thread
/// when there are enough of them and a thread can be started, else in
/// turn; returns what `encode` returned once both are done.
fn hashed_beside<T>(
    hasher: &mut PixelHasher,
    layout: PixelLayout,
    pixels: &[f32],
    encode: impl FnOnce() -> T,
) -> T {
    if pixels.len() < HASH_BESIDE_FLOATS {
        hasher.rows(layout, pixels);
        return encode();
    }
    std::thread::scope(|scope| {
        // The thread hashes into a copy of the state (under 33 KiB), so
        // that `hasher` is still here when no thread can be started.
        let mut state = hasher.clone();
        let beside = std::thread::Builder::new()
            .name("tessera-hash".into())
            .spawn_scoped(scope, move || {
                state.rows(layout, pixels);
                state
            });
        let encoded = encode();
        match beside {
            Ok(thread) => match thread.join() {
                Ok(state) => *hasher = state,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            // No thread to be had: hash here, after the encoding.
            Err(_) => hasher.rows(layout, pixels),
        }
        encoded
    })
}

/// A format that could not start: takes nothing.
struct Refused;

impl Lines for Refused {
    fn rows(&mut self, _: PixelLayout, _: &[f32]) -> Result<(), LineError> {
        Err(LineError::Io(std::io::Error::other(
            "the file was not started",
        )))
    }
}

/// 8- or 16-bit PNG rows, deflated into the file as they come.
struct PngLines<'p, W: Write> {
    stream: png::StreamWriter<'p, W>,
    depth: Depth,
    /// One row's samples, reused.
    bytes: Vec<u8>,
}

impl<W: Write> Lines for PngLines<'_, W> {
    fn rows(&mut self, layout: PixelLayout, pixels: &[f32]) -> Result<(), LineError> {
        self.bytes.clear();
        for pixel in pixels.chunks_exact(layout.channels()) {
            let rgba = layout.rgba(pixel);
            match self.depth {
                Depth::Sixteen => {
                    for v in rgba {
                        self.bytes.extend(to_u16(v).to_be_bytes());
                    }
                }
                _ => self.bytes.extend(rgba.map(to_u8)),
            }
        }
        self.stream.write_all(&self.bytes).map_err(LineError::Io)
    }
}

/// 8-bit RGB samples for JPEG, kept until the last row.
struct JpegLines {
    rgb: Vec<u8>,
    /// Bytes the whole image takes, asked for when the first rows come
    /// (after the render has checked that they fit).
    len: usize,
}

impl Lines for JpegLines {
    fn rows(&mut self, layout: PixelLayout, pixels: &[f32]) -> Result<(), LineError> {
        if self.rgb.capacity() < self.len {
            self.rgb.try_reserve_exact(self.len).map_err(|_| {
                LineError::Io(std::io::Error::new(
                    std::io::ErrorKind::OutOfMemory,
                    format!(
                        "out of memory: the JPEG's samples need {} MiB",
                        self.len >> 20
                    ),
                ))
            })?;
        }
        for pixel in pixels.chunks_exact(layout.channels()) {
            let [r, g, b, _] = layout.rgba(pixel);
            self.rgb.extend([to_u8(r), to_u8(g), to_u8(b)]);
        }
        Ok(())
    }
}

/// Who compresses blocks: exr here, exr on its threads, or [`rle`] here.
enum ExrCompressor<'w, C: ChunksWriter> {
    Sequential(exr::block::writer::SequentialBlocksCompressor<'w, C>),
    Parallel(exr::block::writer::ParallelBlocksCompressor<'w, C>),
    Rle {
        chunks: &'w mut C,
        rle: RleCompressor,
    },
}

/// OpenEXR scan lines, gathered into blocks of the compression's number of
/// lines, each block compressed and written once whole.
struct ExrLines<'w, C: ChunksWriter> {
    compressor: ExrCompressor<'w, C>,
    /// Samples as halves (16-bit floats), rounded to the nearest, ties to
    /// even, as OpenEXR's own `half` does; else as 32-bit floats.
    half: bool,
    width: usize,
    height: usize,
    lines_per_block: usize,
    /// The block being gathered: for each of its lines, each channel's
    /// samples in the header's order (A, B, G, R), native-endian as exr
    /// wants them.
    block: Vec<u8>,
    /// The image line of the block's first line, and the lines it has.
    first_line: usize,
    lines: usize,
}

impl<C: ChunksWriter> Lines for ExrLines<'_, C> {
    fn rows(&mut self, layout: PixelLayout, pixels: &[f32]) -> Result<(), LineError> {
        let channels = layout.channels();
        let sample_bytes = self.sample_bytes();
        for row in pixels.chunks_exact(self.width * channels) {
            let start = self.block.len();
            self.block.resize(start + self.width * 4 * sample_bytes, 0);
            let line = &mut self.block[start..];
            for (rgba, samples) in [3, 2, 1, 0]
                .into_iter()
                .zip(line.chunks_exact_mut(self.width * sample_bytes))
            {
                let values = match layout.source(rgba) {
                    Some(0) if channels == 1 => ChannelValues::Plane(row),
                    Some(kept) => ChannelValues::Interleaved {
                        row,
                        channels,
                        kept,
                    },
                    None => ChannelValues::Opaque,
                };
                if self.half {
                    values.write(samples.as_chunks_mut::<2>().0, |v| {
                        f16::from_f32(v).to_ne_bytes()
                    });
                } else {
                    values.write(samples.as_chunks_mut::<4>().0, f32::to_ne_bytes);
                }
            }
            self.lines += 1;
            let last = self.first_line + self.lines == self.height;
            if self.lines == self.lines_per_block || last {
                self.write_block()?;
            }
        }
        Ok(())
    }
}

/// One channel of a row of pixels, as a line of an OpenEXR block takes it.
enum ChannelValues<'a> {
    /// The row is this channel's values.
    Plane(&'a [f32]),
    /// Channel `kept` of each pixel of `channels` in the row.
    Interleaved {
        row: &'a [f32],
        channels: usize,
        kept: usize,
    },
    /// An alpha the pixels lack: 1.
    Opaque,
}

impl ChannelValues<'_> {
    /// The values, each made the bytes of a sample by `sample`.
    fn write<const N: usize>(&self, samples: &mut [[u8; N]], sample: impl Fn(f32) -> [u8; N]) {
        match *self {
            ChannelValues::Plane(row) => {
                for (bytes, &v) in samples.iter_mut().zip(row) {
                    *bytes = sample(v);
                }
            }
            ChannelValues::Interleaved {
                row,
                channels,
                kept,
            } => {
                for (bytes, pixel) in samples.iter_mut().zip(row.chunks_exact(channels)) {
                    *bytes = sample(pixel[kept]);
                }
            }
            ChannelValues::Opaque => samples.fill(sample(1.0)),
        }
    }
}

impl<C: ChunksWriter> ExrLines<'_, C> {
    fn sample_bytes(&self) -> usize {
        if self.half { 2 } else { 4 }
    }

    fn write_block(&mut self) -> Result<(), LineError> {
        let block = UncompressedBlock {
            index: BlockIndex {
                layer: 0,
                pixel_position: Vec2(0, self.first_line),
                pixel_size: Vec2(self.width, self.lines),
                level: Vec2(0, 0),
            },
            data: std::mem::take(&mut self.block),
        };
        let index = self.first_line / self.lines_per_block;
        let sample_bytes = self.sample_bytes();
        match &mut self.compressor {
            ExrCompressor::Sequential(compressor) => compressor.compress_block(index, block),
            ExrCompressor::Parallel(compressor) => {
                compressor.add_block_to_compression_queue(index, block)
            }
            ExrCompressor::Rle { chunks, rle } => {
                let mut compressed = Vec::new();
                rle.compress(&block.data, sample_bytes, &mut compressed);
                self.block = block.data;
                self.block.clear();
                let line = CompressedScanLineBlock {
                    y_coordinate: i32::try_from(self.first_line).expect("exr checked the height"),
                    compressed_pixels_le: compressed,
                };
                chunks.write_chunk(
                    index,
                    Chunk {
                        layer_index: 0,
                        compressed_block: CompressedBlock::ScanLine(line),
                    },
                )
            }
        }
        .map_err(LineError::Exr)?;
        self.first_line += self.lines;
        self.lines = 0;
        Ok(())
    }
}
