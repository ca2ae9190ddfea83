//! The command line: node listing, version, summary line, output files.

use crate::util::{files_in, root, tessera, tessera_in};

#[test]
fn docs_nodes_md_is_current() {
    let run = tessera(&["nodes", "--markdown"]);
    run.expect_code(0);
    let committed = std::fs::read_to_string(root().join("docs/nodes.md")).unwrap_or_default();
    assert!(
        committed == run.stdout,
        "docs/nodes.md is out of date: run `cargo run -- nodes --markdown > docs/nodes.md`"
    );
}

#[test]
fn nodes_lists_every_type_with_inputs_and_outputs() {
    let run = tessera(&["nodes"]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("texcoord: "), "{}", run.stdout);
    assert!(
        run.stdout.contains("\nnoise2d: Perlin gradient noise"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  in  pivot (float) = 0: added after scaling\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(
        "  in  octaves (integer, constant only) = 3 (1 to 16): number of noise layers\n"
    ));
    assert!(run.stdout.contains(
        "  (T is one of float, vector2, vector3, vector4, color3, color4, chosen from what is linked to it)\n  in  amplitude (T) = 1: scale of the noise, per channel\n"
    ));
}

#[test]
fn version_names_the_program() {
    let run = tessera(&["--version"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with(&format!("tessera {}", env!("CARGO_PKG_VERSION"))),
        "{}",
        run.stdout
    );
}

#[test]
fn render_prints_one_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("checker.png");
    let run = crate::util::render(
        "scenes/nodes/checkerboard.toml",
        &out,
        &["--threads", "2", "--tile", "16"],
    );
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    let line = lines[0];
    assert!(
        line.starts_with(&format!(
            "{}: 64x64, 1 sample, 2 threads, tile 16, ",
            out.display()
        )),
        "{line}"
    );
    assert!(line.contains(" s, 8-bit, srgb_texture, blake3 "), "{line}");
    assert_eq!(run.pixel_hash().len(), 64);
    assert!(out.is_file());
    assert_eq!(files_in(dir.path()), ["checker.png"]);
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.png");
    let run = crate::util::render("scenes/nodes/checkerboard.toml", &out, &["--quiet"]);
    run.expect_code(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert!(out.is_file());
}

#[test]
fn frame_numbers_expand_in_output_paths() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("frame_{frame:04}.png");
    let run = crate::util::render(
        "scenes/nodes/checkerboard.toml",
        &template,
        &["--frame", "7", "--quiet"],
    );
    run.expect_code(0);
    assert_eq!(files_in(dir.path()), ["frame_0007.png"]);
}

#[test]
fn exr_and_16_bit_png_are_written_at_their_depth() {
    let dir = tempfile::tempdir().unwrap();
    let exr = dir.path().join("out.exr");
    crate::util::render("scenes/nodes/ramplr.toml", &exr, &[]).expect_code(0);
    assert!(matches!(
        image::open(&exr).unwrap(),
        image::DynamicImage::ImageRgba32F(_)
    ));
    let png = dir.path().join("out16.png");
    crate::util::render("scenes/nodes/ramplr.toml", &png, &["--depth", "16"]).expect_code(0);
    assert!(matches!(
        image::open(&png).unwrap(),
        image::DynamicImage::ImageRgba16(_)
    ));
}

/// `--depth 16` for an EXR said "OpenEXR cannot store 16-bit images";
/// OpenEXR's 16 bits are half floats, which Blender writes by default.
#[test]
fn an_exr_at_depth_16_holds_the_float_pixels_rounded_to_halves() {
    let dir = tempfile::tempdir().unwrap();
    // One channel, colour without alpha, and colour with alpha.
    for scene in ["noise2d", "ramplr", "showcase"] {
        let path = match scene {
            "showcase" => "scenes/showcase.toml".to_string(),
            _ => format!("scenes/nodes/{scene}.toml"),
        };
        let floats = dir.path().join(format!("{scene}.exr"));
        crate::util::render(&path, &floats, &[]).expect_code(0);
        let expected: Vec<u32> = (image::open(&floats).unwrap().into_rgba32f().into_raw())
            .into_iter()
            .map(|v| half::f16::from_f32(v).to_f32().to_bits())
            .collect();
        for compression in ["none", "rle", "zip"] {
            let halves = dir.path().join(format!("{scene}-{compression}-half.exr"));
            let run = crate::util::render(
                &path,
                &halves,
                &["--depth", "16", "--exr-compression", compression],
            );
            run.expect_code(0);
            assert!(
                run.stdout.contains(", 16-bit half float, lin_rec709, "),
                "{}",
                run.stdout
            );
            let written: Vec<u32> = (image::open(&halves).unwrap().into_rgba32f().into_raw())
                .into_iter()
                .map(f32::to_bits)
                .collect();
            assert!(
                written == expected,
                "{scene}, {compression}: not the pixels as halves"
            );
        }
    }
    let png = dir.path().join("out.png");
    let run = crate::util::render("scenes/nodes/ramplr.toml", &png, &["--depth", "half"]);
    run.expect_code(1).expect_stderr_start(&format!(
        "error: cannot write {}: PNG cannot store 16-bit half float images (it supports 8-bit and 16-bit)",
        png.display()
    ));
}

#[test]
fn every_exr_compression_writes_the_same_pixels_and_is_for_exr_only() {
    let dir = tempfile::tempdir().unwrap();
    let scene = "scenes/nodes/noise2d.toml";
    let mut images = Vec::new();
    for compression in ["none", "rle", "zip"] {
        let out = dir.path().join(format!("{compression}.exr"));
        let run = crate::util::render(scene, &out, &["--exr-compression", compression]);
        run.expect_code(0);
        images.push(image::open(&out).unwrap().into_rgba32f().into_raw());
    }
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&images[0]), bits(&images[1]));
    assert_eq!(bits(&images[0]), bits(&images[2]));

    let png = dir.path().join("out.png");
    let run = crate::util::render(scene, &png, &["--exr-compression", "zip"]);
    run.expect_code(1);
    run.expect_stderr_start(&format!(
        "error: cannot write {}: EXR compression (zip) is for .exr files only",
        png.display()
    ));
    let run = crate::util::render(scene, &png, &["--exr-compression", "lzw"]);
    run.expect_code(2);
    run.expect_stderr_has("unknown EXR compression 'lzw': expected none, rle or zip");
}

