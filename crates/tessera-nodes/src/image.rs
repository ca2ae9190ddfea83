//! `image` (MaterialX): samples an image file.

use crate::kind::{Choices, kind};
use ::image::ImageDecoder;
use glam::{Vec2, Vec3, Vec4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_core::{
    Buffer, BuildArgs, BuildError, ColorSpace, InputSpec, Node, NodeError, NodeKind, NodeSpec,
    OutputSpec, SocketType, TileCtx, Value, ValueType,
};

const ADDRESS_MODES: Choices<AddressMode> = Choices(&[
    ("constant", AddressMode::Constant),
    ("clamp", AddressMode::Clamp),
    ("periodic", AddressMode::Periodic),
    ("mirror", AddressMode::Mirror),
]);

const FILTERS: Choices<Filter> =
    Choices(&[("closest", Filter::Closest), ("linear", Filter::Linear)]);

/// A decoded image: RGBA floats, row 0 at the top.
#[derive(Debug)]
pub(crate) struct Texture {
    width: usize,
    height: usize,
    /// `width * height` RGBA texels, rows top to bottom.
    texels: Vec<f32>,
}

/// The most memory one texture may take as float RGBA (1 GiB: 8192 x 8192).
const MAX_TEXTURE_BYTES: u64 = 1 << 30;

impl Texture {
    /// Loads `path`: 8- and 16-bit values are divided to 0..1, float images
    /// (EXR) are kept as they are, then RGB is converted from `colorspace`
    /// (None: `srgb_texture` for 8- and 16-bit files, `lin_rec709` for
    /// float ones) to the working space, once, here.
    fn load(path: &Path, colorspace: Option<ColorSpace>) -> Result<Texture, String> {
        let shown = tessera_core::display_path(path);
        let metadata =
            std::fs::metadata(path).map_err(|e| format!("cannot read image {shown}: {e}"))?;
        if metadata.is_dir() {
            return Err(format!("cannot read image {shown}: it is a directory"));
        }
        // Opening a FIFO would wait for a writer; a device could be endless.
        if !metadata.is_file() {
            return Err(format!(
                "cannot read image {shown}: it is not a regular file (a FIFO, socket or device)"
            ));
        }
        let mut reader = ::image::ImageReader::open(path)
            .and_then(|reader| reader.with_guessed_format())
            .map_err(|e| format!("cannot read image {shown}: {e}"))?;
        // Too large is an error to report, not an allocation that aborts:
        // the decoder works under a limit, and the float RGBA copy of the
        // texture is checked from the header before it is made.
        let mut limits = ::image::Limits::default();
        limits.max_alloc = Some(MAX_TEXTURE_BYTES);
        reader.limits(limits);
        let undecodable = |e: ::image::ImageError| format!("cannot decode image {shown}: {e}");
        let decoder = reader.into_decoder().map_err(undecodable)?;
        let (width, height) = decoder.dimensions();
        let needed = u64::from(width) * u64::from(height) * 16;
        if needed > MAX_TEXTURE_BYTES {
            return Err(format!(
                "image {shown} is {width} x {height}: as float RGBA it needs {} MiB, more than the {} MiB a texture may take",
                needed >> 20,
                MAX_TEXTURE_BYTES >> 20
            ));
        }
        let decoded = ::image::DynamicImage::from_decoder(decoder).map_err(undecodable)?;
        // EXR and Radiance HDR decode to floats.
        let is_float = matches!(
            decoded,
            ::image::DynamicImage::ImageRgb32F(_) | ::image::DynamicImage::ImageRgba32F(_)
        );
        let colorspace = colorspace.unwrap_or(match is_float {
            true => ColorSpace::LinRec709,
            false => ColorSpace::SrgbTexture,
        });
        let decoded = decoded.into_rgba32f();
        let (width, height) = (decoded.width() as usize, decoded.height() as usize);
        if width == 0 || height == 0 {
            return Err(format!("image {shown} has no pixels"));
        }
        let mut texels = decoded.into_raw();
        if !colorspace.is_working_space() {
            for texel in texels.as_chunks_mut::<4>().0 {
                let [r, g, b] = colorspace.decode([texel[0], texel[1], texel[2]]);
                texel[..3].copy_from_slice(&[r, g, b]);
            }
        }
        Ok(Texture {
            width,
            height,
            texels,
        })
    }

    #[inline]
    fn texel(&self, x: usize, y: usize) -> Vec4 {
        let i = 4 * (y * self.width + x);
        Vec4::from_slice(&self.texels[i..i + 4])
    }
}

/// What happens to texture coordinates outside 0..1 (MaterialX's
/// `uaddressmode` and `vaddressmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddressMode {
    /// Outside 0..1 the `default` colour; texels beyond the edge read as
    /// `default` too (a border), so bilinear filtering fades to it at the edge.
    Constant,
    Clamp,
    Periodic,
    Mirror,
}

