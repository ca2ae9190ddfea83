//! Each kind of scene mistake: exit code 2, the message, the location
//! (file:line:column with the text underlined), and no output file.

use crate::util::tessera_in;

const HEADER: &str = "[image]\nwidth = 8\nheight = 8\n\n[nodes.uv]\ntype = \"texcoord\"\n\n";

/// Renders `text` as `scene.toml` in a fresh directory and checks the failure.
#[track_caller]
fn assert_scene_error(
    text: &str,
    message: &str,
    line_col: (usize, usize),
    underlined: &str,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scene.toml"), text).unwrap();
    let run = tessera_in(dir.path(), &["render", "scene.toml", "-o", "out.png"]);
    run.expect_code(2);
    let stderr = &run.stderr;
    assert!(
        stderr.contains(&format!("error: {message}\n")),
        "missing `error: {message}` in:\n{stderr}"
    );
    let location = format!("scene.toml:{}:{}", line_col.0, line_col.1);
    assert!(
        stderr.contains(&location),
        "missing {location} in:\n{stderr}"
    );
    let carets = "^".repeat(underlined.chars().count());
    assert!(
        stderr.lines().any(|l| l.contains(underlined)) && stderr.contains(&carets),
        "`{underlined}` is not shown underlined in:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !dir.path().join("out.png").exists(),
        "an output file was written"
    );
    let check = tessera_in(dir.path(), &["check", "scene.toml"]);
    check.expect_code(2);
    assert_eq!(
        check.stderr, run.stderr,
        "check and render report differently"
    );
    run.stderr
}

#[test]
fn toml_syntax_error() {
    assert_scene_error(
        "[image]\nwidth = = 8\n",
        "invalid TOML: extra `=`, expected nothing",
        (2, 9),
        "=",
    );
}

#[test]
fn unknown_node_type_suggests_the_closest() {
    let text = format!("{HEADER}[nodes.n]\ntype = \"nosie2d\"\n\n[output]\ncolor = \"@n\"\n");
    let stderr = assert_scene_error(&text, "unknown node type `nosie2d`", (9, 8), "\"nosie2d\"");
    assert!(stderr.contains("help: did you mean `noise2d`?"), "{stderr}");
}

#[test]
fn unknown_input_suggests_the_closest() {
    let text = format!(
        "{HEADER}[nodes.n]\ntype = \"noise2d\"\namplitdue = 2\n\n[output]\ncolor = \"@n\"\n"
    );
    let stderr = assert_scene_error(
        &text,
        "node `n` (noise2d) has no input `amplitdue`",
        (10, 1),
        "amplitdue",
    );
    assert!(
        stderr.contains("help: did you mean `amplitude`?"),
        "{stderr}"
    );
}

#[test]
fn unknown_image_setting() {
    let text = "[image]\nwidth = 8\nheight = 8\nsamplez = 2\n[nodes.uv]\ntype = \"texcoord\"\n[output]\ncolor = \"@uv\"\n";
    let stderr = assert_scene_error(text, "unknown [image] setting `samplez`", (4, 1), "samplez");
    assert!(stderr.contains("help: did you mean `samples`?"), "{stderr}");
}

#[test]
fn wrong_type_of_constant() {
    let text = format!(
        "{HEADER}[nodes.n]\ntype = \"checkerboard\"\ncolor1 = [1, 0]\n\n[output]\ncolor = \"@n\"\n"
    );
    assert_scene_error(
        &text,
        "node `n`, input `color1`: expected a color3 (3 numbers), found an array of 2 items",
        (10, 10),
        "[1, 0]",
    );
}

#[test]
fn wrong_type_of_link() {
    let text = format!(
        "{HEADER}[nodes.n]\ntype = \"noise2d\"\npivot = \"@uv\"\n\n[output]\ncolor = \"@n\"\n"
    );
    assert_scene_error(
        &text,
        "cannot connect a vector2 output to a float input",
        (10, 9),
        "\"@uv\"",
    );
}