#[test]
fn a_failed_write_leaves_the_existing_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("keep.jpg");
    std::fs::write(&target, b"precious").unwrap();
    let run = crate::util::render("scenes/nodes/ramplr.toml", &target, &["--depth", "16"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("JPEG cannot store 16-bit images"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    assert_eq!(files_in(dir.path()), ["keep.jpg"]);
}

#[test]
fn a_missing_output_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let scene = root().join("scenes/nodes/ramplr.toml");
    let run = tessera_in(
        dir.path(),
        &[
            "render",
            &scene.to_string_lossy(),
            "-o",
            "no/such/dir/out.png",
        ],
    );
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("cannot write no/such/dir/out.png: directory no/such/dir does not exist"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_frame_number_reaches_nodes_as_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.png");
    let hash = |frame: &str| {
        crate::util::render("scenes/nodes/time.toml", &out, &["--frame", frame])
            .expect_code(0)
            .pixel_hash()
    };
    assert_ne!(hash("0"), hash("12"));
    assert_eq!(hash("12"), hash("12"));
}

#[test]
fn a_timeout_too_long_for_a_clock_is_an_argument_error_not_a_panic() {
    for command in ["render", "check"] {
        let run = tessera(&[command, "scenes/nodes/ramplr.toml", "--timeout", "1e20"]);
        run.expect_code(2);
        run.expect_stderr_has(
            "invalid value '1e20' for '--timeout <SECONDS>': must be a positive number of seconds up to 1e9, such as 0.005",
        );
    }
}

#[test]
fn a_size_too_large_says_so_and_one_the_scene_format_allows_is_taken() {
    for (size, message) in [
        (
            "100000x0",
            "error: invalid value '100000x0' for '--size <WxH>': \"100000x0\": each side must be 1 to 1048576",
        ),
        (
            "2000000x1",
            "error: invalid value '2000000x1' for '--size <WxH>': \"2000000x1\": each side must be 1 to 1048576",
        ),
        ("99999999999999999999x1", "each side must be 1 to 1048576"),
        (
            "10by10",
            "is not a size: write WIDTHxHEIGHT, such as 1024x768",
        ),
    ] {
        let run = tessera(&["check", "scenes/nodes/ramplr.toml", "--size", size]);
        run.expect_code(2);
        run.expect_stderr_has(message);
    }
    tessera(&["check", "scenes/nodes/ramplr.toml", "--size", "65537x1"]).expect_code(0);
}

#[test]
fn a_negative_number_is_refused_by_what_it_is_given_to() {
    // clap took `-1` for an option and said "unexpected argument '-1'".
    let scene = root().join("scenes/nodes/checkerboard.toml");
    let scene = scene.to_str().unwrap();
    for (option, value, message) in [
        (
            "--switch-interval",
            "-1",
            "error: invalid value '-1' for '--switch-interval <SECONDS>': must be a number of seconds from 1e-6 to 1e9, such as 0.005",
        ),
        (
            "--tile",
            "-8",
            "error: invalid value '-8' for '--tile <TILE>': -8 is not in 1..=4096",
        ),
        (
            "--seed",
            "-3",
            "error: invalid value '-3' for '--seed <N>': -3 is not in 0..=4294967295",
        ),
        (
            "--region",
            "-1,0,4,4",
            "error: invalid value '-1,0,4,4' for '--region <X,Y,W,H>': X must be a whole number of pixels, not \"-1\"",
        ),
        (
            "--size",
            "-4x4",
            "error: invalid value '-4x4' for '--size <WxH>': \"-4x4\" is not a size: write WIDTHxHEIGHT, such as 1024x768",
        ),
    ] {
        let run = tessera(&["render", scene, "-o", "/dev/null/x.png", option, value]);
        run.expect_code(2).expect_stderr_start(message);
    }
}

#[test]
fn check_and_convert_count_in_words() {
    let run = tessera(&[
        "check",
        root()
            .join("scenes/nodes/checkerboard.toml")
            .to_str()
            .unwrap(),
    ]);
    run.expect_code(0);
    assert!(
        run.stdout
            .ends_with(": ok (1 node rendered, 64x64, 1 sample)\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn convert_into_a_missing_folder_names_it_and_not_a_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let document = root().join("tests/materialx/pattern.mtlx");
    let run = tessera_in(
        dir.path(),
        &[
            "convert",
            document.to_str().unwrap(),
            "-o",
            "missing/x.toml",
        ],
    );
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "error: cannot write missing/x.toml: directory missing does not exist\n"
    );
    assert!(files_in(dir.path()).is_empty());
}

/// A link the user made at the output (`latest.png -> renders/v1.png`)
/// was replaced by the new image, and the file it led to kept the old one.
#[cfg(unix)]
#[test]
fn an_output_that_is_a_symbolic_link_is_written_through_and_stays_a_link() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("renders")).unwrap();
    let image = dir.path().join("renders/v1.png");
    std::fs::write(&image, "old").unwrap();
    std::fs::set_permissions(&image, std::fs::Permissions::from_mode(0o600)).unwrap();
    symlink("renders/v1.png", dir.path().join("latest.png")).unwrap();
    let scene = root().join("scenes/nodes/checkerboard.toml");
    let run = tessera_in(
        dir.path(),
        &["render", scene.to_str().unwrap(), "-o", "latest.png", "-q"],
    );
    run.expect_code(0);
    let link = std::fs::symlink_metadata(dir.path().join("latest.png")).unwrap();
    assert!(link.file_type().is_symlink());
    assert!(std::fs::read(&image).unwrap().starts_with(b"\x89PNG"));
    let mode = std::fs::metadata(&image).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(files_in(&dir.path().join("renders")), ["v1.png"]);
    // convert writes through a link alike.
    symlink("renders/scene.toml", dir.path().join("scene.toml")).unwrap();
    let document = root().join("tests/materialx/pattern.mtlx");
    tessera_in(
        dir.path(),
        &["convert", document.to_str().unwrap(), "-o", "scene.toml"],
    )
    .expect_code(0);
    assert!(
        std::fs::symlink_metadata(dir.path().join("scene.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(dir.path().join("renders/scene.toml"))
            .unwrap()
            .contains("[nodes.")
    );
}

/// Found by a review of the change that writes outputs through their
/// links: a link to a file the scene reads overwrote it, where `-o` naming
/// that file is refused; a link into a missing folder, or a loop, failed
/// only once the frames before it were written; convert replaced a
/// read-only file that render refuses to.
#[cfg(unix)]
#[test]
fn an_output_linked_to_an_input_a_missing_folder_or_a_read_only_file_is_refused_before_rendering() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("node.py"),
        "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n    \
         pure = True\n\n    def __call__(self, ctx):\n        return 0.5\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        crate::util::python_node_scene(8, 8, "node.py", ""),
    )
    .unwrap();
    symlink("node.py", dir.path().join("latest.png")).unwrap();
    let run = tessera_in(dir.path(), &["render", "scene.toml", "-o", "latest.png"]);
    run.expect_code(2).expect_stderr_start(
        "error: the output latest.png is the file node `py` reads (node.py); it would be overwritten.",
    );
    assert!(
        std::fs::read_to_string(dir.path().join("node.py"))
            .unwrap()
            .starts_with("import tessera")
    );

    std::fs::create_dir(dir.path().join("frames")).unwrap();
    symlink("missing/f_2.png", dir.path().join("frames/f_2.png")).unwrap();
    let run = tessera_in(
        dir.path(),
        &[
            "render",
            "scene.toml",
            "--frames",
            "1-3",
            "-o",
            "frames/f_{frame}.png",
        ],
    );
    run.expect_code(1).expect_stderr_start(
        "error: cannot write frames/f_2.png: directory frames/missing does not exist",
    );
    assert_eq!(files_in(&dir.path().join("frames")), ["f_2.png"]);

    symlink("loop_b.png", dir.path().join("loop_a.png")).unwrap();
    symlink("loop_a.png", dir.path().join("loop_b.png")).unwrap();
    let run = tessera_in(dir.path(), &["render", "scene.toml", "-o", "loop_a.png"]);
    run.expect_code(1).expect_stderr_start(
        "error: cannot write loop_a.png: Too many levels of symbolic links (os error 40)",
    );

    let kept = dir.path().join("kept.toml");
    std::fs::write(&kept, "old").unwrap();
    let mut permissions = std::fs::metadata(&kept).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&kept, permissions).unwrap();
    let document = root().join("tests/materialx/pattern.mtlx");
    let run = tessera_in(
        dir.path(),
        &["convert", document.to_str().unwrap(), "-o", "kept.toml"],
    );
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "error: cannot write kept.toml: it is read-only; not replaced (make it writable, or remove it)\n"
    );
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "old");
}
