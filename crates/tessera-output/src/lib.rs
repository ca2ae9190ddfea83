//! Framebuffer output for Tessera: writing rendered images to disk and hashing
//! their pixel data.
//!
//! * [`ImageTarget::encode_rows`] encodes an image as PNG, JPEG or OpenEXR
//!   (chosen by the file extension) from its rows as a render finishes them,
//!   into a temporary file that [`ImageTarget::persist`] renames over the
//!   target: the target path either keeps its old content or receives the
//!   complete new file, never a truncated one.
//! * [`Framebuffer`] is an image in memory (its channels described by a
//!   [`PixelLayout`]), which [`write_image`] writes the same way.
//! * [`pixel_hash`] (and [`PixelHasher`], row by row) is the BLAKE3 hash of
//!   the pixel data printed after every render and used by the determinism
//!   tests.
//! * [`frame_path`] expands `{frame}` / `{frame:0N}` in output path templates.
//! * [`replace_file`] writes any file the same way, through its symbolic
//!   links.
//!
//! # Colour
//!
//! Framebuffer values are written as they are: the renderer has already
//! encoded them in the target's colour space ([`ImageTarget::colorspace`],
//! docs/colour.md). For 8- and 16-bit formats they are clamped to `[0, 1]`
//! and quantised linearly; a PNG gets the chunks that name its colour space.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use image::ImageFormat;
use tempfile::NamedTempFile;
use tessera_core::{ColorSpace, PixelLayout};

mod encode;
mod replace;
mod rle;
mod streamed;
pub use encode::Encoded;
use replace::{persist, target_dir, temporary_beside};
pub use replace::{replace_file, through_links};

/// An image in memory: `f32` channels of each pixel, RGBA to its users.
///
/// Pixels are stored row-major, top row first, `layout.channels()` floats
/// per pixel: the channels of RGBA that [`PixelLayout`] keeps (a render of
/// a float result keeps one), which [`Framebuffer::pixel`], the files
/// written and [`pixel_hash`] widen to R, G, B, A. Values are linear and
/// alpha is straight (not premultiplied) unless a caller documents
/// otherwise.
///
/// `pixels.len()` must equal `width * height * layout.channels()`;
/// [`write_image`] reports an error for a framebuffer that breaks this rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Framebuffer {
    pub width: u32,
    pub height: u32,
    pub layout: PixelLayout,
    pub pixels: Vec<f32>,
}

impl Framebuffer {
    /// A `width` x `height` RGBA framebuffer with every channel of every
    /// pixel set to 0.
    ///
    /// # Panics
    ///
    /// Panics if `width * height * 4` does not fit in `usize`.
    pub fn new(width: u32, height: u32) -> Self {
        let layout = PixelLayout::Rgba;
        let len = Self::expected_len(width, height, layout).unwrap_or_else(|| {
            panic!("framebuffer of {width}x{height} pixels is too large for this machine")
        });
        Self {
            width,
            height,
            layout,
            pixels: vec![0.0; len],
        }
    }

    /// Number of `f32` values a `width` x `height` framebuffer of `layout`
    /// holds, or `None` on overflow.
    pub fn expected_len(width: u32, height: u32, layout: PixelLayout) -> Option<usize> {
        (width as usize)
            .checked_mul(height as usize)?
            .checked_mul(layout.channels())
    }

    /// The RGBA value of pixel (`x`, `y`), `y = 0` being the top row.
    ///
    /// # Panics
    ///
    /// Panics if the coordinates are outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> [f32; 4] {
        let channels = self.layout.channels();
        let i = self.index(x, y) * channels;
        self.layout.rgba(&self.pixels[i..i + channels])
    }

    /// Sets the RGBA value of pixel (`x`, `y`), `y = 0` being the top row.
    ///
    /// # Panics
    ///
    /// Panics if the coordinates are outside the image, or the framebuffer
    /// does not keep all four channels.
    pub fn set_pixel(&mut self, x: u32, y: u32, rgba: [f32; 4]) {
        assert_eq!(
            self.layout,
            PixelLayout::Rgba,
            "set_pixel needs RGBA pixels"
        );
        let i = self.index(x, y) * 4;
        self.pixels[i..i + 4].copy_from_slice(&rgba);
    }

    /// Every pixel's RGBA, row-major, top row first.
    pub fn to_rgba(&self) -> Vec<f32> {
        let mut rgba = vec![0.0; self.pixels.len() / self.layout.channels() * 4];
        self.layout.widen(&self.pixels, &mut rgba);
        rgba
    }

    fn index(&self, x: u32, y: u32) -> usize {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x}, {y}) is outside the {}x{} framebuffer",
            self.width,
            self.height
        );
        y as usize * self.width as usize + x as usize
    }
}

/// Lowercase hexadecimal BLAKE3 hash (32 bytes) of a framebuffer.
///
/// The hashed bytes are the width and height as little-endian `u32`, followed by
/// every pixel's R, G, B, A `f32` as little-endian bytes (its exact bit
/// pattern, so `0.0` and `-0.0`, or two different NaNs, hash differently),
/// whichever channels the framebuffer keeps. The result is the same on
/// every platform.
pub fn pixel_hash(fb: &Framebuffer) -> String {
    let mut hasher = PixelHasher::new(fb.width, fb.height);
    hasher.rows(fb.layout, &fb.pixels);
    hasher.finish()
}

/// [`pixel_hash`] of an image given a few rows at a time.
#[derive(Clone)]
pub struct PixelHasher {
    hasher: blake3::Hasher,
    /// The bytes not yet hashed: BLAKE3 is given them a whole staging at a
    /// time, so that every piece it gets starts on one of its 1 KiB chunks.
    /// It hashes whole chunks side by side (16 at once with AVX-512); a
    /// piece starting inside one, as each would after the 8-byte header,
    /// goes a block at a time: 2.5 GB/s against 6.8 here, pieces of 32 KiB
    /// (docs/performance.md).
    staged: Vec<u8>,
}

/// The bytes [`PixelHasher`] gives BLAKE3 at a time: whole chunks of 1 KiB,
/// 32 of them, as many as AVX-512 hashes in two passes.
const STAGED_BYTES: usize = 32 * 1024;

impl PixelHasher {
    pub fn new(width: u32, height: u32) -> PixelHasher {
        // A pixel more than a staging, so that the last pixel to fill it
        // fits whole.
        let mut staged = Vec::with_capacity(STAGED_BYTES + 16);
        staged.extend_from_slice(&width.to_le_bytes());
        staged.extend_from_slice(&height.to_le_bytes());
        PixelHasher {
            hasher: blake3::Hasher::new(),
            staged,
        }
    }

    /// The next pixels, `layout.channels()` floats each.
    pub fn rows(&mut self, layout: PixelLayout, pixels: &[f32]) {
        // The layout chosen once, not per pixel.
        match layout {
            PixelLayout::Gray => self.widened::<1>(pixels, |&[v]| [v; 4]),
            PixelLayout::GrayAlpha => self.widened::<2>(pixels, |&[v, a]| [v, v, v, a]),
            PixelLayout::Rgb => self.widened::<3>(pixels, |&[r, g, b]| [r, g, b, 1.0]),
            PixelLayout::Rgba => self.widened::<4>(pixels, |&rgba| rgba),
        }
    }

    /// Stages pixels of `K` floats each as the RGBA `rgba` makes of them,
    /// hashing each staging as it fills.
    fn widened<const K: usize>(&mut self, pixels: &[f32], rgba: impl Fn(&[f32; K]) -> [f32; 4]) {
        let mut pixels = pixels.as_chunks::<K>().0;
        while !pixels.is_empty() {
            // Enough pixels to fill the staging, the last perhaps beyond it.
            let room = (STAGED_BYTES - self.staged.len()).div_ceil(16);
            let (now, later) = pixels.split_at(room.min(pixels.len()));
            let start = self.staged.len();
            self.staged.resize(start + now.len() * 16, 0);
            let into = self.staged[start..].as_chunks_mut::<16>().0;
            for (into, pixel) in into.iter_mut().zip(now) {
                for (into, v) in into.as_chunks_mut::<4>().0.iter_mut().zip(rgba(pixel)) {
                    *into = v.to_le_bytes();
                }
            }
            if self.staged.len() >= STAGED_BYTES {
                self.hasher.update(&self.staged[..STAGED_BYTES]);
                self.staged.copy_within(STAGED_BYTES.., 0);
                self.staged.truncate(self.staged.len() - STAGED_BYTES);
            }
            pixels = later;
        }
    }

