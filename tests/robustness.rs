//! Hostile input and hostile file systems: scenes that are not TOML, empty,
//! huge or deep; impossible image sizes and cycles; Python scripts that are
//! not there; output that cannot be written (missing or read-only
//! directory, a directory in the way, a file-size limit). Every case checks
//! the exit code, the message (with its location where it has one), that
//! nothing panicked, and that no output or temporary file was left behind.

use crate::util::{Run, files_in, run_command, tessera_in};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The scene file every test writes in its own directory.
const SCENE: &str = "scene.toml";

/// A small native scene: fractal noise through a colour ramp. Rendered at
/// 64 x 64 its PNG is several KiB, more than the 1 KiB file-size limit below.
const CLOUDS: &str = r#"# Clouds: fractal noise through a colour ramp.
[image]
width = 64
height = 64
seed = 7

[nodes.uv]
type = "texcoord"

[nodes.scaled]
type = "multiply"
in1 = "@uv"
in2 = 6.0

[nodes.clouds]
type = "fractal2d"
texcoord = "@scaled"
octaves = 5

[nodes.tone]
type = "remap"
in = "@clouds"
inlow = -0.8
inhigh = 0.8

[nodes.sky]
type = "colorramp"
fac = "@tone"
stops = [
  { position = 0.0, color = [0.1, 0.2, 0.5] },
  { position = 1.0, color = [1.0, 1.0, 1.0] },
]

[output]
color = "@sky"
"#;

/// Ten mebibytes: the size of the "huge" scenes.
const TEN_MB: usize = 10 << 20;

/// A fresh directory holding `scene.toml` with `bytes`.
fn scene_dir(bytes: impl AsRef<[u8]>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(SCENE), bytes).unwrap();
    dir
}

/// Nothing panicked, whatever else happened.
#[track_caller]
fn assert_no_panic(run: &Run) {
    assert!(
        !run.stderr.contains("panicked") && !run.stdout.contains("panicked"),
        "tessera panicked:\n{}",
        run.stderr
    );
}

/// `dir` holds exactly `names`: no output, no temporary file.
#[track_caller]
fn assert_only(dir: &Path, names: &[&str]) {
    assert_eq!(files_in(dir), names, "files left in {}", dir.display());
}

/// Renders and checks `bytes` as a scene: both exit 2 with the same report,
/// which holds each `(message, line, column)` as `error: message` and
/// `scene.toml:line:column`; no output is written. Returns the report.
#[track_caller]
fn assert_bad_scene(bytes: impl AsRef<[u8]>, errors: &[(&str, usize, usize)]) -> String {
    let dir = scene_dir(bytes);
    let run = tessera_in(dir.path(), &["render", SCENE, "-o", "out.png"]);
    run.expect_code(2);
    assert_no_panic(&run);
    let stderr = &run.stderr;
    for (message, line, column) in errors {
        assert!(
            stderr.contains(&format!("error: {message}\n")),
            "missing `error: {message}` in:\n{stderr}"
        );
        let location = format!("{SCENE}:{line}:{column}\n");
        assert!(
            stderr.contains(&location),
            "missing {location} in:\n{stderr}"
        );
    }
    if errors.len() > 1 {
        let total = format!("{} errors in {SCENE}", errors.len());
        assert!(stderr.trim_end().ends_with(&total), "{stderr}");
    }
    assert_only(dir.path(), &[SCENE]);
    let check = tessera_in(dir.path(), &["check", SCENE]);
    check.expect_code(2);
    assert_eq!(
        check.stderr, run.stderr,
        "check and render report differently"
    );
    run.stderr.clone()
}

/// Renders `scene.toml` in `dir` to `output` with `extra` arguments.
fn render_to(dir: &Path, output: &str, extra: &[&str]) -> Run {
    let mut args = vec!["render", SCENE, "-o", output];
    args.extend_from_slice(extra);
    let run = tessera_in(dir, &args);
    assert_no_panic(&run);
    run
}