impl AddressMode {
    /// The texel index `i` maps to on an axis of `n` texels; `None` for the
    /// border of constant mode.
    #[inline]
    fn texel_index(self, i: i64, n: usize) -> Option<usize> {
        let n = n as i64;
        let index = match self {
            AddressMode::Constant => {
                if (0..n).contains(&i) {
                    i
                } else {
                    return None;
                }
            }
            AddressMode::Clamp => i.clamp(0, n - 1),
            AddressMode::Periodic => i.rem_euclid(n),
            AddressMode::Mirror => {
                let m = i.rem_euclid(2 * n);
                if m >= n { 2 * n - 1 - m } else { m }
            }
        };
        Some(index as usize)
    }

    /// Whether a coordinate (0..1 over the image) is outside the image in
    /// constant mode, where the sample is then `default`.
    #[inline]
    fn is_outside(self, t: f32) -> bool {
        self == AddressMode::Constant && !(0.0..=1.0).contains(&t)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Filter {
    Closest,
    Linear,
}

/// A shared decoded texture and how to sample it.
pub(crate) struct Sampler {
    texture: Arc<Texture>,
    u_mode: AddressMode,
    v_mode: AddressMode,
    filter: Filter,
}

/// The image node: its file and how it samples it.
struct ImageNode {
    /// The file, as the scene names it (relative to the scene's folder).
    path: PathBuf,
    sampler: Sampler,
}

/// The integer part of a texel coordinate, saturating (NaN gives 0; the
/// fraction computed beside it is NaN then, so the sample is NaN).
#[inline]
fn floor_index(t: f32) -> i64 {
    t.floor() as i64
}

impl Sampler {
    /// The texture repeating both ways, filtered linearly: how MaterialX's
    /// nodes without address modes (hextiledimage) sample.
    pub(crate) fn periodic_linear(texture: Arc<Texture>) -> Sampler {
        Sampler {
            texture,
            u_mode: AddressMode::Periodic,
            v_mode: AddressMode::Periodic,
            filter: Filter::Linear,
        }
    }

    /// The texture repeating across and mirrored at the poles, filtered
    /// linearly: how MaterialX's latlongimage samples.
    pub(crate) fn latlong(texture: Arc<Texture>) -> Sampler {
        Sampler {
            texture,
            u_mode: AddressMode::Periodic,
            v_mode: AddressMode::Mirror,
            filter: Filter::Linear,
        }
    }

    #[inline]
    fn fetch(&self, x: i64, y: i64, default: Vec4) -> Vec4 {
        let tex = &self.texture;
        match (
            self.u_mode.texel_index(x, tex.width),
            self.v_mode.texel_index(y, tex.height),
        ) {
            (Some(x), Some(y)) => tex.texel(x, y),
            _ => default,
        }
    }

    /// The colour at texture coordinate `uv` (v = 0 at the bottom row).
    pub(crate) fn sample(&self, uv: Vec2, default: Vec4) -> Vec4 {
        if self.u_mode.is_outside(uv.x) || self.v_mode.is_outside(uv.y) {
            return default;
        }
        self.filter(uv.x, 1.0 - uv.y, default)
    }

    /// The colour at `st`, t running down from the top row (OpenGL's
    /// texture coordinates of an image loaded top row first, which
    /// MaterialX's GLSL computes in; no round trip through v = 1 - t).
    pub(crate) fn sample_top_down(&self, st: Vec2, default: Vec4) -> Vec4 {
        if self.u_mode.is_outside(st.x) || self.v_mode.is_outside(st.y) {
            return default;
        }
        self.filter(st.x, st.y, default)
    }

    /// The filtered colour at `s` across and `t` down (0..1 over the
    /// image).
    fn filter(&self, s: f32, t: f32, default: Vec4) -> Vec4 {
        let tex = &self.texture;
        // Continuous texel coordinates, texel centres at whole numbers,
        // y downwards from the top row.
        let fx = snap_to_centre(s * tex.width as f32 - 0.5, tex.width);
        let fy = snap_to_centre(t * tex.height as f32 - 0.5, tex.height);
        match self.filter {
            Filter::Closest => self.fetch(floor_index(fx + 0.5), floor_index(fy + 0.5), default),
            Filter::Linear => {
                let (x0, y0) = (floor_index(fx), floor_index(fy));
                let (x1, y1) = (x0.saturating_add(1), y0.saturating_add(1));
                let (tx, ty) = (fx - fx.floor(), fy - fy.floor());
                let top = self
                    .fetch(x0, y0, default)
                    .lerp(self.fetch(x1, y0, default), tx);
                let bottom = self
                    .fetch(x0, y1, default)
                    .lerp(self.fetch(x1, y1, default), tx);
                top.lerp(bottom, ty)
            }
        }
    }
}

/// `texel` (a continuous texel coordinate along a side of `size` texels)
/// made the texel centre it is within float error of: a pixel centre mapped
/// to 0..1 and back (`(x + 0.5) / W`, flipped for v) misses its texel's
/// centre by up to a few units in the last place of `size`, and a texture
/// rendered at its own size (a side not a power of two) took a
/// hundred-thousandth of its neighbours.
fn snap_to_centre(texel: f32, size: usize) -> f32 {
    let centre = texel.round();
    if (texel - centre).abs() <= size as f32 * f32::EPSILON * 2.0 {
        centre
    } else {
        texel
    }
}

impl ImageNode {
    /// Samples into an output of `N` channels (MaterialX's image of type
    /// float, vector2, color3 or vector3 reads the texel's first `N`): the
    /// default is taken as RGBA, its missing channels 0 and alpha 1.
    fn sample_into<const N: usize>(&self, default: &Buffer, texcoord: &Buffer, out: &mut Buffer) {
        let sampled = (default.samples::<N>().zip(texcoord.samples::<2>())).map(|(d, t)| {
            let mut rgba = [0.0, 0.0, 0.0, 1.0];
            rgba[..N].copy_from_slice(&d);
            let texel = (self.sampler)
                .sample(Vec2::from_array(t), Vec4::from_array(rgba))
                .to_array();
            std::array::from_fn::<f32, N, _>(|c| texel[c])
        });
        out.write_samples(sampled);
    }
}

impl Node for ImageNode {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [default, texcoord] = [inputs[0], inputs[1]];
        let out = &mut outputs[0];
        if default.len() != out.len() || texcoord.len() != out.len() {
            return Err(NodeError::new("image: input buffers differ in length"));
        }
        match out.channels() {
            1 => self.sample_into::<1>(default, texcoord, out),
            2 => self.sample_into::<2>(default, texcoord, out),
            3 => self.sample_into::<3>(default, texcoord, out),
            _ => self.sample_into::<4>(default, texcoord, out),
        }
        Ok(())
    }

    fn files_read(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}

/// MaterialX's `latlongimage`, its graph's (NG_latlongimage) operations in
/// their order: the view direction's longitude (atan2(x, z), a turn to
/// 0..1, the rotation in degrees added as turns) and latitude (asin(y) to
/// 0..1) sampled from an equirectangular image.
struct LatLongImage {
    path: PathBuf,
    sampler: Sampler,
}

/// The texture coordinate of view direction `[x, y, z]` turned by
/// `rotation` degrees, with the graph's constants as it writes them (-1 /
/// 2pi, 1 / pi, 1 / 360 to eight digits: not Rust's, whose last bits
/// differ).
#[allow(clippy::approx_constant, clippy::excessive_precision)]
fn latlong_uv([x, y, z]: [f32; 3], rotation: f32) -> Vec2 {
    let longitude = x.atan2(z) * -0.159_154_94 + 0.5;
    let latitude = y.asin() * 0.318_309_89 + 0.5;
    Vec2::new(rotation * 0.002_777_78 + longitude, latitude)
}

impl Node for LatLongImage {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [default, viewdir, rotation] = [inputs[0], inputs[1], inputs[2]];
        let out = &mut outputs[0];
        if [default, viewdir, rotation]
            .iter()
            .any(|b| b.len() != out.len())
        {
            return Err(NodeError::new(
                "latlongimage: input buffers differ in length",
            ));
        }
        let sampled = (default.samples::<3>().zip(viewdir.samples::<3>()))
            .zip(rotation.plane(0))
            .map(|((d, direction), &rotation)| {
                let default = Vec4::new(d[0], d[1], d[2], 1.0);
                let texel = self
                    .sampler
                    .sample(latlong_uv(direction, rotation), default);
                [texel.x, texel.y, texel.z]
            });
        out.write_samples(sampled);
        Ok(())
    }

    fn files_read(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}

/// MaterialX's `latlongimage`.
pub fn latlongimage() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "latlongimage",
        "an equirectangular (latitude-longitude) environment image seen along viewdir, \
         turned by rotation degrees about the vertical (MaterialX's latlongimage)",
    )
    .input(file_input())
    .input(InputSpec::fixed(
        "default",
        ValueType::Color3,
        Value::Color3(Vec3::ZERO),
        "the colour where the image gives none",
    ))
    .input(InputSpec::fixed(
        "viewdir",
        ValueType::Vector3,
        Value::Vector3(Vec3::Z),
        "the direction looked along (y up; +z the image's centre)",
    ))
    .input(InputSpec::fixed(
        "rotation",
        ValueType::Float,
        Value::Float(0.0),
        "the environment's turn about y, in degrees",
    ))
    .input(colorspace_input())
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Color3),
        "the environment's colour",
    ));
    kind(spec, |args| {
        let (path, texture) = load_file(args)?;
        Ok(Box::new(LatLongImage {
            path,
            sampler: Sampler::latlong(texture),
        }))
    })
}