    /// The hash, as lowercase hexadecimal.
    pub fn finish(mut self) -> String {
        self.hasher.update(&self.staged);
        self.hasher.finalize().to_hex().to_string()
    }
}

/// Bit depth of a written image, per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Depth {
    /// 8-bit unsigned integer per channel.
    Eight,
    /// 16-bit unsigned integer per channel.
    Sixteen,
    /// 16-bit IEEE float ("half") per channel: OpenEXR's `--depth 16`.
    Half,
    /// 32-bit IEEE float per channel.
    Float32,
}

impl Depth {
    /// Bits per channel: 8, 16 or 32.
    pub fn bits(self) -> u32 {
        match self {
            Depth::Eight => 8,
            Depth::Sixteen | Depth::Half => 16,
            Depth::Float32 => 32,
        }
    }

    /// Whether samples are stored as floats (unclamped, linear by default).
    pub fn is_float(self) -> bool {
        matches!(self, Depth::Half | Depth::Float32)
    }
}

impl fmt::Display for Depth {
    /// `8-bit`, `16-bit`, `16-bit half float` or `32-bit float`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Depth::Eight => "8-bit",
            Depth::Sixteen => "16-bit",
            Depth::Half => "16-bit half float",
            Depth::Float32 => "32-bit float",
        })
    }
}

/// Error parsing a [`Depth`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid depth '{0}': expected 8, 16, 32 or half")]
pub struct ParseDepthError(pub String);

impl FromStr for Depth {
    type Err = ParseDepthError;

    /// Accepts `8`, `16`, `32` (also `f32`, `float`) and `half` (also
    /// `f16`), as given to `--depth`. (An OpenEXR target takes 16 as half.)
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "8" => Ok(Depth::Eight),
            "16" => Ok(Depth::Sixteen),
            "half" | "f16" => Ok(Depth::Half),
            "32" | "f32" | "float" => Ok(Depth::Float32),
            _ => Err(ParseDepthError(s.to_string())),
        }
    }
}

/// Errors from [`write_image`]. Every message is a complete sentence naming
/// the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The file extension is missing or not one of [`supported_extensions`].
    #[error(
        "cannot write {}: {} (supported extensions: {})",
        path.display(),
        describe_ext(ext),
        supported_extensions().join(", ")
    )]
    UnsupportedFormat { path: PathBuf, ext: String },

    /// The requested depth cannot be stored in the chosen format.
    #[error(
        "cannot write {}: {format} cannot store {depth} images (it supports {})",
        path.display(),
        list_depths(supported)
    )]
    UnsupportedDepth {
        path: PathBuf,
        format: &'static str,
        depth: Depth,
        supported: &'static [Depth],
    },

    /// The directory that should contain the file does not exist.
    #[error(
        "cannot write {}: directory {} does not exist",
        path.display(),
        dir.display()
    )]
    DirectoryMissing { path: PathBuf, dir: PathBuf },

    /// The target path is an existing directory.
    #[error("cannot write {}: it is a directory, not a file", path.display())]
    TargetIsDirectory { path: PathBuf },

    /// The target is a file its owner made read-only: replacing it (which
    /// a rename would do) would override that.
    #[error("cannot write {}: it is read-only; not replaced (make it writable, or remove it)", path.display())]
    TargetIsReadOnly { path: PathBuf },

    /// The framebuffer's pixel vector does not match its dimensions.
    #[error(
        "cannot write {}: the {width}x{height} framebuffer holds {actual} values instead of {}",
        path.display(),
        expected.map_or_else(|| "a representable number".to_string(), |n| n.to_string())
    )]
    InvalidFramebuffer {
        path: PathBuf,
        width: u32,
        height: u32,
        expected: Option<usize>,
        actual: usize,
    },

    /// Creating, writing, syncing or renaming the file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An image could not be read back.
    #[error("cannot read {}: {source}", path.display())]
    Decode {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },

    /// The image encoder failed.
    #[error("cannot write {}: encoding the image failed: {source}", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },

    /// An EXR compression was asked for another format.
    #[error("cannot write {}: EXR compression ({compression}) is for .exr files only", path.display())]
    CompressionNotExr {
        path: PathBuf,
        compression: ExrCompression,
    },

    /// The rows given to [`ImageTarget::encode_rows`] ended before the
    /// image did (the render producing them stopped).
    #[error("cannot write {}: the image ended {rows_missing} rows short", path.display())]
    Unfinished { path: PathBuf, rows_missing: usize },

    /// Rows given to [`ImageTarget::encode_rows`] were not whole rows, or
    /// more than the image has left.
    #[error(
        "cannot write {}: {floats} floats are not whole rows of {row_floats} within the {rows_left} rows left",
        path.display()
    )]
    RowsDoNotFit {
        path: PathBuf,
        floats: usize,
        row_floats: usize,
        rows_left: usize,
    },
}

impl OutputError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            OutputError::UnsupportedFormat { path, .. }
            | OutputError::UnsupportedDepth { path, .. }
            | OutputError::DirectoryMissing { path, .. }
            | OutputError::TargetIsDirectory { path }
            | OutputError::TargetIsReadOnly { path }
            | OutputError::InvalidFramebuffer { path, .. }
            | OutputError::Io { path, .. }
            | OutputError::Decode { path, .. }
            | OutputError::Encode { path, .. }
            | OutputError::CompressionNotExr { path, .. }
            | OutputError::Unfinished { path, .. }
            | OutputError::RowsDoNotFit { path, .. } => path,
        }
    }
}

fn describe_ext(ext: &str) -> String {
    if ext.is_empty() {
        "the file name has no extension to choose an image format from".to_string()
    } else {
        format!("'.{ext}' is not a supported image format")
    }
}

fn list_depths(depths: &[Depth]) -> String {
    let names: Vec<String> = depths.iter().map(Depth::to_string).collect();
    match names.as_slice() {
        [] => "no depth".to_string(),
        [one] => format!("only {one}"),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// File extensions [`write_image`] accepts (lowercase, without the dot).
/// Matching is case-insensitive.
/// Reads an image back as an RGBA float framebuffer (EXR keeps every bit; 8- and
/// 16-bit files are divided down to 0..1), for comparing renders.
pub fn read_image(path: &Path) -> Result<Framebuffer, OutputError> {
    let image = image::open(path).map_err(|source| OutputError::Decode {
        path: path.to_path_buf(),
        source,
    })?;
    let image = image.into_rgba32f();
    Ok(Framebuffer {
        width: image.width(),
        height: image.height(),
        layout: PixelLayout::Rgba,
        pixels: image.into_raw(),
    })
}

pub fn supported_extensions() -> &'static [&'static str] {
    &["png", "jpg", "jpeg", "exr"]
}

/// What we know about writing one image format.
struct FormatSpec {
    format: ImageFormat,
    name: &'static str,
    depths: &'static [Depth],
    default_depth: Depth,
}

fn format_spec(format: ImageFormat) -> Option<FormatSpec> {
    if !format.writing_enabled() {
        return None;
    }
    Some(match format {
        ImageFormat::Png => FormatSpec {
            format,
            name: "PNG",
            depths: &[Depth::Eight, Depth::Sixteen],
            default_depth: Depth::Eight,
        },
        ImageFormat::Jpeg => FormatSpec {
            format,
            name: "JPEG",
            depths: &[Depth::Eight],
            default_depth: Depth::Eight,
        },
        ImageFormat::OpenExr => FormatSpec {
            format,
            name: "OpenEXR",
            depths: &[Depth::Half, Depth::Float32],
            default_depth: Depth::Float32,
        },
        _ => return None,
    })
}

/// How an OpenEXR file's blocks of scan lines are compressed. Lossless,
/// all of them; the pixels read back are the same bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExrCompression {
    /// Stored as they are: the fastest to write, the largest.
    None,
    /// Run-length encoded, a line at a time: fast, and small where areas
    /// are flat (masks, mattes, constants); noise does not shrink.
    #[default]
    Rle,
    /// Deflated, 16 lines at a time: OpenEXR's own default, the smallest
    /// of the three and the slowest.
    Zip,
}