/// A failed write: exit 1 and a message starting with `starts`.
#[track_caller]
fn assert_write_failed(run: &Run, starts: &str) {
    run.expect_code(1);
    assert_no_panic(run);
    assert!(
        run.stderr.starts_with(starts),
        "expected a message starting with `{starts}`, got:\n{}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "a failed render printed a summary line");
}

/// `count` `add` nodes, each adding 0.00004 to the one before: a chain as
/// deep as the scene is long. With `cycle`, the first links the last.
fn add_chain(count: usize, cycle: bool) -> String {
    let mut text =
        String::from("# A long chain of add nodes.\n[image]\nwidth = 16\nheight = 16\n\n");
    let first = match cycle {
        true => format!("\"@n{}\"", count - 1),
        false => "[0.0, 0.0, 0.0]".to_string(),
    };
    text.push_str(&format!(
        "[nodes.n0]\ntype = \"add\"\nin1 = {first}\nin2 = 0.00004\n\n"
    ));
    for i in 1..count {
        text.push_str(&format!(
            "[nodes.n{i}]\ntype = \"add\"\nin1 = \"@n{}\"\nin2 = 0.00004\n\n",
            i - 1
        ));
    }
    text.push_str(&format!("[output]\ncolor = \"@n{}\"\n", count - 1));
    text
}

// ---------------------------------------------------------------------------
// Scenes that are not scenes

#[test]
fn a_png_given_as_the_scene_is_not_utf8_text() {
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbaImage::from_pixel(4, 4, image::Rgba([200, 100, 50, 255]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    for command in ["render", "check"] {
        let dir = scene_dir(png.get_ref());
        let mut args = vec![command, SCENE];
        if command == "render" {
            args.extend(["-o", "out.png"]);
        }
        let run = tessera_in(dir.path(), &args);
        run.expect_code(2);
        assert_no_panic(&run);
        // 0x89, the PNG signature's first byte, is not UTF-8.
        assert_eq!(
            run.stderr,
            "error: cannot read scene scene.toml: it is not UTF-8 text (byte 0)\n"
        );
        assert_only(dir.path(), &[SCENE]);
    }
}

#[test]
fn a_latin1_byte_in_a_comment_is_located_by_its_offset() {
    let mut bytes = b"# Sky by Ren".to_vec();
    let offset = bytes.len();
    bytes.push(0xe9); // `é` in Latin-1: not UTF-8.
    bytes.extend_from_slice(b"e\n");
    bytes.extend_from_slice(CLOUDS.as_bytes());
    let dir = scene_dir(&bytes);
    let run = render_to(dir.path(), "out.png", &[]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        format!("error: cannot read scene scene.toml: it is not UTF-8 text (byte {offset})\n")
    );
    assert_only(dir.path(), &[SCENE]);
}

#[test]
fn a_directory_given_as_the_scene() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(SCENE)).unwrap();
    let run = render_to(dir.path(), "out.png", &[]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "error: cannot read scene scene.toml: it is a directory\n"
    );
    assert_only(dir.path(), &[SCENE]);
}

#[test]
fn text_that_is_not_toml() {
    let stderr = assert_bad_scene(
        "this is not toml\n",
        &[("invalid TOML: key with no value, expected `=`", 1, 6)],
    );
    assert!(stderr.contains("1 │ this is not toml\n"), "{stderr}");
}

#[test]
fn an_empty_scene_lacks_image_and_output() {
    let stderr = assert_bad_scene(
        "",
        &[
            ("the scene has no [image] table", 1, 1),
            ("the scene has no [output] table", 1, 1),
        ],
    );
    assert!(stderr.contains("help: add `[image]`"), "{stderr}");
    assert!(stderr.contains("help: add `[output]`"), "{stderr}");
}

#[test]
fn a_scene_of_comments_only_lacks_image_and_output() {
    // [image] is reported at the start, [output] at the end, where it would go.
    let stderr = assert_bad_scene(
        "# A sky, one day.\n# width = 64\n",
        &[
            ("the scene has no [image] table", 1, 1),
            ("the scene has no [output] table", 3, 1),
        ],
    );
    assert!(stderr.contains("1 │ # A sky, one day.\n"), "{stderr}");
}

// ---------------------------------------------------------------------------
// Huge and deep scenes

#[test]
fn a_10_mb_comment_is_read_and_rendered() {
    let text = format!("{CLOUDS}# {}\n", "padding ".repeat(TEN_MB / 8));
    assert!(text.len() > TEN_MB);
    let dir = scene_dir(&text);
    let start = Instant::now();
    let check = tessera_in(dir.path(), &["check", SCENE]);
    println!(
        "check of a {} byte scene: {:?}",
        text.len(),
        start.elapsed()
    );
    check.expect_code(0);
    assert_no_panic(&check);
    assert_eq!(
        check.stdout,
        "scene.toml: ok (5 nodes rendered, 64x64, 1 sample)\n"
    );
    let run = render_to(dir.path(), "out.png", &["--threads", "2"]);
    run.expect_code(0);
    assert_eq!(run.pixel_hash().len(), 64);
    assert_only(dir.path(), &["out.png", SCENE]);
}

#[test]
fn a_10_mb_string_in_a_misspelt_input_is_located() {
    // `notes` is no input of colorramp: a located error, however long the value.
    let padding = "x".repeat(TEN_MB);
    let text = CLOUDS.replace(
        "[nodes.sky]\n",
        &format!("[nodes.sky]\nnotes = \"{padding}\"\n"),
    );
    let line = CLOUDS.lines().position(|l| l == "[nodes.sky]").unwrap() + 2;
    let start = Instant::now();
    let stderr = assert_bad_scene(
        &text,
        &[("node `sky` (colorramp) has no input `notes`", line, 1)],
    );
    println!(
        "render and check of a {} byte scene: {:?}, {} bytes of report",
        text.len(),
        start.elapsed(),
        stderr.len()
    );
    // The 10 MB line is located, not copied to the terminal.
    assert!(
        stderr.contains("characters long; not shown"),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(stderr.len() < 4096, "a {} byte report", stderr.len());
}

#[test]
fn a_chain_of_10000_nodes_checks_and_renders() {
    let dir = scene_dir(add_chain(10_000, false));
    let start = Instant::now();
    let check = tessera_in(dir.path(), &["check", SCENE]);
    println!("check of 10000 nodes: {:?}", start.elapsed());
    check.expect_code(0);
    assert_no_panic(&check);
    assert_eq!(
        check.stdout,
        "scene.toml: ok (10000 nodes rendered, 16x16, 1 sample)\n"
    );
    let start = Instant::now();
    // The sum is data: written as it is, not encoded as sRGB.
    let args = ["--threads", "2", "--colorspace", "raw"];
    let run = render_to(dir.path(), "out.png", &args);
    println!("render of 10000 nodes: {:?}", start.elapsed());
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with("out.png: 16x16, 1 sample, 2 threads, "),
        "{}",
        run.stdout
    );
    // Every node ran: 10000 x 0.00004 = 0.4, and 0.4 x 255 = 102.
    let image = image::open(dir.path().join("out.png"))
        .unwrap()
        .into_rgba8();
    assert!(
        image.pixels().all(|p| p.0 == [102, 102, 102, 255]),
        "{:?}",
        image.get_pixel(0, 0)
    );
    assert_only(dir.path(), &["out.png", SCENE]);
}

#[test]
fn a_cycle_through_10000_nodes_is_found() {
    // Named by its ends: the whole path would be a 100 KB line.
    let message = "the nodes link in a cycle: n0 -> n1 -> n2 -> n3 -> n4 -> n5 -> ... (9988 more) -> \
                   n9994 -> n9995 -> n9996 -> n9997 -> n9998 -> n9999 -> n0";
    let stderr = assert_bad_scene(add_chain(10_000, true), &[(message, 6, 8)]);
    assert!(stderr.len() < 4096, "a {} byte report", stderr.len());
}

// ---------------------------------------------------------------------------
// Impossible images and graphs

#[test]
fn zero_pixels() {
    let text = CLOUDS.replace("width = 64", "width = 0");
    let stderr = assert_bad_scene(&text, &[("[image] width = 0 is out of range", 3, 9)]);
    assert!(stderr.contains("^ must be 1 to 1048576"), "{stderr}");
}

#[test]
fn a_billion_pixels() {
    let text = CLOUDS
        .replace("width = 64", "width = 100000")
        .replace("height = 64", "height = 10000");
    let stderr = assert_bad_scene(
        &text,
        &[(
            "the image is too large: 100000 x 10000 = 1000000000 pixels",
            3,
            9,
        )],
    );
    assert!(
        stderr.contains("^^^^^^ at most 268435456 pixels (4 GiB as RGBA floats)"),
        "{stderr}"
    );
    assert!(stderr.contains("----- times this height"), "{stderr}");
}

#[test]
fn two_nodes_linking_each_other() {
    let text = r#"# Feedback: a and b feed each other.
[image]
width = 16
height = 16

[nodes.a]
type = "add"
in1 = "@b"
in2 = 0.5

[nodes.b]
type = "multiply"
in1 = "@a"
in2 = 0.5

[output]
color = "@b"
"#;
    let stderr = assert_bad_scene(text, &[("the nodes link in a cycle: a -> b -> a", 6, 8)]);
    assert!(stderr.contains("^ this node depends on itself"), "{stderr}");
    assert!(stderr.contains("- on the cycle"), "{stderr}");
}

#[test]
fn a_node_linking_itself() {
    let text = r#"# An accumulator that reads its own output.
[image]
width = 16
height = 16

[nodes.a]
type = "add"
in1 = "@a"
in2 = 0.5

[output]
color = "@a"
"#;
    let stderr = assert_bad_scene(text, &[("the nodes link in a cycle: a -> a", 6, 8)]);
    assert!(stderr.contains("^ this node depends on itself"), "{stderr}");
}

/// A scene with one Python node whose script is `script`.
fn python_scene(script: &str) -> String {
    crate::util::python_node_scene(16, 16, script, "")
}

#[test]
fn a_python_script_that_does_not_exist() {
    let stderr = assert_bad_scene(
        python_scene("missing.py"),
        &[(
            "node `py`: script \"missing.py\" not found (looked for missing.py)",
            10,
            10,
        )],
    );
    assert!(stderr.contains("^^^^^^^^^^^^ here"), "{stderr}");
}

#[test]
fn a_python_script_that_is_a_directory() {
    let dir = scene_dir(python_scene("lib"));
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    for command in ["render", "check"] {
        let mut args = vec![command, SCENE];
        if command == "render" {
            args.extend(["-o", "out.png"]);
        }
        let run = tessera_in(dir.path(), &args);
        run.expect_code(2);
        assert_no_panic(&run);
        assert!(
            run.stderr
                .starts_with("error: node `py`: lib is a directory, not a Python script\n"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("scene.toml:10:10\n"), "{}", run.stderr);
        assert_only(dir.path(), &["lib", SCENE]);
    }
}

// ---------------------------------------------------------------------------
// Output that cannot be written

#[test]
fn the_output_directory_is_missing() {
    let dir = scene_dir(CLOUDS);
    let run = render_to(dir.path(), "renders/out.png", &[]);
    assert_write_failed(
        &run,
        "error: cannot write renders/out.png: directory renders does not exist\n",
    );
    assert_only(dir.path(), &[SCENE]);
}

#[test]
fn the_output_path_is_a_directory() {
    let dir = scene_dir(CLOUDS);
    std::fs::create_dir(dir.path().join("out.png")).unwrap();
    let run = render_to(dir.path(), "out.png", &[]);
    assert_write_failed(
        &run,
        "error: cannot write out.png: it is a directory, not a file\n",
    );
    assert!(dir.path().join("out.png").is_dir());
    assert_only(dir.path(), &["out.png", SCENE]);
    assert_only(&dir.path().join("out.png"), &[]);
}

/// Whether this process may write into a directory without write
/// permission (root may), found by trying.
fn writes_ignore_permissions() -> bool {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let wrote = std::fs::write(locked.join("probe"), b"").is_ok();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrote
}

#[test]
fn a_read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scene_dir(CLOUDS);
    if writes_ignore_permissions() {
        // Root writes through mode 0o555; sysfs refuses root a new file
        // (EACCES, or EROFS where /sys is mounted read-only).
        println!("running as root: writing to /sys instead of a chmod 0o555 directory");
        assert!(std::fs::write("/sys/tessera-probe.png", b"").is_err());
        let run = render_to(dir.path(), "/sys/out.png", &[]);
        assert_write_failed(&run, "error: cannot write /sys/out.png: ");
        // The OS reason once, naming the target, never the temporary file.
        assert!(
            run.stderr == "error: cannot write /sys/out.png: Permission denied (os error 13)\n"
                || run.stderr
                    == "error: cannot write /sys/out.png: Read-only file system (os error 30)\n",
            "{}",
            run.stderr
        );
        let left: Vec<String> = files_in(Path::new("/sys"))
            .into_iter()
            .filter(|name| name.contains("out.png"))
            .collect();
        assert!(left.is_empty(), "left in /sys: {left:?}");
        assert_only(dir.path(), &[SCENE]);
    } else {
        println!("not root: writing to a chmod 0o555 directory");
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::write(locked.join("keep.png"), b"precious").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        let run = render_to(dir.path(), "locked/keep.png", &[]);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_write_failed(&run, "error: cannot write locked/keep.png: ");
        assert!(run.stderr.contains("Permission denied"), "{}", run.stderr);
        assert_eq!(std::fs::read(locked.join("keep.png")).unwrap(), b"precious");
        assert_only(&locked, &["keep.png"]);
        assert_only(dir.path(), &["locked", SCENE]);
    }
}

#[test]
fn a_refused_depth_leaves_the_existing_file_intact() {
    let dir = scene_dir(CLOUDS);
    std::fs::write(dir.path().join("keep.png"), b"precious").unwrap();
    let run = render_to(dir.path(), "keep.png", &["--depth", "32"]);
    assert_write_failed(
        &run,
        "error: cannot write keep.png: PNG cannot store 32-bit float images \
         (it supports 8-bit and 16-bit)\n",
    );
    assert_eq!(
        std::fs::read(dir.path().join("keep.png")).unwrap(),
        b"precious"
    );
    assert_only(dir.path(), &["keep.png", SCENE]);
}

/// Renders `scene.toml` in `dir` to `output` with files limited to 1 KiB
/// (`ulimit -f 1`), SIGXFSZ ignored so that an oversized write fails with
/// EFBIG instead of killing the process: a full disk, deterministically and
/// without privileges.
fn render_with_a_1k_file_limit(dir: &Path, output: &str) -> Run {
    let mut command = Command::new("bash");
    command
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_tessera"),
            "render",
            SCENE,
            "-o",
            output,
        ])
        .current_dir(dir)
        .env("VIRTUAL_ENV", crate::util::venv());
    let run = run_command(&mut command);
    assert_no_panic(&run);
    run
}