/// The texture a node's `file` and `colorspace` inputs name, and its path.
pub(crate) fn load_file(args: &BuildArgs) -> Result<(PathBuf, Arc<Texture>), BuildError> {
    let file = args.string("file");
    if file.is_empty() {
        return Err(BuildError::at_input("file", "no image file given"));
    }
    let path = args.base_dir.join(file);
    // The compiler checked the name against the input's choices.
    let colorspace = ColorSpace::parse(args.string("colorspace"));
    let texture = Texture::load(&path, colorspace)
        .map_err(|message| BuildError::at_input("file", message))?;
    Ok((path, Arc::new(texture)))
}

fn build_image(args: &BuildArgs) -> Result<Box<dyn Node>, BuildError> {
    let (path, texture) = load_file(args)?;
    let sampler = Sampler {
        texture,
        u_mode: ADDRESS_MODES.pick(args, "uaddressmode")?,
        v_mode: ADDRESS_MODES.pick(args, "vaddressmode")?,
        filter: FILTERS.pick(args, "filtertype")?,
    };
    Ok(Box::new(ImageNode { path, sampler }))
}

/// The `file` input of a node that reads an image.
pub(crate) fn file_input() -> InputSpec {
    InputSpec::fixed(
        "file",
        ValueType::String,
        Value::String(String::new()),
        "the image file, relative to the scene file's directory: PNG or JPEG (8 or 16 bits, \
         divided to 0..1), OpenEXR or Radiance HDR (as stored)",
    )
}