impl ExrCompression {
    /// Every compression, by name, in the order of the help text.
    pub const NAMES: [(&'static str, ExrCompression); 3] = [
        ("none", ExrCompression::None),
        ("rle", ExrCompression::Rle),
        ("zip", ExrCompression::Zip),
    ];

    pub fn name(self) -> &'static str {
        (Self::NAMES.iter())
            .find(|(_, c)| *c == self)
            .map(|(name, _)| *name)
            .expect("every compression has a name")
    }
}

impl fmt::Display for ExrCompression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error parsing an [`ExrCompression`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown EXR compression '{0}': expected none, rle or zip")]
pub struct ParseExrCompressionError(pub String);

impl FromStr for ExrCompression {
    type Err = ParseExrCompressionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        (Self::NAMES.iter())
            .find(|(name, _)| name.eq_ignore_ascii_case(s.trim()))
            .map(|(_, c)| *c)
            .ok_or_else(|| ParseExrCompressionError(s.to_string()))
    }
}

/// Quality used for JPEG output (1-100).
pub const JPEG_QUALITY: u8 = 95;

/// Writes `fb` to `path`, atomically, and returns the depth actually written.
///
/// The format is chosen from the extension of `path` (case-insensitive, see
/// [`supported_extensions`]):
///
/// | format  | depths                    | channels                |
/// |---------|---------------------------|-------------------------|
/// | PNG     | 8 (default), 16           | RGBA                    |
/// | JPEG    | 8                         | RGB (alpha is dropped)  |
/// | OpenEXR | 32-bit float (always)     | RGBA                    |
///
/// `depth: None` picks the format's default. A depth the format cannot store
/// is an [`OutputError::UnsupportedDepth`].
///
/// Values are written as they are, in the target's default colour space
/// (whose PNG chunks are written): the caller has encoded them.
/// For integer formats each channel is mapped with `round(clamp(v, 0, 1) * max)`
/// (`max` = 255 or 65535), NaN becoming 0; EXR receives the floats bit for bit
/// (including values outside `[0, 1]`, infinities and NaNs). Alpha is stored
/// as in the framebuffer (straight, unless the caller premultiplied it).
///
/// # Atomicity
///
/// The image is encoded into a temporary file `.<file name>.<random>.tmp` in the
/// target's directory, flushed and synced to disk, then renamed over `path`.
/// If anything fails the temporary file is removed and a file already at
/// `path` is left untouched; a truncated file never appears at `path`. A
/// symbolic link at `path` is replaced by the new file rather than followed.
/// On Unix the new file gets the usual permissions of a newly created file
/// (`0o666` minus the umask).
pub fn write_image(
    fb: &Framebuffer,
    path: &Path,
    depth: Option<Depth>,
) -> Result<Depth, OutputError> {
    let target = ImageTarget::new(path, depth)?;
    target.write(fb)?;
    Ok(target.depth)
}

/// An image file to write, checked before anything is rendered: its format
/// and depth, and a folder to write it in. [`write_image`] in steps, so that
/// one process can own the temporary file and the rename while another
/// encodes into it (the supervised render).
#[derive(Debug, Clone)]
pub struct ImageTarget {
    /// As the user named it, for messages.
    path: PathBuf,
    /// Where the file is written: `path`, or from the folder given to
    /// [`ImageTarget::anchored_in`].
    location: PathBuf,
    format: ImageFormat,
    pub depth: Depth,
    /// The colour space the framebuffer's RGB is in, and the file says it
    /// is in (PNG's colour chunks): by default `srgb_texture` for 8- and
    /// 16-bit files, `lin_rec709` for float EXR.
    pub colorspace: ColorSpace,
    /// How an EXR's blocks are compressed (other formats have their own).
    pub exr_compression: ExrCompression,
    /// Whether an EXR's blocks may be compressed on threads of their own
    /// (exr's, one per core), or only on the thread given the rows (for a
    /// render asked to use one thread).
    pub parallel_encoding: bool,
}

impl ImageTarget {
    /// Checks the format (from the extension), the depth, and the
    /// destination (not a folder, in a folder that exists).
    pub fn new(path: &Path, depth: Option<Depth>) -> Result<ImageTarget, OutputError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ext_lower = ext.to_ascii_lowercase();
        let spec = supported_extensions()
            .contains(&ext_lower.as_str())
            .then(|| ImageFormat::from_extension(&ext_lower))
            .flatten()
            .and_then(format_spec)
            .ok_or_else(|| OutputError::UnsupportedFormat {
                path: path.to_path_buf(),
                ext: ext.clone(),
            })?;
        let depth = match (spec.format, depth.unwrap_or(spec.default_depth)) {
            // OpenEXR's 16 bits are a float's: it has no integer colour.
            (ImageFormat::OpenExr, Depth::Sixteen) => Depth::Half,
            (_, depth) => depth,
        };
        if !spec.depths.contains(&depth) {
            return Err(OutputError::UnsupportedDepth {
                path: path.to_path_buf(),
                format: spec.name,
                depth,
                supported: spec.depths,
            });
        }
        // `path.extension()` succeeded, so there is a file name; this only
        // guards against odd paths such as `foo.png/..`.
        if path.file_name().is_none() || path.is_dir() {
            return Err(OutputError::TargetIsDirectory {
                path: path.to_path_buf(),
            });
        }
        // Through its symbolic links: the file they lead to is what is
        // replaced, and its folder the one that must exist.
        let replaced = through_links(path).map_err(|source| OutputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if let Ok(existing) = std::fs::metadata(&replaced)
            && existing.is_file()
            && existing.permissions().readonly()
        {
            return Err(OutputError::TargetIsReadOnly {
                path: path.to_path_buf(),
            });
        }
        let dir = target_dir(&replaced);
        if !dir.is_dir() {
            return Err(OutputError::DirectoryMissing {
                path: path.to_path_buf(),
                dir: dir.to_path_buf(),
            });
        }
        let colorspace = match depth.is_float() {
            true => ColorSpace::LinRec709,
            false => ColorSpace::SrgbTexture,
        };
        Ok(ImageTarget {
            path: path.to_path_buf(),
            location: path.to_path_buf(),
            format: spec.format,
            depth,
            colorspace,
            exr_compression: ExrCompression::default(),
            parallel_encoding: true,
        })
    }

    /// The target with its RGB in `colorspace`, when given, instead of the
    /// format's default.
    pub fn with_colorspace(mut self, colorspace: Option<ColorSpace>) -> ImageTarget {
        self.colorspace = colorspace.unwrap_or(self.colorspace);
        self
    }