#[test]
fn value_out_of_range() {
    let text = format!(
        "{HEADER}[nodes.n]\ntype = \"mix\"\nfg = 1.0\nmix = 1.5\n\n[output]\ncolor = \"@n\"\n"
    );
    assert_scene_error(
        &text,
        "node `n`, input `mix`: 1.5 is out of range for `mix` (0 to 1)",
        (11, 7),
        "1.5",
    );
}

#[test]
fn link_to_a_missing_node() {
    let text = format!(
        "{HEADER}[nodes.n]\ntype = \"noise2d\"\ntexcoord = \"@vu\"\n\n[output]\ncolor = \"@n\"\n"
    );
    let stderr = assert_scene_error(&text, "link to a missing node `vu`", (10, 12), "\"@vu\"");
    assert!(stderr.contains("help: did you mean `uv`?"), "{stderr}");
}

#[test]
fn link_to_a_missing_output() {
    let text = format!(
        "{HEADER}[nodes.n]\ntype = \"noise2d\"\ntexcoord = \"@uv.uv\"\n\n[output]\ncolor = \"@n\"\n"
    );
    assert_scene_error(
        &text,
        "node `uv` (texcoord) has no output `uv`",
        (10, 12),
        "\"@uv.uv\"",
    );
}

#[test]
fn a_cycle_names_every_node_on_it() {
    let text = format!(
        "{HEADER}[nodes.a]\ntype = \"add\"\nin1 = \"@c\"\n\n[nodes.b]\ntype = \"add\"\nin1 = \"@a\"\n\n\
         [nodes.c]\ntype = \"add\"\nin1 = \"@b\"\n\n[output]\ncolor = \"@c\"\n"
    );
    assert_scene_error(
        &text,
        "the nodes link in a cycle: a -> b -> c -> a",
        (8, 8),
        "a",
    );
}

#[test]
fn missing_output_table() {
    let text = HEADER.to_string();
    let stderr = assert_scene_error(&text, "the scene has no [output] table", (8, 1), "");
    assert!(stderr.contains("help: add `[output]`"), "{stderr}");
}

#[test]
fn zero_width() {
    let text = "[image]\nwidth = 0\nheight = 8\n[nodes.uv]\ntype = \"texcoord\"\n[output]\ncolor = \"@uv\"\n";
    assert_scene_error(text, "[image] width = 0 is out of range", (2, 9), "0");
}

#[test]
fn more_pixels_than_the_machine_could_hold() {
    let text = "[image]\nwidth = 1000000\nheight = 1000\n[nodes.uv]\ntype = \"texcoord\"\n[output]\ncolor = \"@uv\"\n";
    assert_scene_error(
        text,
        "the image is too large: 1000000 x 1000 = 1000000000 pixels",
        (2, 9),
        "1000000",
    );
}

#[test]
fn a_uniform_input_refuses_links() {
    let text = format!(
        "{HEADER}[nodes.n]\ntype = \"fractal2d\"\noctaves = \"@uv\"\n\n[output]\ncolor = \"@n\"\n"
    );
    assert_scene_error(
        &text,
        "input `octaves` of node `n` takes a constant integer, not a link",
        (10, 11),
        "\"@uv\"",
    );
}

#[test]
fn a_node_without_a_type() {
    let text = format!("{HEADER}[nodes.n]\ncolor = 1\n\n[output]\ncolor = \"@n\"\n");
    assert_scene_error(&text, "node `n` has no `type`", (8, 8), "n");
}

#[test]
fn a_missing_scene_file_is_a_bad_scene() {
    let dir = tempfile::tempdir().unwrap();
    let run = tessera_in(dir.path(), &["render", "nowhere.toml", "-o", "out.png"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: cannot read scene nowhere.toml: No such file"),
        "{}",
        run.stderr
    );
}

#[test]
fn several_mistakes_are_reported_together() {
    let text = format!(
        "{HEADER}[nodes.a]\ntype = \"nosie2d\"\n\n[nodes.b]\ntype = \"mix\"\nfgg = 1\n\n[output]\ncolor = \"@b\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scene.toml"), text).unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("unknown node type `nosie2d`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("has no input `fgg`"), "{}", run.stderr);
    assert!(
        run.stderr.trim_end().ends_with("2 errors in scene.toml"),
        "{}",
        run.stderr
    );
}