/// The `colorspace` input of a node that reads an image: empty (by the
/// file's type) or a space's name.
pub(crate) fn colorspace_input() -> InputSpec {
    let choices: Vec<&str> = std::iter::once("").chain(ColorSpace::names()).collect();
    InputSpec::fixed(
        "colorspace",
        ValueType::String,
        Value::String(String::new()),
        "the colour space of the file's RGB, by MaterialX's names (docs/colour.md); empty: \
         srgb_texture for PNG and JPEG, lin_rec709 for EXR and HDR; raw for data (heights, \
         masks, normals)",
    )
    .choices(&choices)
}

/// MaterialX's `image`.
pub fn image() -> Arc<dyn NodeKind> {
    let address = |name: &str, axis: &str| {
        ADDRESS_MODES.input(
            name,
            "periodic",
            &format!(
                "what {axis} outside 0..1 reads: constant (the default colour), clamp (the edge \
                 texel), periodic (the image repeats) or mirror (it repeats mirrored)"
            ),
        )
    };
    let spec = NodeSpec::new(
        "image",
        "samples an image file (MaterialX): PNG or JPEG (8 or 16 bits, divided to 0..1), \
         OpenEXR or Radiance HDR (as stored), its colour converted from `colorspace` to the \
         working space (linear Rec.709) once, on load. v = 0 is the image's bottom row; linear \
         filtering blends the four nearest texel centres, each addressed by the address modes, \
         closest takes the nearest texel; the texture's full resolution is sampled (no mip \
         maps)",
    )
    .input(file_input())
    .generic_over(&[
        ValueType::Color4,
        ValueType::Color3,
        ValueType::Float,
        ValueType::Vector2,
        ValueType::Vector3,
        ValueType::Vector4,
    ])
    .input(InputSpec::generic(
        "default",
        0.0,
        "the value outside 0..1 in constant address mode (and beyond the image's edge texels)",
    ))
    .input(colorspace_input())
    .input(InputSpec::texcoord())
    .input(address("uaddressmode", "u"))
    .input(address("vaddressmode", "v"))
    .input(FILTERS.input(
        "filtertype",
        "linear",
        "closest (nearest texel) or linear (bilinear)",
    ))
    .output(OutputSpec::new(
        "out",
        SocketType::Generic,
        "the sampled texel: its first channels for a type narrower than color4 (r for float, rgb for color3)",
    ));
    kind(spec, build_image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, eval_node, frame};
    use tessera_core::Rect;

    /// The test texture: 16 x 16, red = x * 17, green = row * 17 (row 0 at
    /// the top), blue = 255 on a checker of 4 x 4 blocks, alpha 255.
    const TEXTURE: &str = "../../scenes/nodes/textures/grid16.png";

    fn expected_texel(x: usize, row: usize) -> [f32; 4] {
        let blue = if (x / 4 + row / 4).is_multiple_of(2) {
            255.0
        } else {
            0.0
        };
        [
            (x * 17) as f32 / 255.0,
            (row * 17) as f32 / 255.0,
            blue / 255.0,
            1.0,
        ]
    }

    const DEFAULT: [f32; 4] = [0.25, 0.5, 0.75, 0.125];

    /// Samples the test texture at each of `uvs`.
    fn sample(uvs: &[[f32; 2]], u_mode: &str, v_mode: &str, filter: &str) -> Vec<[f32; 4]> {
        let n = uvs.len() as u32;
        let frame = frame(n, 1);
        let texcoord: Vec<f32> = uvs.iter().flatten().copied().collect();
        let out = eval_node(
            &image(),
            Some(ValueType::Color4),
            &[
                ("file", Value::String(TEXTURE.into())),
                // The texels as stored: the tests below are about sampling.
                ("colorspace", Value::String("raw".into())),
                ("uaddressmode", Value::String(u_mode.into())),
                ("vaddressmode", Value::String(v_mode.into())),
                ("filtertype", Value::String(filter.into())),
            ],
            &frame,
            Rect::new(0, 0, n, 1),
            &[
                Buffer::filled(&DEFAULT, n as usize),
                Buffer::from_interleaved(2, &texcoord),
            ],
        )
        .expect("image evaluates");
        out[0].samples::<4>().collect()
    }

    /// The texture coordinate of the centre of texel (x, row).
    fn centre(x: usize, row: usize) -> [f32; 2] {
        [(x as f32 + 0.5) / 16.0, 1.0 - (row as f32 + 0.5) / 16.0]
    }

    #[test]
    fn latlong_coordinates_put_the_view_ahead_at_the_centre_and_up_at_the_top() {
        let close = |a: Vec2, b: [f32; 2]| (a - Vec2::from(b)).abs().max_element() < 1e-6;
        assert!(close(latlong_uv([0.0, 0.0, 1.0], 0.0), [0.5, 0.5]));
        // A quarter turn to the right is a quarter of the image to the left.
        assert!(close(latlong_uv([1.0, 0.0, 0.0], 0.0), [0.25, 0.5]));
        assert!(close(latlong_uv([1.0, 0.0, 0.0], 90.0), [0.5, 0.5]));
        assert!(close(latlong_uv([0.0, 1.0, 0.0], 0.0), [0.5, 1.0]));
        assert!(close(latlong_uv([0.0, -1.0, 0.0], 0.0), [0.5, 0.0]));
    }

    #[test]
    fn an_8_bit_texture_is_decoded_from_srgb_unless_told_otherwise() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TEXTURE);
        let stored = (11 * 17) as f32 / 255.0;
        let red = |colorspace| Texture::load(&path, colorspace).unwrap().texel(11, 0).x;
        let decoded = ColorSpace::SrgbTexture.decode([stored; 3])[0];
        assert_eq!(red(None), decoded);
        assert!((decoded - 0.496_933).abs() < 1e-5, "{decoded}");
        assert_eq!(red(Some(ColorSpace::Raw)), stored);
        assert_eq!(red(Some(ColorSpace::LinRec709)), stored);
        // Alpha is never converted.
        assert_eq!(Texture::load(&path, None).unwrap().texel(11, 0).w, 1.0);
    }

    fn build_error(file: &str) -> BuildError {
        let kind = image();
        let uniforms: Vec<(String, Value)> = kind
            .spec()
            .inputs
            .iter()
            .filter(|i| !i.is_varying())
            .map(|i| {
                let value = if i.name == "file" {
                    Value::String(file.into())
                } else {
                    i.default.clone()
                };
                (i.name.clone(), value)
            })
            .collect();
        let args = BuildArgs {
            node_id: "test",
            generic: None,
            uniforms: &uniforms,
            base_dir: Path::new(env!("CARGO_MANIFEST_DIR")),
        };
        match kind.build(&args) {
            Ok(_) => panic!("{file:?} built"),
            Err(e) => e,
        }
    }

    #[test]
    fn texel_centres_give_exact_texel_values() {
        for filter in ["linear", "closest"] {
            for (x, row) in [(0, 0), (1, 0), (15, 0), (0, 15), (7, 9), (15, 15)] {
                let out = sample(&[centre(x, row)], "periodic", "periodic", filter);
                assert_eq!(
                    out[0],
                    expected_texel(x, row),
                    "{filter} texel ({x}, {row})"
                );
            }
        }
    }

    #[test]
    fn a_pixel_centre_lands_on_its_texel_centre_at_any_size() {
        // As the texcoord of pixel (x, y) of a W x H image is computed, and
        // as `sample` flips v: sides that are not powers of two missed by
        // up to 2.6e-5 of a texel's neighbour before the snap.
        for size in [3usize, 7, 23, 37, 60, 100, 300, 1000, 4097] {
            for i in 0..size {
                let u = (i as f32 + 0.5) / size as f32;
                let v = 1.0 - (i as f32 + 0.5) / size as f32;
                let s = snap_to_centre(u * size as f32 - 0.5, size);
                let t = snap_to_centre((1.0 - v) * size as f32 - 0.5, size);
                assert_eq!((s, t), (i as f32, i as f32), "texel {i} of {size}");
            }
        }
        // Between centres, coordinates are left as they are.
        assert_eq!(snap_to_centre(2.25, 16), 2.25);
        assert_eq!(snap_to_centre(2.001, 16), 2.001);
    }

    #[test]
    fn v_zero_is_the_bottom_row() {
        // Just inside the bottom-left corner: the last row, first column.
        let out = sample(&[[0.01, 0.01]], "clamp", "clamp", "closest");
        assert_eq!(out[0], expected_texel(0, 15));
        let out = sample(&[[0.99, 0.99]], "clamp", "clamp", "closest");
        assert_eq!(out[0], expected_texel(15, 0));
    }

    #[test]
    fn linear_blends_midway_between_texels() {
        // Half way between the centres of texels (0, 0) and (1, 0).
        let out = sample(
            &[[1.0 / 16.0, centre(0, 0)[1]]],
            "periodic",
            "periodic",
            "linear",
        );
        assert_close(&out[0], &[8.5 / 255.0, 0.0, 1.0, 1.0]);
        // Half way between rows 2 and 3, and a quarter of the way from column
        // 3 to column 4 (where blue changes from 1 to 0): texel (3.25, 2.5).
        let uv = [3.75 / 16.0, 1.0 - 3.0 / 16.0];
        let out = sample(&[uv], "periodic", "periodic", "linear");
        assert_close(
            &out[0],
            &[3.25 * 17.0 / 255.0, 2.5 * 17.0 / 255.0, 0.75, 1.0],
        );
        // Closest picks the nearer texel instead.
        let out = sample(&[uv], "periodic", "periodic", "closest");
        assert_eq!(out[0], expected_texel(3, 3));
    }

    #[test]
    fn address_modes_outside_the_image() {
        let v = centre(0, 0)[1];
        let red = |x0: f32, x1: f32| (x0 + x1) * 17.0 / 2.0 / 255.0;
        // u = -0.25 is texel x = -4.5: between texels -5 and -4.
        // u = 1.25 is texel x = 19.5: between texels 19 and 20.
        let uvs = [[-0.25, v], [1.25, v]];
        let periodic = sample(&uvs, "periodic", "periodic", "linear");
        assert_close(&periodic[0][..2], &[red(11.0, 12.0), 0.0]);
        assert_close(&periodic[1][..2], &[red(3.0, 4.0), 0.0]);
        let mirror = sample(&uvs, "mirror", "periodic", "linear");
        assert_close(&mirror[0][..2], &[red(4.0, 3.0), 0.0]);
        assert_close(&mirror[1][..2], &[red(12.0, 11.0), 0.0]);
        let clamp = sample(&uvs, "clamp", "periodic", "linear");
        assert_eq!(clamp[0], expected_texel(0, 0));
        assert_eq!(clamp[1], expected_texel(15, 0));
        let constant = sample(&uvs, "constant", "periodic", "linear");
        assert_eq!(constant, [DEFAULT, DEFAULT]);
        // Closest filtering addresses the same way.
        let closest = sample(&uvs, "periodic", "periodic", "closest");
        assert_eq!(closest[0], expected_texel(12, 0));
        assert_eq!(closest[1], expected_texel(4, 0));
        let closest = sample(&uvs, "mirror", "periodic", "closest");
        assert_eq!(closest[0], expected_texel(3, 0));
        assert_eq!(closest[1], expected_texel(11, 0));
        // And v: above the top clamps to row 0, below the bottom to row 15.
        let u = centre(5, 0)[0];
        let out = sample(&[[u, 1.25], [u, -0.25]], "periodic", "clamp", "linear");
        assert_eq!(out, [expected_texel(5, 0), expected_texel(5, 15)]);
        let out = sample(&[[u, 1.25], [u, -0.25]], "periodic", "constant", "linear");
        assert_eq!(out, [DEFAULT, DEFAULT]);
    }

    #[test]
    fn constant_mode_fades_to_default_beyond_the_edge_texel() {
        // u = 0: half way between the border (texel -1) and texel 0.
        let v = centre(0, 0)[1];
        let out = sample(&[[0.0, v]], "constant", "periodic", "linear");
        let t = expected_texel(0, 0);
        let mid: Vec<f32> = (0..4).map(|c| (DEFAULT[c] + t[c]) / 2.0).collect();
        assert_close(&out[0], &mid);
    }

    #[test]
    fn odd_coordinates_do_not_panic() {
        let uvs = [
            [f32::NAN, 0.5],
            [0.5, f32::INFINITY],
            [f32::NEG_INFINITY, 0.5],
            [1e30, -1e30],
            [f32::MAX, f32::MIN],
        ];
        for mode in ADDRESS_MODES.names() {
            for filter in ["closest", "linear"] {
                let out = sample(&uvs, mode, mode, filter);
                assert_eq!(out.len(), uvs.len());
                if mode == "constant" {
                    assert!(
                        out.iter().all(|c| *c == DEFAULT),
                        "{mode} {filter}: {out:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn unreadable_files_are_errors_at_the_file_input() {
        let missing = build_error("no/such/image.png");
        assert_eq!(missing.input.as_deref(), Some("file"));
        assert!(
            missing.message.contains("no/such/image.png"),
            "{}",
            missing.message
        );
        assert!(missing.message.contains("os error"), "{}", missing.message);

        let directory = build_error("src");
        assert_eq!(directory.input.as_deref(), Some("file"));
        assert!(
            directory.message.contains("directory"),
            "{}",
            directory.message
        );

        let not_an_image = build_error("Cargo.toml");
        assert_eq!(not_an_image.input.as_deref(), Some("file"));
        assert!(
            not_an_image.message.contains("Cargo.toml"),
            "{}",
            not_an_image.message
        );

        let empty = build_error("");
        assert_eq!(empty.input.as_deref(), Some("file"));
    }

    #[test]
    fn the_node_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ImageNode>();
    }

    #[test]
    fn a_narrower_type_reads_the_first_channels_of_the_texel() {
        let (x, row) = (5, 9);
        let uv = [(x as f32 + 0.5) / 16.0, 1.0 - (row as f32 + 0.5) / 16.0];
        let texel = expected_texel(x, row);
        for (ty, channels) in [
            (ValueType::Float, 1),
            (ValueType::Vector2, 2),
            (ValueType::Color3, 3),
        ] {
            let out = eval_node(
                &image(),
                Some(ty),
                &[
                    ("file", Value::String(TEXTURE.into())),
                    ("colorspace", Value::String("raw".into())),
                    ("uaddressmode", Value::String("periodic".into())),
                    ("vaddressmode", Value::String("periodic".into())),
                    ("filtertype", Value::String("linear".into())),
                ],
                &frame(1, 1),
                Rect::new(0, 0, 1, 1),
                &[
                    Buffer::filled(&DEFAULT[..channels], 1),
                    Buffer::from_interleaved(2, &uv),
                ],
            )
            .expect("image evaluates");
            assert_close(out[0].data(), &texel[..channels]);
        }
    }
}