    /// The target with its EXR blocks compressed as `compression` says;
    /// an error for a format other than EXR.
    pub fn with_exr_compression(
        mut self,
        compression: ExrCompression,
    ) -> Result<ImageTarget, OutputError> {
        if self.format != ImageFormat::OpenExr {
            return Err(OutputError::CompressionNotExr {
                path: self.path,
                compression,
            });
        }
        self.exr_compression = compression;
        Ok(self)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The target written, if its path is relative, in `dir` rather than in
    /// whatever folder the process is in by then (a Python node may change
    /// it).
    pub fn anchored_in(mut self, dir: &Path) -> ImageTarget {
        self.location = dir.join(&self.path);
        self
    }

    /// Memory the encoder keeps for a `width` x `height` image: JPEG's
    /// 8-bit RGB samples (its encoder takes the whole image); PNG and EXR
    /// rows go to the file as they come (through 3 MiB of buffers, not
    /// counted).
    pub fn encoding_bytes(&self, width: u32, height: u32) -> u64 {
        let pixels = u64::from(width) * u64::from(height);
        match self.format {
            ImageFormat::Jpeg => pixels * 3,
            _ => 0,
        }
    }

    fn io_error(&self, source: std::io::Error) -> OutputError {
        OutputError::Io {
            path: self.path.clone(),
            source: replace::without_temp_path(source),
        }
    }

    /// A new temporary file beside the file the target replaces (through
    /// its symbolic links), deleted when dropped unless
    /// [`ImageTarget::persist`]ed.
    pub fn temporary(&self) -> Result<NamedTempFile, OutputError> {
        through_links(&self.location)
            .and_then(|location| temporary_beside(&location))
            .map_err(|e| self.io_error(e))
    }

    /// Encodes `fb` into `file` (a temporary file), flushed and synced.
    pub fn encode(&self, fb: &Framebuffer, file: &mut File) -> Result<(), OutputError> {
        let expected = Framebuffer::expected_len(fb.width, fb.height, fb.layout);
        if expected != Some(fb.pixels.len()) {
            return Err(OutputError::InvalidFramebuffer {
                path: self.path.clone(),
                width: fb.width,
                height: fb.height,
                expected,
                actual: fb.pixels.len(),
            });
        }
        let (_, encoded) = self.encode_rows(file, fb.width, fb.height, false, |sink| {
            // A failure is the sink's to report.
            let _ = sink.rows(fb.layout, &fb.pixels);
        });
        encoded.map(drop)
    }

    /// Writes `fb` to the target: encoded into a temporary file beside it,
    /// which is then renamed over it.
    pub fn write(&self, fb: &Framebuffer) -> Result<(), OutputError> {
        let mut temporary = self.temporary()?;
        self.encode(fb, temporary.as_file_mut())?;
        self.persist(temporary)
    }

    /// Renames the finished temporary file over the target.
    pub fn persist(&self, tmp: NamedTempFile) -> Result<(), OutputError> {
        through_links(&self.location)
            .and_then(|location| persist(tmp, &location))
            .map_err(|e| self.io_error(e))
    }
}

/// The OS error anywhere in an error's chain of sources. The PNG encoder
/// keeps only the text of an OS error ("File too large (os error 27)"), so
/// the code is also read back from that text.
fn os_error_in(error: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(code) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
        {
            return Some(code);
        }
        let text = e.to_string();
        if let Some(code) = text
            .strip_suffix(')')
            .and_then(|t| t.rsplit_once("(os error "))
            .and_then(|(_, code)| code.parse().ok())
        {
            return Some(code);
        }
        current = e.source();
    }
    None
}

/// `round(clamp(v, 0, 1) * max)` plus one half, to truncate: NaN gives 0.
///
/// `f32::round` is a libm call on baseline x86-64, once per channel. For a
/// non-negative `f32` p, `p + 0.5` is exact in `f64`, so truncating it rounds
/// half away from zero exactly as `round` does, and the loop vectorises.
/// (`as` turns NaN into 0; `f32::clamp` keeps NaN.)
#[inline]
fn quantize(v: f32, max: f32) -> f64 {
    f64::from(v.clamp(0.0, 1.0) * max) + 0.5
}

fn to_u8(v: f32) -> u8 {
    quantize(v, 255.0) as u8
}

fn to_u16(v: f32) -> u16 {
    quantize(v, 65535.0) as u16
}

/// Starts an RGBA PNG of `depth` (8 or 16 bits) whose header carries the
/// chunks that tell viewers its colour space: sRGB for `srgb_texture`;
/// gAMA and cHRM for the others (the gamma a decoder applies, the
/// primaries and white); none for `raw`, which is data.
fn encode_png_header<W: Write>(
    writer: W,
    width: u32,
    height: u32,
    depth: Depth,
    colorspace: ColorSpace,
) -> Result<png::Writer<W>, png::EncodingError> {
    let mut encoder = png::Encoder::new(writer, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(match depth {
        Depth::Sixteen => png::BitDepth::Sixteen,
        _ => png::BitDepth::Eight,
    });
    if colorspace == ColorSpace::SrgbTexture {
        encoder.set_source_srgb(png::SrgbRenderingIntent::Perceptual);
    } else if let Some((gamma, primaries)) = png_tags(colorspace) {
        encoder.set_source_gamma(gamma);
        encoder.set_source_chromaticities(primaries);
    }
    encoder.write_header()
}

/// A colour space's PNG gamma (the exponent that encoded its values) and
/// chromaticities (CIE xy of white, red, green, blue); None for `raw`.
fn png_tags(colorspace: ColorSpace) -> Option<(png::ScaledFloat, png::SourceChromaticities)> {
    const D65: [f64; 2] = [0.3127, 0.3290];
    let rec709 = chromaticities([D65, [0.64, 0.33], [0.30, 0.60], [0.15, 0.06]]);
    let ap1 = chromaticities([
        [0.32168, 0.33767],
        [0.713, 0.293],
        [0.165, 0.830],
        [0.128, 0.044],
    ]);
    let adobe = chromaticities([D65, [0.64, 0.33], [0.21, 0.71], [0.15, 0.06]]);
    let p3 = chromaticities([D65, [0.680, 0.320], [0.265, 0.690], [0.150, 0.060]]);
    let (gamma, primaries) = match colorspace {
        ColorSpace::Raw => return None,
        ColorSpace::LinRec709 => (1.0, rec709),
        ColorSpace::SrgbTexture | ColorSpace::G22Rec709 => (1.0 / 2.2, rec709),
        ColorSpace::G18Rec709 => (1.0 / 1.8, rec709),
        ColorSpace::Rec709Display => (1.0 / 2.4, rec709),
        ColorSpace::AcesCg => (1.0, ap1),
        ColorSpace::G22Ap1 => (1.0 / 2.2, ap1),
        ColorSpace::G18Ap1 => (1.0 / 1.8, ap1),
        ColorSpace::AdobeRgb => (256.0 / 563.0, adobe),
        ColorSpace::LinAdobeRgb => (1.0, adobe),
        ColorSpace::SrgbDisplayP3 => (1.0 / 2.2, p3),
        ColorSpace::LinDisplayP3 => (1.0, p3),
    };
    Some((png_scaled(gamma), primaries))
}

/// `value` in PNG's units of 1/100000, rounded to the nearest: the png
/// crate's own conversion truncates (1/2.2 would be 45454, and P3's green
/// x, 0.265 in f32, 26499).
fn png_scaled(value: f64) -> png::ScaledFloat {
    png::ScaledFloat::from_scaled((value * 100_000.0).round() as u32)
}

/// The white point and primaries `[white, red, green, blue]` (CIE xy).
fn chromaticities(xy: [[f64; 2]; 4]) -> png::SourceChromaticities {
    let [white, red, green, blue] = xy.map(|[x, y]| (png_scaled(x), png_scaled(y)));
    png::SourceChromaticities {
        white,
        red,
        green,
        blue,
    }
}

/// Error expanding an output path template with [`frame_path`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameTemplateError {
    /// A `{...}` placeholder other than `{frame}` or `{frame:0N}`.
    #[error(
        "output path '{template}' contains the unknown placeholder '{placeholder}'; \
         use {{frame}} or {{frame:0N}} (e.g. {{frame:04}}), and write {{{{ or }}}} for literal braces"
    )]
    UnknownPlaceholder {
        template: String,
        placeholder: String,
    },
    /// A `{` without a closing `}`.
    #[error(
        "output path '{template}' has an unclosed '{{' at byte {position}; write {{{{ for a literal brace"
    )]
    UnclosedBrace { template: String, position: usize },
    /// A `}` that closes nothing.
    #[error(
        "output path '{template}' has an unmatched '}}' at byte {position}; write }}}} for a literal brace"
    )]
    UnmatchedBrace { template: String, position: usize },
}

/// Largest padding width accepted by `{frame:0N}`.
const MAX_FRAME_WIDTH: usize = 64;

