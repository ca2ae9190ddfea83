//! Colour management (docs/colour.md): the image file's colour space and
//! its PNG chunks, `image` textures decoded to the working space, and the
//! errors for names Tessera does not know.

use crate::util::tessera_in;
use std::path::Path;

/// A 4 x 4 scene of one constant linear 0.5 grey, with `output_lines` added
/// to its `[output]` table.
fn grey_scene(dir: &Path, output_lines: &str) {
    let scene = format!(
        "[image]\nwidth = 4\nheight = 4\n\n[nodes.grey]\ntype = \"constant\"\nvalue = [0.5, 0.5, 0.5]\n\n\
         [output]\ncolor = \"@grey\"\n{output_lines}"
    );
    std::fs::write(dir.join("grey.toml"), scene).unwrap();
}

/// The names of a PNG's chunks, in order.
fn png_chunks(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let mut chunks = Vec::new();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        chunks.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        at += 12 + length;
    }
    // The image data comes in as many IDAT chunks as the encoder's buffer
    // made; one in a row says the same.
    chunks.dedup();
    chunks
}

/// The red channel of the top-left pixel of an 8-bit PNG.
fn red_of(path: &Path) -> u8 {
    image::open(path).unwrap().to_rgba8().get_pixel(0, 0).0[0]
}

#[test]
fn a_linear_grey_is_written_as_srgb_by_default_and_the_png_says_so() {
    let dir = tempfile::tempdir().unwrap();
    grey_scene(dir.path(), "");
    let out = dir.path().join("out.png");
    let render = |extra: &[&str]| {
        let mut args = vec!["render", "grey.toml", "-o", "out.png"];
        args.extend_from_slice(extra);
        let run = tessera_in(dir.path(), &args);
        run.expect_code(0);
        run
    };
    let run = render(&[]);
    assert!(
        run.stdout.contains(", 8-bit, srgb_texture, blake3 "),
        "{}",
        run.stdout
    );
    assert_eq!(red_of(&out), 188);
    assert_eq!(png_chunks(&out), ["IHDR", "sRGB", "IDAT", "IEND"]);

    let run = render(&["--colorspace", "lin_rec709"]);
    assert!(
        run.stdout.contains(", 8-bit, lin_rec709, blake3 "),
        "{}",
        run.stdout
    );
    assert_eq!(red_of(&out), 128);
    assert_eq!(png_chunks(&out), ["IHDR", "gAMA", "cHRM", "IDAT", "IEND"]);

    render(&["--colorspace", "raw"]);
    assert_eq!(red_of(&out), 128);
    assert_eq!(png_chunks(&out), ["IHDR", "IDAT", "IEND"]);

    // The scene's choice, and the command line over it.
    grey_scene(dir.path(), "colorspace = \"raw\"\n");
    render(&[]);
    assert_eq!(red_of(&out), 128);
    render(&["--colorspace", "srgb_texture"]);
    assert_eq!(red_of(&out), 188);

    // EXR holds linear values by default.
    grey_scene(dir.path(), "");
    let exr = tessera_in(dir.path(), &["render", "grey.toml", "-o", "out.exr"]);
    exr.expect_code(0);
    assert!(
        exr.stdout.contains(", 32-bit float, lin_rec709, "),
        "{}",
        exr.stdout
    );
    let pixel = image::open(dir.path().join("out.exr"))
        .unwrap()
        .into_rgba32f();
    assert_eq!(pixel.get_pixel(0, 0).0, [0.5, 0.5, 0.5, 1.0]);
}

#[test]
fn an_srgb_texture_is_read_as_linear_unless_it_is_data() {
    let dir = tempfile::tempdir().unwrap();
    let texture = image::RgbaImage::from_pixel(2, 2, image::Rgba([188, 188, 188, 255]));
    texture.save(dir.path().join("grey188.png")).unwrap();
    let scene = |colorspace: &str| {
        format!(
            "[image]\nwidth = 2\nheight = 2\n\n[nodes.tex]\ntype = \"image\"\nfile = \"grey188.png\"\n{colorspace}\n\
             [output]\ncolor = \"@tex\"\n"
        )
    };
    let red = |colorspace: &str| {
        std::fs::write(dir.path().join("tex.toml"), scene(colorspace)).unwrap();
        tessera_in(dir.path(), &["render", "tex.toml", "-o", "out.exr"]).expect_code(0);
        image::open(dir.path().join("out.exr"))
            .unwrap()
            .into_rgba32f()
            .get_pixel(0, 0)
            .0[0]
    };
    let decoded = red("");
    assert!((decoded - 0.5).abs() < 1.0 / 255.0, "188 read as {decoded}");
    assert_eq!(red("colorspace = \"raw\""), 188.0 / 255.0);
    assert_eq!(red("colorspace = \"lin_rec709\""), 188.0 / 255.0);
}

#[test]
fn an_unknown_colour_space_is_a_located_error_naming_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    grey_scene(dir.path(), "colorspace = \"sRGB\"\n");
    let run = tessera_in(dir.path(), &["check", "grey.toml"]);
    run.expect_code(2);
    run.expect_stderr_start("error: \"sRGB\" is not a valid `colorspace`\n");
    run.expect_stderr_has("grey.toml:11:14");
    run.expect_stderr_has("srgb_texture");
    let flag = tessera_in(
        dir.path(),
        &["render", "grey.toml", "-o", "o.png", "--colorspace", "srgb"],
    );
    flag.expect_code(2);
    flag.expect_stderr_has(
        "unknown colour space; use one of raw, lin_rec709, lin_srgb, srgb_texture,",
    );
}