#[test]
fn a_full_disk_leaves_no_partial_file() {
    let dir = scene_dir(CLOUDS);
    // Without the limit the image is larger than 1 KiB.
    render_to(dir.path(), "unlimited.png", &[]).expect_code(0);
    let size = std::fs::metadata(dir.path().join("unlimited.png"))
        .unwrap()
        .len();
    assert!(size > 1024, "the test image is only {size} bytes");
    std::fs::remove_file(dir.path().join("unlimited.png")).unwrap();

    let run = render_with_a_1k_file_limit(dir.path(), "out.png");
    assert_write_failed(&run, "error: cannot write out.png: ");
    // A failing disk is no encoding failure, and its reason comes once.
    assert_eq!(
        run.stderr,
        "error: cannot write out.png: File too large (os error 27)\n"
    );
    assert_only(dir.path(), &[SCENE]);
}

#[test]
fn a_full_disk_leaves_the_existing_file_intact() {
    let dir = scene_dir(CLOUDS);
    std::fs::write(dir.path().join("keep.png"), b"precious").unwrap();
    let run = render_with_a_1k_file_limit(dir.path(), "keep.png");
    assert_write_failed(&run, "error: cannot write keep.png: ");
    assert_eq!(
        run.stderr,
        "error: cannot write keep.png: File too large (os error 27)\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("keep.png")).unwrap(),
        b"precious"
    );
    assert_only(dir.path(), &["keep.png", SCENE]);
}