/// Expands the frame placeholders in an output path template.
///
/// * `{frame}` becomes the frame number (`7`, `-7`).
/// * `{frame:0N}` becomes the frame number zero-padded to at least `N`
///   characters, the sign included: `{frame:04}` gives `0007` for 7 and `-007`
///   for -7. `N` is at most 64.
/// * `{{` and `}}` are literal `{` and `}`.
///
/// Any other placeholder, or an unbalanced brace, is an error.
pub fn frame_path(template: &str, frame: i64) -> Result<String, FrameTemplateError> {
    let mut out = String::with_capacity(template.len() + 8);
    let mut rest = template;
    let mut offset = 0; // byte offset of `rest` in `template`
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let brace = rest.as_bytes()[i];
        let after = &rest[i + 1..];
        if after.as_bytes().first() == Some(&brace) {
            // `{{` or `}}`
            out.push(brace as char);
            rest = &after[1..];
            offset += i + 2;
            continue;
        }
        if brace == b'}' {
            return Err(FrameTemplateError::UnmatchedBrace {
                template: template.to_string(),
                position: offset + i,
            });
        }
        let Some(close) = after.find('}') else {
            return Err(FrameTemplateError::UnclosedBrace {
                template: template.to_string(),
                position: offset + i,
            });
        };
        let inner = &after[..close];
        let unknown = || FrameTemplateError::UnknownPlaceholder {
            template: template.to_string(),
            placeholder: format!("{{{inner}}}"),
        };
        if inner == "frame" {
            out.push_str(&frame.to_string());
        } else if let Some(spec) = inner.strip_prefix("frame:0") {
            if spec.is_empty() || !spec.bytes().all(|b| b.is_ascii_digit()) {
                return Err(unknown());
            }
            let width: usize = spec.parse().map_err(|_| unknown())?;
            if width > MAX_FRAME_WIDTH {
                return Err(unknown());
            }
            out.push_str(&format!("{frame:0width$}"));
        } else {
            return Err(unknown());
        }
        rest = &after[close + 1..];
        offset += i + 1 + close + 1;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::SinkFailed;

    /// 3x2 framebuffer with values that exercise clamping, rounding and NaN.
    fn sample() -> Framebuffer {
        let mut fb = Framebuffer::new(3, 2);
        fb.set_pixel(0, 0, [0.0, 1.0, 0.5, 1.0]);
        fb.set_pixel(1, 0, [0.25, 0.75, 0.1, 0.5]);
        fb.set_pixel(2, 0, [-1.0, 2.0, f32::NAN, 0.0]);
        fb.set_pixel(0, 1, [1.0 / 3.0, 2.0 / 3.0, 0.999, 0.001]);
        fb.set_pixel(1, 1, [f32::INFINITY, f32::NEG_INFINITY, 0.123_456, 1.0]);
        fb.set_pixel(2, 1, [0.501_960_8, 0.000_01, 0.999_99, 0.3]);
        fb
    }

    fn dir_entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn new_is_zeroed_rgba() {
        let fb = Framebuffer::new(3, 2);
        assert_eq!(fb.pixels.len(), 24);
        assert!(fb.pixels.iter().all(|&v| v.to_bits() == 0));
        let mut fb = fb;
        fb.set_pixel(2, 1, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(&fb.pixels[20..24], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(fb.pixel(2, 1), [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn quantisation() {
        assert_eq!(to_u8(0.0), 0);
        assert_eq!(to_u8(1.0), 255);
        assert_eq!(to_u8(0.5), 128); // 127.5 rounds away from zero
        assert_eq!(to_u8(-3.0), 0);
        assert_eq!(to_u8(7.0), 255);
        assert_eq!(to_u8(f32::NAN), 0);
        assert_eq!(to_u8(f32::INFINITY), 255);
        assert_eq!(to_u8(f32::NEG_INFINITY), 0);
        assert_eq!(to_u16(0.5), 32768);
        assert_eq!(to_u16(1.0), 65535);
        assert_eq!(to_u16(f32::NAN), 0);
        assert_eq!(to_u16(-0.1), 0);
    }

    #[test]
    fn png_8bit_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        let fb = sample();
        assert_eq!(write_image(&fb, &path, None).unwrap(), Depth::Eight);
        let img = image::open(&path).unwrap();
        assert!(
            matches!(img, image::DynamicImage::ImageRgba8(_)),
            "{:?}",
            img.color()
        );
        let img = img.into_rgba8();
        assert_eq!((img.width(), img.height()), (3, 2));
        let expected: Vec<u8> = fb.pixels.iter().map(|&v| to_u8(v)).collect();
        assert_eq!(img.as_raw(), &expected);
        // Spot-check the conversion by hand, top row first.
        assert_eq!(img.get_pixel(0, 0).0, [0, 255, 128, 255]);
        assert_eq!(img.get_pixel(1, 0).0, [64, 191, 26, 128]);
        assert_eq!(img.get_pixel(2, 0).0, [0, 255, 0, 0]);
        assert_eq!(img.get_pixel(1, 1).0, [255, 0, 31, 255]);
        assert_eq!(dir_entries(dir.path()), ["out.png"]);
    }

    #[test]
    fn a_file_replaced_keeps_its_permissions() {
        // It became 0644 (0666 less the umask): a private file world-readable.
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.png");
        for mode in [0o600, 0o640, 0o666] {
            std::fs::write(&path, b"old").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            write_image(&sample(), &path, None).unwrap();
            let written = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            assert_eq!(written, mode, "{mode:o}");
        }
        assert_eq!(dir_entries(dir.path()), ["private.png"]);
    }

    #[test]
    fn png_16bit_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out16.PNG"); // extension is case-insensitive
        let fb = sample();
        assert_eq!(
            write_image(&fb, &path, Some(Depth::Sixteen)).unwrap(),
            Depth::Sixteen
        );
        let img = image::open(&path).unwrap();
        let image::DynamicImage::ImageRgba16(img) = img else {
            panic!("expected a 16-bit RGBA PNG, got {:?}", img.color());
        };
        let expected: Vec<u16> = fb.pixels.iter().map(|&v| to_u16(v)).collect();
        assert_eq!(img.as_raw(), &expected);
        assert_eq!(img.get_pixel(0, 0).0, [0, 65535, 32768, 65535]);
        assert_eq!(img.get_pixel(1, 0).0, [16384, 49151, 6554, 32768]);
        // Values that 8 bits could not distinguish survive.
        assert_eq!(img.get_pixel(2, 1).0[1], 1); // 0.00001 * 65535 = 0.655 -> 1
        assert_eq!(dir_entries(dir.path()), ["out16.PNG"]);
    }

    #[test]
    fn every_exr_compression_reads_back_bit_exact_and_flat_images_shrink() {
        let dir = tempfile::tempdir().unwrap();
        // 37 rows: ZIP's blocks of 16 lines end with a short one.
        let mut noisy = Framebuffer::new(23, 37);
        for (i, v) in noisy.pixels.iter_mut().enumerate() {
            *v = f32::from_bits((i as u32).wrapping_mul(2_654_435_761) >> 2);
        }
        let flat = Framebuffer {
            layout: PixelLayout::Gray,
            pixels: vec![0.5; 23 * 37],
            ..noisy.clone()
        };
        let mut sizes = Vec::new();
        for (name, compression) in ExrCompression::NAMES {
            for (kind, fb) in [("noisy", &noisy), ("flat", &flat)] {
                let path = dir.path().join(format!("{kind}-{name}.exr"));
                let target = ImageTarget::new(&path, None)
                    .unwrap()
                    .with_exr_compression(compression)
                    .unwrap();
                target.write(fb).unwrap();
                let back = read_image(&path).unwrap();
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&back.pixels), bits(&fb.to_rgba()), "{kind} {name}");
                sizes.push((kind, name, std::fs::metadata(&path).unwrap().len()));
            }
        }
        let size = |kind, name| sizes.iter().find(|s| s.0 == kind && s.1 == name).unwrap().2;
        // (23-pixel lines: a line's block and offset cost what RLE saves.)
        assert!(
            size("flat", "rle") < size("flat", "none") * 2 / 3,
            "{sizes:?}"
        );
        assert!(size("flat", "zip") < size("flat", "none") / 10, "{sizes:?}");
        assert_eq!("ZIP".parse(), Ok(ExrCompression::Zip));
        assert_eq!(
            "lzw".parse::<ExrCompression>().unwrap_err().to_string(),
            "unknown EXR compression 'lzw': expected none, rle or zip"
        );
        let png = ImageTarget::new(&dir.path().join("a.png"), None).unwrap();
        assert_eq!(
            png.with_exr_compression(ExrCompression::Zip)
                .unwrap_err()
                .to_string(),
            format!(
                "cannot write {}: EXR compression (zip) is for .exr files only",
                dir.path().join("a.png").display()
            )
        );
    }

    #[test]
    fn exr_round_trip_is_bit_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.exr");
        let mut fb = sample();
        // No NaN/inf here: compare plain finite values including out-of-range,
        // negative zero, tiny and huge ones.
        fb.pixels = vec![
            0.0,
            -0.0,
            1.0,
            0.5, //
            -1.25,
            3.5e7,
            1.0e-30,
            0.1, //
            0.333_333_34,
            2.0,
            65504.0,
            0.999_999_94, //
            f32::MIN_POSITIVE,
            1.0e-40,
            -7.75,
            1.0, //
            0.123_456_79,
            100.0,
            0.2,
            0.0, //
            f32::MAX,
            -f32::MAX,
            42.0,
            0.75,
        ];
        assert_eq!(write_image(&fb, &path, None).unwrap(), Depth::Float32);
        let img = image::open(&path).unwrap();
        let image::DynamicImage::ImageRgba32F(img) = img else {
            panic!("expected RGBA f32, got {:?}", img.color());
        };
        assert_eq!((img.width(), img.height()), (3, 2));
        let got: Vec<u32> = img.as_raw().iter().map(|v| v.to_bits()).collect();
        let want: Vec<u32> = fb.pixels.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want);
        assert_eq!(dir_entries(dir.path()), ["out.exr"]);
    }

    #[test]
    fn jpeg_is_8bit_rgb() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jpg");
        let mut fb = Framebuffer::new(8, 8);
        for y in 0..8 {
            for x in 0..8 {
                fb.set_pixel(x, y, [0.5, 0.5, 0.5, 0.0]);
            }
        }
        assert_eq!(write_image(&fb, &path, None).unwrap(), Depth::Eight);
        let img = image::open(&path).unwrap();
        let image::DynamicImage::ImageRgb8(img) = img else {
            panic!("expected 8-bit RGB, got {:?}", img.color());
        };
        for p in img.pixels() {
            for c in p.0 {
                assert!(c.abs_diff(128) <= 2, "{c}");
            }
        }
        assert_eq!(dir_entries(dir.path()), ["out.jpg"]);
    }

    #[test]
    fn overwrites_existing_file_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        std::fs::write(&path, b"old content").unwrap();
        write_image(&sample(), &path, None).unwrap();
        assert!(image::open(&path).is_ok());
        assert_eq!(dir_entries(dir.path()), ["out.png"]);
    }

    #[cfg(unix)]
    #[test]
    fn new_file_gets_ordinary_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        write_image(&sample(), &path, None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // tempfile's default would be 0o600; we want what File::create gives
        // (0o666 minus the umask), whatever the umask is.
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        let plain_mode = std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, plain_mode, "{mode:o} vs {plain_mode:o}");
    }

    #[test]
    fn unsupported_depth_leaves_existing_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jpg");
        std::fs::write(&path, b"precious bytes").unwrap();
        let err = write_image(&sample(), &path, Some(Depth::Sixteen)).unwrap_err();
        assert!(
            matches!(
                err,
                OutputError::UnsupportedDepth {
                    format: "JPEG",
                    depth: Depth::Sixteen,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("out.jpg"), "{msg}");
        assert!(msg.contains("JPEG"), "{msg}");
        assert!(msg.contains("16-bit"), "{msg}");
        assert!(msg.contains("only 8-bit"), "{msg}");
        assert_eq!(std::fs::read(&path).unwrap(), b"precious bytes");
        assert_eq!(dir_entries(dir.path()), ["out.jpg"]);

        let png = dir.path().join("out.png");
        std::fs::write(&png, b"png bytes").unwrap();
        let err = write_image(&sample(), &png, Some(Depth::Float32)).unwrap_err();
        assert!(err.to_string().contains("8-bit and 16-bit"), "{err}");
        let exr = dir.path().join("out.exr");
        let err = write_image(&sample(), &exr, Some(Depth::Eight)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: OpenEXR cannot store 8-bit images (it supports 16-bit half float and 32-bit float)",
                exr.display()
            )
        );
        assert_eq!(std::fs::read(&png).unwrap(), b"png bytes");
        assert_eq!(dir_entries(dir.path()), ["out.jpg", "out.png"]);
    }

    #[test]
    fn encode_failure_leaves_existing_file_intact_and_no_temp_file() {
        // A zero-sized image passes every check before the temporary file is
        // created, then the PNG encoder rejects it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        std::fs::write(&path, b"precious bytes").unwrap();
        let err = write_image(&Framebuffer::new(0, 0), &path, None).unwrap_err();
        assert!(matches!(err, OutputError::Encode { .. }), "{err:?}");
        assert!(err.to_string().contains("out.png"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"precious bytes");
        assert_eq!(dir_entries(dir.path()), ["out.png"]);
    }

    #[test]
    fn invalid_framebuffer_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        let mut fb = sample();
        fb.pixels.pop();
        let err = write_image(&fb, &path, None).unwrap_err();
        assert!(
            matches!(
                err,
                OutputError::InvalidFramebuffer {
                    expected: Some(24),
                    actual: 23,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(dir_entries(dir.path()).is_empty());
    }

    #[test]
    fn missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no").join("such");
        let path = missing.join("out.png");
        let err = write_image(&sample(), &path, None).unwrap_err();
        match &err {
            OutputError::DirectoryMissing { dir: d, path: p } => {
                assert_eq!(d, &missing);
                assert_eq!(p, &path);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: directory {} does not exist",
                path.display(),
                missing.display()
            )
        );
        assert!(dir_entries(dir.path()).is_empty());
    }

    #[test]
    fn target_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("folder.png");
        std::fs::create_dir(&path).unwrap();
        let err = write_image(&sample(), &path, None).unwrap_err();
        assert!(
            matches!(err, OutputError::TargetIsDirectory { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("is a directory"), "{err}");
        assert!(path.is_dir());
        assert_eq!(dir_entries(dir.path()), ["folder.png"]);
    }

    #[test]
    fn unsupported_extension_lists_supported_ones() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["out.bmp", "out.txt", "out", "out.apng"] {
            let path = dir.path().join(name);
            let err = write_image(&sample(), &path, None).unwrap_err();
            assert!(
                matches!(err, OutputError::UnsupportedFormat { .. }),
                "{name}: {err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains(name), "{msg}");
            assert!(msg.contains("png, jpg, jpeg, exr"), "{msg}");
        }
        assert!(dir_entries(dir.path()).is_empty());
        let msg = write_image(&sample(), &dir.path().join("x.tga"), None)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("'.tga' is not a supported image format"),
            "{msg}"
        );
    }

    #[test]
    fn every_supported_extension_writes() {
        let dir = tempfile::tempdir().unwrap();
        for ext in supported_extensions() {
            let path = dir.path().join(format!("img.{}", ext.to_uppercase()));
            write_image(&sample(), &path, None).unwrap();
            image::open(&path).unwrap();
        }
        assert_eq!(dir_entries(dir.path()).len(), supported_extensions().len());
    }

    #[test]
    fn quantizing_rounds_exactly_as_f32_round() {
        let rounded = |v: f32, max: f32| {
            if v.is_nan() {
                0.0
            } else {
                (v.clamp(0.0, 1.0) * max).round()
            }
        };
        // The results can only differ next to the halfway points, so check
        // 64 floats either side of each of them, and the edge cases.
        let mut values = vec![f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        values.extend([-1.0, -0.0, 0.0, f32::MIN_POSITIVE, 1.0, 2.0, f32::MAX]);
        for max in [255.0f32, 65535.0] {
            for k in 0..max as u32 {
                let mut v = (k as f32 + 0.5) / max;
                (0..64).for_each(|_| v = v.next_down());
                for _ in 0..128 {
                    values.push(v);
                    v = v.next_up();
                }
            }
        }
        for v in values {
            assert_eq!(f32::from(to_u8(v)), rounded(v, 255.0), "to_u8({v:e})");
            assert_eq!(f32::from(to_u16(v)), rounded(v, 65535.0), "to_u16({v:e})");
        }
    }

    #[test]
    fn pixel_hash_is_sensitive_to_bits_and_dimensions() {
        let fb = sample();
        let h = pixel_hash(&fb);
        assert_eq!(h.len(), 64);
        assert!(
            h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(h, pixel_hash(&fb.clone()), "deterministic");

        // Flip the lowest mantissa bit of one float.
        let mut one_bit = fb.clone();
        one_bit.pixels[5] = f32::from_bits(one_bit.pixels[5].to_bits() ^ 1);
        assert_ne!(h, pixel_hash(&one_bit));

        // Sign of zero.
        let mut zero = Framebuffer::new(1, 1);
        let hz = pixel_hash(&zero);
        zero.pixels[3] = -0.0;
        assert_ne!(hz, pixel_hash(&zero));

        // Same data, different dimensions.
        let transposed = Framebuffer {
            width: 2,
            height: 3,
            ..fb.clone()
        };
        assert_ne!(h, pixel_hash(&transposed));
        let flat = Framebuffer {
            width: 6,
            height: 1,
            ..fb.clone()
        };
        assert_ne!(h, pixel_hash(&flat));
    }

    #[test]
    fn pixel_hash_known_value() {
        // Recompute independently: header then every float, all little-endian.
        let fb = sample();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&2u32.to_le_bytes());
        for v in &fb.pixels {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(pixel_hash(&fb), blake3::hash(&bytes).to_hex().as_str());

        // Empty 0x0 framebuffer: BLAKE3 of eight zero bytes (as Python's
        // `blake3.blake3(bytes(8)).hexdigest()` gives it).
        assert_eq!(
            pixel_hash(&Framebuffer::new(0, 0)),
            "71e0a99173564931c0b8acc52d2685a8e39c64dc52e3d02390fdac2a12b155cb"
        );

        // More floats than one internal buffer holds.
        let big = Framebuffer::new(60, 60);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&60u32.to_le_bytes());
        bytes.extend_from_slice(&60u32.to_le_bytes());
        bytes.resize(8 + 60 * 60 * 16, 0);
        assert_eq!(pixel_hash(&big), blake3::hash(&bytes).to_hex().as_str());
    }

    #[test]
    fn a_hash_given_pixels_in_pieces_of_any_size_is_the_hash_of_the_whole() {
        // 5,000 pixels: over two stagings, in pieces that end inside one, on
        // its last pixel, and past it.
        let mut fb = Framebuffer::new(100, 50);
        for (i, v) in fb.pixels.iter_mut().enumerate() {
            *v = (i as f32 * 0.11).cos();
        }
        let whole = pixel_hash(&fb);
        let mut bytes = [100u32.to_le_bytes(), 50u32.to_le_bytes()].concat();
        for v in &fb.pixels {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(whole, blake3::hash(&bytes).to_hex().as_str());
        for pieces in [vec![1, 2046, 1, 2952], vec![2047, 2048, 905], vec![3, 4997]] {
            let mut hasher = PixelHasher::new(100, 50);
            let mut rest = fb.pixels.as_slice();
            for pixels in pieces {
                let (now, later) = rest.split_at(pixels * 4);
                hasher.rows(PixelLayout::Rgba, now);
                rest = later;
            }
            assert!(rest.is_empty());
            assert_eq!(hasher.finish(), whole);
        }
    }

    /// `fb` kept in `layout`'s channels only (it must hold such pixels).
    fn narrowed(fb: &Framebuffer, layout: PixelLayout) -> Framebuffer {
        let pixels = (fb.pixels.chunks_exact(4))
            .flat_map(|rgba| layout.kept().iter().map(|&c| rgba[c]))
            .collect();
        let narrow = Framebuffer {
            layout,
            pixels,
            ..fb.clone()
        };
        assert_eq!(
            narrow.to_rgba(),
            fb.pixels,
            "{layout:?} cannot keep these pixels"
        );
        narrow
    }

    /// A 5 x 3 image of each layout's kind of pixels, as RGBA.
    fn of_layout(layout: PixelLayout) -> Framebuffer {
        let mut fb = Framebuffer::new(5, 3);
        for (i, pixel) in fb.pixels.chunks_exact_mut(4).enumerate() {
            let v = i as f32 / 7.0 - 0.5;
            let kept = [v, v * 0.5 + 0.25, 1.25 - v, v * v];
            let keep: Vec<f32> = (0..layout.channels()).map(|k| kept[k]).collect();
            pixel.copy_from_slice(&layout.rgba(&keep));
        }
        fb
    }

    const LAYOUTS: [PixelLayout; 4] = [
        PixelLayout::Gray,
        PixelLayout::GrayAlpha,
        PixelLayout::Rgb,
        PixelLayout::Rgba,
    ];

    #[test]
    fn fewer_channels_hash_and_write_as_their_rgba() {
        let dir = tempfile::tempdir().unwrap();
        for layout in LAYOUTS {
            let rgba = of_layout(layout);
            let narrow = narrowed(&rgba, layout);
            assert_eq!(pixel_hash(&narrow), pixel_hash(&rgba), "{layout:?}");
            for (name, depth) in [
                ("a.png", Some(Depth::Eight)),
                ("b.png", Some(Depth::Sixteen)),
                ("c.exr", None),
                ("d.jpg", None),
            ] {
                let (wide_path, narrow_path) = (
                    dir.path().join(name),
                    dir.path().join("n").with_extension(name),
                );
                write_image(&rgba, &wide_path, depth).unwrap();
                write_image(&narrow, &narrow_path, depth).unwrap();
                assert_eq!(
                    std::fs::read(&wide_path).unwrap(),
                    std::fs::read(&narrow_path).unwrap(),
                    "{layout:?} {name}"
                );
            }
        }
    }

    #[test]
    fn rows_given_in_parts_make_the_file_and_hash_of_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let fb = narrowed(&of_layout(PixelLayout::GrayAlpha), PixelLayout::GrayAlpha);
        for name in ["a.png", "b.exr", "c.jpg"] {
            let whole = dir.path().join(name);
            write_image(&fb, &whole, None).unwrap();
            let target = ImageTarget::new(&dir.path().join(format!("parts-{name}")), None).unwrap();
            let mut file = target.temporary().unwrap();
            let row = 5 * 2;
            let (rows_taken, encoded) =
                target.encode_rows(file.as_file_mut(), 5, 3, true, |sink| {
                    let first = sink.rows(PixelLayout::GrayAlpha, &fb.pixels[..row]);
                    let rest = sink.rows(PixelLayout::GrayAlpha, &fb.pixels[row..]);
                    (first, rest)
                });
            assert_eq!(rows_taken, (Ok(()), Ok(())));
            assert_eq!(encoded.unwrap(), Some(pixel_hash(&fb)), "{name}");
            target.persist(file).unwrap();
            assert_eq!(
                std::fs::read(&whole).unwrap(),
                std::fs::read(target.path()).unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn large_bands_hashed_beside_their_encoding_give_the_hash_of_the_whole() {
        // Two bands of 256 x 64 RGBA pixels: 65,536 floats each, enough to
        // be hashed on a thread of their own.
        let mut fb = Framebuffer::new(256, 128);
        for (i, v) in fb.pixels.iter_mut().enumerate() {
            *v = (i as f32 * 0.37).sin();
        }
        let dir = tempfile::tempdir().unwrap();
        let target = ImageTarget::new(&dir.path().join("large.exr"), None).unwrap();
        let mut file = target.temporary().unwrap();
        let (rows_taken, encoded) =
            target.encode_rows(file.as_file_mut(), 256, 128, true, |sink| {
                let (top, bottom) = fb.pixels.split_at(fb.pixels.len() / 2);
                (
                    sink.rows(PixelLayout::Rgba, top),
                    sink.rows(PixelLayout::Rgba, bottom),
                )
            });
        assert_eq!(rows_taken, (Ok(()), Ok(())));
        assert_eq!(encoded.unwrap(), Some(pixel_hash(&fb)));
        target.persist(file).unwrap();
        assert_eq!(read_image(target.path()).unwrap().pixels, fb.pixels);
    }

    #[test]
    fn rows_that_do_not_fit_or_do_not_finish_the_image_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.png", "b.exr", "c.jpg"] {
            let target = ImageTarget::new(&dir.path().join(name), None).unwrap();
            let mut file = target.temporary().unwrap();
            let (taken, encoded) = target.encode_rows(file.as_file_mut(), 4, 2, false, |sink| {
                sink.rows(PixelLayout::Gray, &[0.5; 4])
            });
            assert_eq!(taken, Ok(()));
            let error = encoded.unwrap_err();
            assert!(
                matches!(
                    error,
                    OutputError::Unfinished {
                        rows_missing: 1,
                        ..
                    }
                ),
                "{name}: {error}"
            );
            assert_eq!(
                error.to_string(),
                format!(
                    "cannot write {}: the image ended 1 rows short",
                    target.path().display()
                )
            );

            let mut file = target.temporary().unwrap();
            let (taken, encoded) = target.encode_rows(file.as_file_mut(), 4, 2, false, |sink| {
                [
                    sink.rows(PixelLayout::Rgb, &[0.5; 15]),
                    sink.rows(PixelLayout::Rgb, &[0.5; 12]),
                ]
            });
            // A failed sink refuses what comes after.
            assert_eq!(taken, [Err(SinkFailed), Err(SinkFailed)]);
            let error = encoded.unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "cannot write {}: 15 floats are not whole rows of 12 within the 2 rows left",
                    target.path().display()
                )
            );
        }
    }

    #[test]
    fn depth_parse_and_display() {
        assert_eq!("8".parse::<Depth>(), Ok(Depth::Eight));
        assert_eq!("16".parse::<Depth>(), Ok(Depth::Sixteen));
        assert_eq!("32".parse::<Depth>(), Ok(Depth::Float32));
        assert_eq!("F32".parse::<Depth>(), Ok(Depth::Float32));
        assert!("12".parse::<Depth>().is_err());
        assert_eq!(Depth::Sixteen.to_string(), "16-bit");
        assert_eq!(Depth::Float32.bits(), 32);
    }

    #[test]
    fn frame_path_expands() {
        assert_eq!(frame_path("out.png", 3).unwrap(), "out.png");
        assert_eq!(frame_path("out_{frame}.png", 7).unwrap(), "out_7.png");
        assert_eq!(frame_path("out_{frame}.png", -7).unwrap(), "out_-7.png");
        assert_eq!(frame_path("out_{frame:04}.png", 7).unwrap(), "out_0007.png");
        assert_eq!(
            frame_path("out_{frame:04}.png", -7).unwrap(),
            "out_-007.png"
        );
        assert_eq!(frame_path("{frame:04}", 12345).unwrap(), "12345");
        assert_eq!(frame_path("{frame:00}", 5).unwrap(), "5");
        assert_eq!(frame_path("{frame:010}", 42).unwrap(), "0000000042");
        assert_eq!(frame_path("{frame:02}", 0).unwrap(), "00");
        assert_eq!(
            frame_path("{frame}", i64::MIN).unwrap(),
            "-9223372036854775808"
        );
        assert_eq!(
            frame_path("a/{frame}/b_{frame:03}.exr", 9).unwrap(),
            "a/9/b_009.exr"
        );
        assert_eq!(frame_path("{{frame}}_{frame}", 1).unwrap(), "{frame}_1");
        assert_eq!(frame_path("{{}}", 1).unwrap(), "{}");
        assert_eq!(frame_path("x{{{frame}}}y", 2).unwrap(), "x{2}y");
        assert_eq!(frame_path("ünï{frame}çødé", 2).unwrap(), "ünï2çødé");
        assert_eq!(frame_path("", 2).unwrap(), "");
    }

    #[test]
    fn frame_path_errors() {
        let unknown = |t: &str| match frame_path(t, 1) {
            Err(FrameTemplateError::UnknownPlaceholder { placeholder, .. }) => placeholder,
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(unknown("out_{frames}.png"), "{frames}");
        assert_eq!(unknown("{}"), "{}");
        assert_eq!(unknown("{frame:4}"), "{frame:4}");
        assert_eq!(unknown("{frame:0}"), "{frame:0}");
        assert_eq!(unknown("{frame:0x}"), "{frame:0x}");
        assert_eq!(unknown("{frame:0-4}"), "{frame:0-4}");
        assert_eq!(unknown("{frame:065}"), "{frame:065}");
        assert_eq!(
            unknown("{frame:099999999999999999999999}"),
            "{frame:099999999999999999999999}"
        );
        assert_eq!(unknown("{FRAME}"), "{FRAME}");
        assert_eq!(unknown("{ frame }"), "{ frame }");
        assert_eq!(unknown("{frame}{x{y}"), "{x{y}");

        let err = frame_path("out_{frame.png", 1).unwrap_err();
        assert_eq!(
            err,
            FrameTemplateError::UnclosedBrace {
                template: "out_{frame.png".into(),
                position: 4
            }
        );
        let err = frame_path("{{a}}b}", 1).unwrap_err();
        assert_eq!(
            err,
            FrameTemplateError::UnmatchedBrace {
                template: "{{a}}b}".into(),
                position: 6
            }
        );
        let msg = frame_path("render_{shot}.png", 1).unwrap_err().to_string();
        assert!(msg.contains("'{shot}'"), "{msg}");
        assert!(msg.contains("{frame:04}"), "{msg}");
        assert!(msg.contains("render_{shot}.png"), "{msg}");
    }

    /// The big-endian numbers of chunk `name` in `png`.
    fn chunk_numbers(png: &[u8], name: &[u8; 4]) -> Vec<u32> {
        let mut at = 8;
        while at + 8 <= png.len() {
            let length = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let data = &png[at + 8..at + 8 + length];
            if &png[at + 4..at + 8] == name {
                return (data.chunks(4))
                    .map(|n| u32::from_be_bytes(n.try_into().unwrap()))
                    .collect();
            }
            at += 12 + length;
        }
        panic!("no {} chunk", String::from_utf8_lossy(name));
    }

    #[test]
    fn png_gamma_and_chromaticities_are_rounded_to_the_nearest_hundred_thousandth() {
        let header = |colorspace| {
            let mut png = Vec::new();
            encode_png_header(&mut png, 1, 1, Depth::Eight, colorspace).unwrap();
            png
        };
        let g22 = header(ColorSpace::G22Rec709);
        // 1/2.2 = 0.454545...: 45455, not the truncated 45454.
        assert_eq!(chunk_numbers(&g22, b"gAMA"), [45455]);
        assert_eq!(
            chunk_numbers(&header(ColorSpace::G18Rec709), b"gAMA"),
            [55556]
        );
        assert_eq!(
            chunk_numbers(&header(ColorSpace::AdobeRgb), b"gAMA"),
            [45471]
        );
        // White, red, green, blue; P3's green x is 0.265 (0.26499 truncated).
        assert_eq!(
            chunk_numbers(&header(ColorSpace::LinDisplayP3), b"cHRM"),
            [31270, 32900, 68000, 32000, 26500, 69000, 15000, 6000]
        );
        assert_eq!(
            chunk_numbers(&header(ColorSpace::AcesCg), b"cHRM"),
            [32168, 33767, 71300, 29300, 16500, 83000, 12800, 4400]
        );
    }
}
