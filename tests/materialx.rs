//! MaterialX documents: rendered, checked, converted to scenes, and their
//! mistakes located in the `.mtlx` (exit code 2, file:line:column).

use crate::util::{Run, root, tessera, tessera_in};

const PATTERN: &str = "tests/materialx/pattern.mtlx";

/// The pixel hash of rendering `scene` (with `args`) into a fresh folder.
fn hash_of(scene: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let mut all = vec!["render", scene, "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    tessera(&all).expect_code(0).pixel_hash()
}

#[test]
fn a_document_renders_its_first_graph_output_at_the_size_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let run = tessera(&[
        "render",
        PATTERN,
        "-o",
        out.to_str().unwrap(),
        "--size",
        "96x64",
    ]);
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with(&format!("{}: 96x64,", out.display())),
        "{}",
        run.stdout
    );
    let image = image::open(&out).unwrap();
    assert_eq!((image.width(), image.height()), (96, 64));
    // Without --size: 1024 x 1024.
    let run = tessera(&["render", PATTERN, "-o", out.to_str().unwrap()]);
    assert!(
        run.expect_code(0).stdout.contains(": 1024x1024,"),
        "{}",
        run.stdout
    );
}

#[test]
fn output_chooses_which_output_of_the_document_is_rendered() {
    let first = hash_of(PATTERN, &["--size", "32x32"]);
    let named = hash_of(PATTERN, &["--size", "32x32", "--output", "NG_pattern/out"]);
    let grain = hash_of(
        PATTERN,
        &["--size", "32x32", "--output", "NG_pattern/grain_out"],
    );
    assert_eq!(first, named);
    assert_ne!(first, grain);
    let run = tessera(&[
        "render",
        PATTERN,
        "-o",
        "never-written.png",
        "--output",
        "NG_pattern/nope",
    ]);
    run.expect_code(2)
        .expect_stderr_has("error: the document has no output `NG_pattern/nope`")
        .expect_stderr_has("pattern.mtlx:2:1")
        .expect_stderr_has("its outputs: NG_pattern/out, NG_pattern/grain_out");
}

#[test]
fn a_converted_document_renders_the_same_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("pattern.toml");
    let run = tessera(&[
        "convert",
        PATTERN,
        "-o",
        scene.to_str().unwrap(),
        "--size",
        "48x40",
    ]);
    run.expect_code(0)
        .expect_stderr_has("pattern.toml (5 nodes)");
    let text = std::fs::read_to_string(&scene).unwrap();
    assert!(
        text.contains(
            "[nodes.NG_pattern__out_color]\ntype = \"multiply\"\nvalue_type = \"color3\""
        ),
        "{text}"
    );
    assert_eq!(
        hash_of(scene.to_str().unwrap(), &[]),
        hash_of(PATTERN, &["--size", "48x40"])
    );
}

#[test]
fn a_document_gives_the_pixels_of_the_scene_written_by_hand() {
    // pattern.mtlx's first output, as a Tessera scene.
    let scene = r#"
[image]
width = 40
height = 24

[nodes.uv]
type = "texcoord"

[nodes.scaled]
type = "multiply"
in1 = "@uv"
in2 = [4.0, 4.0]

[nodes.grain]
type = "noise2d"
texcoord = "@scaled"
amplitude = 0.5
pivot = 0.5

[nodes.checks]
type = "checkerboard"
color1 = [0.8, 0.3, 0.2]
color2 = [0.1, 0.1, 0.1]
uvtiling = [8, 8]

[nodes.tinted]
type = "multiply"
in1 = "@checks"
in2 = "@grain"

[output]
color = "@tinted"
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scene.toml"), scene).unwrap();
    let by_hand = tessera_in(dir.path(), &["render", "scene.toml", "-o", "out.png"])
        .expect_code(0)
        .pixel_hash();
    assert_eq!(by_hand, hash_of(PATTERN, &["--size", "40x24"]));
}

/// `tessera check doc.mtlx` of `document`, written in a folder of its own.
fn check_document(document: impl AsRef<[u8]>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.mtlx"), document).unwrap();
    tessera_in(dir.path(), &["check", "doc.mtlx"])
}

/// Checks `document` (written as `doc.mtlx`): exit code 2 and each
/// `(message, line:column)` in what it printed.
#[track_caller]
fn assert_document_errors(document: &str, expected: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.mtlx"), document).unwrap();
    for args in [
        &["check", "doc.mtlx"][..],
        &["render", "doc.mtlx", "-o", "out.png"],
    ] {
        let run = tessera_in(dir.path(), args);
        run.expect_code(2);
        for (message, at) in expected {
            run.expect_stderr_has(&format!("error: {message}\n"))
                .expect_stderr_has(&format!("doc.mtlx:{at}"));
        }
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(!dir.path().join("out.png").exists());
    }
}

#[test]
fn a_graph_input_defaulting_to_a_mesh_property_is_refused_where_it_is_read() {
    // A flat image has no normal to give; a texture coordinate it has
    // (MaterialX's TestSuite defaultgeomprop.mtlx, compared with MaterialX).
    assert_document_errors(
        r#"<?xml version="1.0"?>
<materialx version="1.39">
  <nodegraph name="NG">
    <input name="n" type="vector3" defaultgeomprop="Nworld" />
    <multiply name="m" type="vector3">
      <input name="in1" type="vector3" interfacename="n" />
      <input name="in2" type="float" value="2" />
    </multiply>
    <output name="out" type="vector3" nodename="m" />
  </nodegraph>
</materialx>
"#,
        &[(
            "the geometric property `Nworld` that `n` defaults to is not supported",
            "6:55",
        )],
    );
}

#[test]
fn document_mistakes_are_located_in_the_document() {
    assert_document_errors(
        r#"<?xml version="1.0"?>
<materialx version="1.39">
  <nodegraph name="NG">
    <matrix_multiply name="s" type="float" />
    <worleynoise2d name="n" type="color3">
      <input name="jitter" type="float" value="x" />
    </worleynoise2d>
    <add name="a" type="float">
      <input name="in1" type="float" nodename="s" />
      <input name="in2" type="float" nodename="n" />
      <input name="bogus" type="float" nodename="missing" />
    </add>
    <output name="out" type="float" nodename="a" />
  </nodegraph>
</materialx>
"#,
        &[
            ("MaterialX node `matrix_multiply` is not supported", "4:6"),
            ("a float is a number, not \"x\"", "6:48"),
            (
                "MaterialX node `worleynoise2d` of type color3 is not supported",
                "5:35",
            ),
            ("there is no node `missing` here", "11:50"),
        ],
    );
    // What the graph compiler finds is located in the document too.
    assert_document_errors(
        r#"<materialx>
  <nodegraph name="NG">
    <add name="a" type="float">
      <input name="in1" type="float" value="1" />
      <input name="bogus" type="float" value="2" />
    </add>
    <output name="out" type="float" nodename="a" />
  </nodegraph>
</materialx>
"#,
        &[("node `NG__a` (add) has no input `bogus`", "5:20")],
    );
    assert_document_errors(
        "<materialx>\n  <nodegraph name=\"NG\">\n    <add name=\"a\" type=\"float\">\n",
        &[(
            "not well-formed XML: the document ends before <add> is closed",
            "3:32",
        )],
    );
    assert_document_errors(
        r#"<materialx>
  <nodegraph name="NG">
    <output name="out" type="string" value="true" />
  </nodegraph>
</materialx>
"#,
        &[(
            "an output of type string cannot be written as an image",
            "3:30",
        )],
    );
}

#[test]
fn a_signature_a_node_lacks_is_refused_at_its_type_or_input() {
    let cases = [
        (
            r#"<normal name="n" type="color3" />"#,
            "color3",
            "MaterialX node `normal` of type color3 is not supported",
            "3:76",
        ),
        (
            r#"<combine2 name="n" type="vector3"><input name="in1" type="float" value="1" /></combine2>"#,
            "vector3",
            "MaterialX node `combine2` of type vector3 is not supported",
            "3:79",
        ),
        (
            r#"<ifgreater name="n" type="boolean"><input name="in1" type="float" value="5" /></ifgreater>"#,
            "boolean",
            "`ifgreater` giving a boolean has no input `in1`: its result is the test itself",
            "3:102",
        ),
    ];
    for (node, ty, message, at) in cases {
        assert_document_errors(
            &format!(
                "<materialx>\n  <nodegraph name=\"NG\">\n    <output name=\"out\" type=\"{ty}\" nodename=\"n\" />{node}\n  </nodegraph>\n</materialx>\n"
            ),
            &[(message, at)],
        );
    }
}

#[test]
fn a_constant_boolean_output_is_written_as_its_float() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("doc.mtlx"),
        "<materialx>\n  <nodegraph name=\"NG\">\n    \
         <output name=\"out\" type=\"boolean\" value=\"true\" />\n  </nodegraph>\n</materialx>\n",
    )
    .unwrap();
    tessera_in(
        dir.path(),
        &["render", "doc.mtlx", "--size", "2x2", "-o", "out.exr"],
    )
    .expect_code(0);
    let image = image::open(dir.path().join("out.exr"))
        .unwrap()
        .to_rgba32f();
    assert_eq!(image.get_pixel(1, 1).0, [1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn a_cycle_in_a_document_is_named_at_its_links() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("doc.mtlx"),
        r#"<materialx>
  <nodegraph name="NG">
    <add name="a" type="float">
      <input name="in1" type="float" nodename="b" />
    </add>
    <add name="b" type="float">
      <input name="in1" type="float" nodename="a" />
    </add>
    <output name="out" type="float" nodename="a" />
  </nodegraph>
</materialx>
"#,
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "doc.mtlx"]);
    run.expect_code(2)
        .expect_stderr_has("cycle")
        .expect_stderr_has("doc.mtlx:3:16");
}

#[test]
fn nodes_materialx_lists_each_node_with_its_signatures() {
    let run = tessera(&["nodes", "--materialx"]);
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines.contains(
            &"noise2d: ND_noise2d_float, ND_noise2d_vector2, ND_noise2d_vector3, ND_noise2d_vector4"
        ),
        "{}",
        run.stdout
    );
    assert!(
        lines.contains(&"power: ND_power_float, ND_power_color3, ND_power_color4, ND_power_vector2, ND_power_vector3, ND_power_vector4, ND_power_color3FA, ND_power_color4FA, ND_power_vector2FA, ND_power_vector3FA, ND_power_vector4FA"),
        "{}",
        run.stdout
    );
    // The logical nodes' nodedefs are not named by their signature.
    assert!(lines.contains(&"xor: ND_logical_xor"), "{}", run.stdout);
    // Tessera's own nodes are not MaterialX's.
    assert!(!run.stdout.contains("python"), "{}", run.stdout);
    assert!(!run.stdout.contains("colorramp"), "{}", run.stdout);
}

/// The `file` input a MaterialX image node of `category` needs to render
/// (a conformance texture); none for other nodes.
fn texture_input(category: &str) -> String {
    if !category.ends_with("image") {
        return String::new();
    }
    let texture = root().join("tests/materialx/conformance/textures/wave16.hdr");
    format!(
        r#"<input name="file" type="filename" value="{}" />"#,
        texture.display()
    )
}

#[test]
fn every_node_listed_as_rendered_through_its_graph_is_checked_clean() {
    let listing = tessera(&["nodes", "--materialx"])
        .expect_code(0)
        .stdout
        .clone();
    let mut graphs = String::new();
    for (name, signatures) in tessera_materialx::GRAPH_DEFINED_NODES {
        let nodedefs: Vec<String> = (signatures.iter())
            .map(|s| tessera_materialx::nodedef_name(name, s))
            .collect();
        let line = format!(
            "{name} (through MaterialX's graph): {}",
            nodedefs.join(", ")
        );
        assert!(
            listing.lines().any(|l| l == line),
            "{line} not in\n{listing}"
        );
        for (signature, nodedef) in signatures.iter().zip(&nodedefs) {
            let ty = tessera_materialx::output_type(name, signature);
            let file = texture_input(name);
            graphs.push_str(&format!(
                r#"<nodegraph name="{nodedef}"><{name} name="n" type="{ty}" nodedef="{nodedef}">{file}</{name}><output name="out" type="{ty}" nodename="n" /></nodegraph>"#
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let document = dir.path().join("graphs.mtlx");
    std::fs::write(
        &document,
        format!(r#"<?xml version="1.0"?><materialx version="1.39">{graphs}</materialx>"#),
    )
    .unwrap();
    let run = tessera(&["check", document.to_str().unwrap()]);
    run.expect_code(0);
}

/// A native node left without its inputs renders what it renders with each
/// input set to the default its nodedef in MaterialX's library gives: the
/// Tessera node's own defaults (and `SIGNATURE_DEFAULTS`) are MaterialX's,
/// for every native signature.
#[test]
fn native_nodes_default_their_inputs_as_their_nodedefs_do() {
    let listing = tessera(&["nodes", "--materialx"])
        .expect_code(0)
        .stdout
        .clone();
    let library = root().join("crates/tessera-materialx/stdlib/stdlib_defs.mtlx");
    let library = std::fs::read_to_string(library).unwrap();
    let library = roxmltree::Document::parse(&library).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("out.exr");
    let (mut compared, mut differing) = (0, Vec::new());
    let native = listing.lines().filter(|l| !l.contains("(through"));
    for (category, nodedefs) in native.map(|l| l.split_once(": ").unwrap()) {
        // A convert is made of other nodes, and needs its input's type.
        if category == "convert" {
            continue;
        }
        for nodedef in nodedefs.split(", ") {
            let definition = (library.descendants())
                .find(|n| n.has_tag_name("nodedef") && n.attribute("name") == Some(nodedef))
                .unwrap_or_else(|| panic!("no {nodedef} in MaterialX's library"));
            let child =
                |tag: &'static str| (definition.children()).filter(move |n| n.has_tag_name(tag));
            let outputs: Vec<_> = child("output").collect();
            let (node_type, output) = match &outputs[..] {
                [one] => (one.attribute("type").unwrap(), String::new()),
                [first, ..] => {
                    let name = first.attribute("name").unwrap();
                    ("multioutput", format!(r#" output="{name}""#))
                }
                [] => panic!("{nodedef} has no output"),
            };
            let output_type = outputs[0].attribute("type").unwrap();
            let file = texture_input(category);
            let defaults: String = child("input")
                .filter(|input| input.attribute("type") != Some("filename"))
                .filter_map(|input| {
                    let value = input.attribute("value")?;
                    let (name, ty) = (input.attribute("name")?, input.attribute("type")?);
                    Some(format!(
                        "\n<input name=\"{name}\" type=\"{ty}\" value=\"{value}\" />"
                    ))
                })
                .collect();
            if defaults.is_empty() {
                continue;
            }
            let graph = |form: &str, inputs: &str| {
                format!(
                    "<nodegraph name=\"{form}\">\n<{category} name=\"n\" type=\"{node_type}\" \
                     nodedef=\"{nodedef}\">{file}{inputs}\n</{category}>\n<output name=\"out\" \
                     type=\"{output_type}\" nodename=\"n\"{output} />\n</nodegraph>\n"
                )
            };
            let document = dir.path().join(format!("{nodedef}.mtlx"));
            let graphs = graph("omitted", "") + &graph("explicit", &defaults);
            std::fs::write(
                &document,
                format!("<materialx version=\"1.39\">\n{graphs}</materialx>\n"),
            )
            .unwrap();
            let hash = |graph: &str| {
                let document = document.to_str().unwrap();
                let args = ["render", document, "--output", graph, "--size", "4x4", "-o"];
                tessera(&[&args[..], &[image.to_str().unwrap()]].concat())
                    .expect_code(0)
                    .pixel_hash()
            };
            if hash("omitted/out") != hash("explicit/out") {
                differing.push(nodedef.to_string());
            }
            compared += 1;
        }
    }
    assert!(compared >= 250, "only {compared} nodedefs");
    assert!(differing.is_empty(), "defaults differ: {differing:?}");
}

#[test]
fn samples_and_seed_apply_to_documents_and_scenes_and_convert_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let size = ["--size", "24x16"];
    let plain = hash_of(PATTERN, &size);
    let sampled = hash_of(PATTERN, &[&size[..], &["--samples", "4"]].concat());
    let seeded = hash_of(
        PATTERN,
        &[&size[..], &["--samples", "4", "--seed", "9"]].concat(),
    );
    // More samples average other points; another seed places them elsewhere.
    assert_ne!(plain, sampled);
    assert_ne!(sampled, seeded);
    // The converted scene keeps them in its [image], and renders the same.
    let converted = dir.path().join("pattern.toml");
    let out = converted.to_str().unwrap();
    let args = [
        "convert",
        PATTERN,
        "-o",
        out,
        "--size",
        "24x16",
        "--samples",
        "4",
        "--seed",
        "9",
    ];
    tessera(&args).expect_code(0);
    let text = std::fs::read_to_string(&converted).unwrap();
    assert!(text.contains("samples = 4\nseed = 9\n"), "{text}");
    assert_eq!(hash_of(out, &[]), seeded);
    // Over a scene's own [image]: the same as its converted twin's.
    assert_eq!(hash_of(out, &["--samples", "1", "--seed", "0"]), plain);
    // Out of range: a usage error.
    tessera(&["render", PATTERN, "--samples", "0"])
        .expect_code(2)
        .expect_stderr_has("0 is not in 1..=4096");
}

#[test]
fn output_and_size_are_for_documents_and_scenes() {
    let scene = root().join("scenes/nodes/ramplr.toml");
    let run = tessera(&[
        "render",
        scene.to_str().unwrap(),
        "-o",
        "never-written.png",
        "--output",
        "x/y",
    ]);
    run.expect_code(2)
        .expect_stderr_has("an output is chosen only in a MaterialX document (.mtlx)");
    assert!(
        hash_of("scenes/nodes/ramplr.toml", &["--size", "10x10"])
            != hash_of("scenes/nodes/ramplr.toml", &[])
    );
    let run = tessera(&["render", "scenes/nodes/ramplr.toml", "--size", "10by10"]);
    run.expect_code(2)
        .expect_stderr_has("is not a size: write WIDTHxHEIGHT");
}

/// The largest difference from MaterialX's own renderer that an output of
/// the conformance documents may have (docs/materialx.md).
fn tolerance(graph: &str) -> Option<f32> {
    Some(match graph {
        // Noise, bit for bit (noise.mtlx's vector and colour forms too).
        "cellnoise2d"
        | "fractal2d"
        | "cellnoise3d"
        | "fractal3d"
        | "fractal3d_default_position" => 0.0,
        g if ["noise2d_", "noise3d_", "fractal2d_", "fractal3d_"]
            .iter()
            .any(|form| g.starts_with(form)) =>
        {
            0.0
        }
        // Mesa's asin and acos are approximations, off by up to 4e-4;
        // Tessera's are the correctly rounded ones (checked in double
        // precision). latlongimage takes an asin too.
        g if g.starts_with("asin_") || g.starts_with("acos_") || g == "latlongimage" => 5e-4,
        // latlong.mtlx: its asin and atan2 (and multiply-adds Mesa may
        // fuse) move the sample on a texture of 16 waves across; towards
        // the poles asin's slope grows (its image up to 5e-2 off).
        "latlong_poles" => return None,
        g if g.starts_with("latlong_") => 1e-3,
        // Nine by seven tiles: a tile's texture coordinates reach 9, where
        // a float's last bit is 1e-6 and moves the sample by up to 5e-6;
        // Mesa's sin, cos and fused multiply-adds leave a few pixels'
        // coordinates a few bits from Tessera's.
        "hextiledimage_many" => 5e-5,
        // MaterialX's hexagon takes the square root of a negative number
        // inside every hexagon (undefined in GLSL) and compares it with 0:
        // Mesa reads the lone hexagon as inside there, as Tessera's IEEE
        // NaN does, but compiles staggered tiledhexagons to outside
        // everywhere (all black). With the root made defined (`sqrt(max(x,
        // 0))`), MaterialX's image of tiledhexagons1 is Tessera's, every
        // pixel.
        "tiledhexagons1" | "tiledhexagons2" => return None,
        // Jitter 0.7 turns the coordinate by -27000 degrees: the sine and
        // cosine of -471 radians, whose precision GLSL leaves to the
        // implementation; every pixel differs a little (the noise by up to
        // 2.4e-4, median 4.7e-5), as a turn a little off would make it.
        // Turned by -4500 or -9000 degrees, or not at all, the noises are
        // bit for bit MaterialX's.
        "unifiednoise2d_5" | "unifiednoise3d_5" => 5e-4,
        _ => 1e-5,
    })
}

/// Every `.mtlx` file under `folder`, at any depth.
fn documents_under(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut documents = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            match path.extension() {
                None if path.is_dir() => folders.push(path),
                Some(e) if e == "mtlx" => documents.push(path),
                _ => {}
            }
        }
    }
    documents.sort();
    documents
}

/// Renders every output that `references` (a folder of
/// `<document>__<graph>__<output>.exr`, the graph empty for a top-level
/// output) holds MaterialX's image of, from the document of that name
/// under `documents`, and compares every channel of every pixel, within
/// `tolerance(graph)` (None: not compared with MaterialX's image, still
/// rendered and converted). Each output is converted to a
/// Tessera scene too, which must give the same pixel hash. Returns how many
/// were compared, and what failed.
fn compare_with_references(
    documents: &str,
    references: &str,
    tolerance: impl Fn(&str) -> Option<f32>,
) -> (usize, Vec<String>) {
    let documents = documents_under(&root().join(documents));
    let dir = tempfile::tempdir().unwrap();
    // Converted scenes name the documents' textures relatively.
    let textures = root().join("tests/materialx/conformance/textures");
    std::fs::create_dir(dir.path().join("textures")).unwrap();
    for texture in std::fs::read_dir(textures).unwrap() {
        let texture = texture.unwrap();
        std::fs::copy(
            texture.path(),
            dir.path().join("textures").join(texture.file_name()),
        )
        .unwrap();
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut names: Vec<_> = std::fs::read_dir(root().join(references))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in names {
        let stem = name.strip_suffix(".exr").expect("references are EXR");
        let [document, graph, output] = stem.split("__").collect::<Vec<_>>()[..] else {
            panic!("{name} is not <document>__<graph>__<output>.exr");
        };
        let scene = (documents.iter())
            .find(|path| path.file_stem().is_some_and(|s| s == document))
            .unwrap_or_else(|| panic!("no document {document}.mtlx for {name}"));
        let scene = scene.to_str().unwrap();
        let which = match graph {
            "" => output.to_string(),
            _ => format!("{graph}/{output}"),
        };
        let out = dir.path().join(&name);
        let rendered = tessera(&[
            "render",
            scene,
            "--output",
            &which,
            "--size",
            "64x64",
            "-o",
            out.to_str().unwrap(),
        ]);
        let document_hash = rendered.expect_code(0).pixel_hash();
        if let Some(tolerance) = tolerance(graph) {
            let expected = image::open(root().join(references).join(&name))
                .unwrap()
                .to_rgba32f();
            let actual = image::open(&out).unwrap().to_rgba32f();
            assert_eq!(actual.dimensions(), expected.dimensions(), "{name}");
            let worst = (actual.pixels().zip(expected.pixels()))
                .flat_map(|(a, e)| a.0.into_iter().zip(e.0))
                .map(|(a, e)| {
                    if a.is_nan() && e.is_nan() {
                        0.0
                    } else {
                        (a - e).abs()
                    }
                })
                .fold(0.0f32, |worst, d| {
                    if d.is_nan() {
                        f32::INFINITY
                    } else {
                        worst.max(d)
                    }
                });
            if worst > tolerance {
                failures.push(format!(
                    "{scene} {which}: differs by {worst:e} (tolerance {tolerance:e})"
                ));
            }
        }
        // The same output as a Tessera scene gives the same pixels.
        let converted = dir.path().join(format!("{stem}.toml"));
        tessera(&[
            "convert",
            scene,
            "--output",
            &which,
            "--size",
            "64x64",
            "-o",
            converted.to_str().unwrap(),
        ])
        .expect_code(0);
        let from_scene = dir.path().join(format!("{stem}.scene.exr"));
        let scene_render = tessera(&[
            "render",
            converted.to_str().unwrap(),
            "-o",
            from_scene.to_str().unwrap(),
        ]);
        if scene_render.expect_code(0).pixel_hash() != document_hash {
            failures.push(format!(
                "{scene} {which}: its converted scene renders other pixels"
            ));
        }
        compared += 1;
    }
    (compared, failures)
}

#[test]
fn every_conformance_document_matches_materialx_own_renderer_and_converts_to_the_same_pixels() {
    let (compared, failures) = compare_with_references(
        "tests/materialx/conformance",
        "tests/materialx/references",
        tolerance,
    );
    assert!(compared >= 80, "only {compared} references");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn materialx_own_test_documents_match_its_renderer_and_convert_to_the_same_pixels() {
    // Documents written independently of Tessera (tests/materialx/testsuite).
    let (compared, failures) = compare_with_references(
        "tests/materialx/testsuite",
        "tests/materialx/testsuite/references",
        |graph| match graph {
            // Mesa's asin and acos, as above.
            "asin_nodegraph" | "acos_nodegraph" => Some(5e-4),
            // They read the geometric normal, which MaterialX's
            // texture-space render does not give (it renders a quad without
            // normals) and Tessera gives as the flat image's (0, 0, 1).
            "smoothstep_vector3" | "smoothstep_multi" => None,
            _ => Some(1e-5),
        },
    );
    assert!(compared >= 120, "only {compared} references");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_signature_materialx_lacks_is_refused_with_those_it_has() {
    assert_document_errors(
        r#"<materialx>
  <nodegraph name="NG">
    <sin name="s" type="color3" />
    <add name="a" type="color3" nodedef="ND_add_color3I">
      <input name="in1" type="color3" nodename="s" />
    </add>
    <output name="out" type="color3" nodename="a" />
  </nodegraph>
</materialx>
"#,
        &[
            (
                "MaterialX node `sin` of type color3 is not supported",
                "3:25",
            ),
            ("nodedef `ND_add_color3I` is not supported", "4:42"),
        ],
    );
    check_document("<materialx>\n  <nodegraph name=\"NG\">\n    <sin name=\"s\" type=\"color3\" />\n    <output name=\"out\" type=\"color3\" nodename=\"s\" />\n  </nodegraph>\n</materialx>\n")
        .expect_code(2)
        .expect_stderr_has("Tessera renders ND_sin_float, ND_sin_vector2, ND_sin_vector3");
}

#[test]
fn an_image_of_a_narrower_type_reads_the_file_in_the_documents_colour_space() {
    // A color3 image of a PNG with no colour space: its texels as stored
    // (the document's working space), the first three channels.
    let dir = tempfile::tempdir().unwrap();
    let texture = root().join("scenes/nodes/textures/grid16.png");
    let document = format!(
        "<materialx>\n  <nodegraph name=\"NG\">\n    <image name=\"i\" type=\"color3\">\n      \
         <input name=\"file\" type=\"filename\" value=\"{}\" />\n    </image>\n    \
         <output name=\"out\" type=\"color3\" nodename=\"i\" />\n  </nodegraph>\n</materialx>\n",
        texture.display()
    );
    std::fs::write(dir.path().join("doc.mtlx"), document).unwrap();
    let scene = format!(
        "[image]\nwidth = 16\nheight = 16\n\n[nodes.i]\ntype = \"image\"\nfile = \"{}\"\n\
         colorspace = \"lin_rec709\"\n\n[output]\ncolor = \"@i\"\nalpha = 1.0\n",
        texture.display()
    );
    std::fs::write(dir.path().join("scene.toml"), scene).unwrap();
    let hash = |args: &[&str]| tessera_in(dir.path(), args).expect_code(0).pixel_hash();
    assert_eq!(
        hash(&["render", "doc.mtlx", "--size", "16x16", "-o", "a.png"]),
        hash(&["render", "scene.toml", "-o", "b.png"])
    );
}

#[test]
fn check_checks_every_output_of_a_document_and_names_the_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("doc.mtlx"),
        r#"<materialx>
  <nodegraph name="good">
    <output name="out" type="float" value="0.5" />
  </nodegraph>
  <nodegraph name="bad">
    <sin name="s" type="color3" />
    <output name="out" type="color3" nodename="s" />
  </nodegraph>
</materialx>
"#,
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "doc.mtlx"]);
    run.expect_code(2)
        .expect_stderr_has("error: MaterialX node `sin` of type color3 is not supported")
        .expect_stderr_has("(output bad/out)")
        .expect_stderr_has("1 of the 2 outputs have errors");
    assert!(
        run.stdout.contains("doc.mtlx good/out: ok ("),
        "{}",
        run.stdout
    );
    // One output named: only it.
    tessera_in(dir.path(), &["check", "doc.mtlx", "--output", "good/out"]).expect_code(0);
}

/// A document's own node `double` (in * 2, in defaulting to 0.25): its
/// nodedef and the graph that implements it.
const DOUBLE: &str = r#"  <nodedef name="ND_double_float" node="double">
    <input name="in" type="float" value="0.25" />
    <output name="out" type="float" />
  </nodedef>
  <nodegraph name="NG_double_float" nodedef="ND_double_float">
    <multiply name="m" type="float">
      <input name="in1" type="float" interfacename="in" />
      <input name="in2" type="float" value="2" />
    </multiply>
    <output name="out" type="float" nodename="m" />
  </nodegraph>
"#;

#[test]
fn a_documents_own_definition_renders_through_its_graph() {
    // A nodedef and the graph implementing it, used by a node graph; the
    // defining graph is not itself an output to render.
    let document = format!(
        r#"<materialx>
{DOUBLE}  <nodegraph name="main">
    <ramplr name="r" type="float">
      <input name="valuel" type="float" value="0" />
      <input name="valuer" type="float" value="0.5" />
    </ramplr>
    <double name="given" type="float">
      <input name="in" type="float" nodename="r" />
    </double>
    <double name="defaulted" type="float" />
    <add name="sum" type="float">
      <input name="in1" type="float" nodename="given" />
      <input name="in2" type="float" nodename="defaulted" />
    </add>
    <output name="out" type="float" nodename="sum" />
  </nodegraph>
</materialx>
"#
    );
    let scene = "[image]\nwidth = 16\nheight = 8\n\n[nodes.r]\ntype = \"ramplr\"\nvaluel = 0.0\nvaluer = 0.5\n\n\
                 [nodes.sum]\ntype = \"multiply\"\nin1 = \"@r\"\nin2 = 2.0\n\n[nodes.plus]\ntype = \"add\"\n\
                 in1 = \"@sum\"\nin2 = 0.5\n\n[output]\ncolor = \"@plus\"\nalpha = 1.0\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.mtlx"), document).unwrap();
    std::fs::write(dir.path().join("scene.toml"), scene).unwrap();
    let run = tessera_in(dir.path(), &["check", "doc.mtlx"]);
    assert_eq!(
        run.expect_code(0).stdout.lines().count(),
        1,
        "{}",
        run.stdout
    );
    let hash = |args: &[&str]| tessera_in(dir.path(), args).expect_code(0).pixel_hash();
    assert_eq!(
        hash(&["render", "doc.mtlx", "--size", "16x8", "-o", "a.png"]),
        hash(&["render", "scene.toml", "-o", "b.png"])
    );
    tessera_in(dir.path(), &["convert", "doc.mtlx", "-o", "c.toml"]).expect_code(0);
    let converted = std::fs::read_to_string(dir.path().join("c.toml")).unwrap();
    assert!(converted.contains("[nodes.main__given__m]"), "{converted}");
    assert!(
        converted.contains(
            "[nodes.main__defaulted__m]\ntype = \"multiply\"\nvalue_type = \"float\"\nin1 = 0.25\n"
        ),
        "{converted}"
    );
}

#[test]
fn a_mistake_inside_a_definition_is_located_at_the_node_using_it() {
    assert_document_errors(
        r#"<materialx>
  <nodedef name="ND_broken_float" node="broken">
    <output name="out" type="float" />
  </nodedef>
  <nodegraph name="NG_broken_float" nodedef="ND_broken_float">
    <matrix_multiply name="m" type="float" />
    <output name="out" type="float" nodename="m" />
  </nodegraph>
  <nodegraph name="main">
    <broken name="b" type="float" />
    <output name="out" type="float" nodename="b" />
  </nodegraph>
</materialx>
"#,
        &[("MaterialX node `matrix_multiply` is not supported", "10:6")],
    );
}

#[test]
fn every_testsuite_document_here_renders() {
    // MaterialX's own test documents (tests/materialx/testsuite/README.md):
    // every output checks, and the first renders the same at 1 and 2 threads.
    let documents = documents_under(&root().join("tests/materialx/testsuite"));
    assert!(documents.len() >= 18, "{documents:?}");
    let dir = tempfile::tempdir().unwrap();
    for document in documents {
        let document = document.to_str().unwrap();
        tessera(&["check", document]).expect_code(0);
        let out = dir.path().join("out.exr");
        let hashes: Vec<String> = ["1", "2"]
            .iter()
            .map(|threads| {
                let args = [
                    "render",
                    document,
                    "--size",
                    "32x32",
                    "--threads",
                    threads,
                    "-o",
                ];
                let mut args = args.to_vec();
                args.push(out.to_str().unwrap());
                tessera(&args).expect_code(0).pixel_hash()
            })
            .collect();
        assert_eq!(hashes[0], hashes[1], "{document}");
    }
}

#[test]
fn a_vector_output_is_written_as_a_colour() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("doc.mtlx"),
        "<materialx>\n  <nodegraph name=\"g\">\n    <texcoord name=\"uv\" type=\"vector2\" />\n    \
         <output name=\"out\" type=\"vector2\" nodename=\"uv\" />\n  </nodegraph>\n</materialx>\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "[image]\nwidth = 8\nheight = 4\n\n[nodes.uv]\ntype = \"texcoord\"\n\n[nodes.s]\ntype = \"separate2\"\n\
         in = \"@uv\"\n\n[nodes.c]\ntype = \"combine3\"\nin1 = \"@s.outx\"\nin2 = \"@s.outy\"\nin3 = 0.0\n\n\
         [output]\ncolor = \"@c\"\nalpha = 1.0\n",
    )
    .unwrap();
    let hash = |args: &[&str]| tessera_in(dir.path(), args).expect_code(0).pixel_hash();
    assert_eq!(
        hash(&["render", "doc.mtlx", "--size", "8x4", "-o", "a.exr"]),
        hash(&["render", "scene.toml", "-o", "b.exr"])
    );
}

#[test]
fn geometric_nodes_are_the_flat_images_constants_and_frame_is_the_frame() {
    // MaterialX's texture-space render gives NaN for normal, tangent and
    // bitangent (the conformance documents cannot compare them): Tessera's
    // flat image faces the camera (docs/materialx.md).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("doc.mtlx"),
        "<materialx>\n  <nodegraph name=\"g\">\n    <normal name=\"n\" type=\"vector3\">\n      \
         <input name=\"space\" type=\"string\" value=\"world\" />\n    </normal>\n    \
         <tangent name=\"t\" type=\"vector3\" />\n    <bitangent name=\"b\" type=\"vector3\" />\n    \
         <frame name=\"f\" type=\"float\" />\n    \
         <output name=\"out_n\" type=\"vector3\" nodename=\"n\" />\n    \
         <output name=\"out_t\" type=\"vector3\" nodename=\"t\" />\n    \
         <output name=\"out_b\" type=\"vector3\" nodename=\"b\" />\n    \
         <output name=\"out_f\" type=\"float\" nodename=\"f\" />\n  </nodegraph>\n</materialx>\n",
    )
    .unwrap();
    let pixel = |output: &str, frame: &str| {
        let args = [
            "render", "doc.mtlx", "--output", output, "--size", "4x4", "--frame", frame, "-o",
            "out.exr",
        ];
        tessera_in(dir.path(), &args).expect_code(0);
        let image = image::open(dir.path().join("out.exr"))
            .unwrap()
            .to_rgba32f();
        image.get_pixel(1, 2).0
    };
    assert_eq!(pixel("g/out_n", "0"), [0.0, 0.0, 1.0, 1.0]);
    assert_eq!(pixel("g/out_t", "0"), [1.0, 0.0, 0.0, 1.0]);
    assert_eq!(pixel("g/out_b", "0"), [0.0, 1.0, 0.0, 1.0]);
    assert_eq!(pixel("g/out_f", "7"), [7.0, 7.0, 7.0, 1.0]);
}

#[test]
fn an_included_documents_definitions_serve_the_document() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("defs")).unwrap();
    std::fs::write(
        dir.path().join("defs/double.mtlx"),
        format!("<materialx>\n{DOUBLE}</materialx>\n"),
    )
    .unwrap();
    let document = |href: &str| {
        format!(
            "<materialx xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n  <xi:include href=\"{href}\" />\n  \
             <nodegraph name=\"main\">\n    <double name=\"d\" type=\"float\" />\n    \
             <output name=\"out\" type=\"float\" nodename=\"d\" />\n  </nodegraph>\n</materialx>\n"
        )
    };
    std::fs::write(dir.path().join("doc.mtlx"), document("defs/double.mtlx")).unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "[image]\nwidth = 4\nheight = 4\n\n[output]\ncolor = 0.5\nalpha = 1.0\n",
    )
    .unwrap();
    let hash = |args: &[&str]| tessera_in(dir.path(), args).expect_code(0).pixel_hash();
    assert_eq!(
        hash(&["render", "doc.mtlx", "--size", "4x4", "-o", "a.png"]),
        hash(&["render", "scene.toml", "-o", "b.png"])
    );
    // A missing include is an error at its href.
    std::fs::write(dir.path().join("doc.mtlx"), document("defs/missing.mtlx")).unwrap();
    tessera_in(dir.path(), &["check", "doc.mtlx"])
        .expect_code(2)
        .expect_stderr_has("cannot include ")
        .expect_stderr_has("doc.mtlx:2:21");
}

#[test]
fn definitions_and_outputs_that_lead_back_to_themselves_are_errors_not_crashes() {
    assert_document_errors(
        r#"<materialx>
  <nodedef name="ND_foo_float" node="foo">
    <output name="out" type="float" />
  </nodedef>
  <nodegraph name="NG_foo_float" nodedef="ND_foo_float">
    <foo name="inner" type="float" />
    <output name="out" type="float" nodename="inner" />
  </nodegraph>
  <nodegraph name="g">
    <foo name="f" type="float" />
    <output name="out" type="float" nodename="f" />
  </nodegraph>
</materialx>
"#,
        &[(
            "following `out` leads through more than 256 connections: \
             the document's connections or definitions lead back to themselves",
            "10:6",
        )],
    );
    assert_document_errors(
        "<materialx>\n  <nodegraph name=\"h\">\n    <output name=\"o\" type=\"float\" nodegraph=\"h\" output=\"o\" />\n  </nodegraph>\n</materialx>\n",
        &[(
            "following `o` leads through more than 256 connections: \
             the document's connections or definitions lead back to themselves",
            "3:19",
        )],
    );
    assert_document_errors(
        // (MaterialX's blur, for shaders, is rendered through its graph.)
        "<materialx>\n  <nodegraph name=\"g\">\n    <blur name=\"r\" type=\"float\" />\n    <output name=\"o\" type=\"float\" nodename=\"r\" output=\"nope\" />\n  </nodegraph>\n</materialx>\n",
        &[("node `r` has no such output", "4:56")],
    );
}

#[test]
fn array_values_may_be_separated_by_spaces_as_materialx_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let document = |value: &str| {
        format!(
            r#"<materialx>
  <nodegraph name="NG">
    <constant name="c" type="color3">
      <input name="value" type="color3" value="{value}" />
    </constant>
    <output name="out" type="color3" nodename="c" />
  </nodegraph>
</materialx>
"#
        )
    };
    let hash = |value: &str| {
        std::fs::write(dir.path().join("doc.mtlx"), document(value)).unwrap();
        tessera_in(dir.path(), &["render", "doc.mtlx", "-o", "out.exr"])
            .expect_code(0)
            .pixel_hash()
    };
    let commas = hash("0.25, 0.5, 0.75");
    assert_eq!(hash("0.25 0.5 0.75"), commas);
    assert_eq!(hash("0.25,0.5,0.75"), commas);
    assert_ne!(hash("0.25 0.5 0.5"), commas);
    assert_document_errors(
        &document("0.25 0.5"),
        &[(
            "a color3 is 3 numbers separated by commas or spaces, not \"0.25 0.5\"",
            "4:48",
        )],
    );
}

#[test]
fn an_unknown_colour_space_is_located_and_the_known_ones_listed() {
    let document = r#"<materialx colorspace="srgb_texture">
  <nodegraph name="NG">
    <constant name="c" type="color3">
      <input name="value" type="color3" value="0.5, 0.5, 0.5" colorspace="sRGB" />
    </constant>
    <output name="out" type="color3" nodename="c" />
  </nodegraph>
</materialx>
"#;
    assert_document_errors(document, &[("unknown colour space `sRGB`", "4:75")]);
    check_document(document)
        .expect_code(2)
        .expect_stderr_has("Tessera knows raw, lin_rec709, lin_srgb, srgb_texture,");
}

/// The text of the element of `tag` that starts with `start` in `text`, up
/// to its closing tag.
fn element<'t>(text: &'t str, start: &str, tag: &str) -> &'t str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}"));
    let close = format!("</{tag}>");
    let to = from + text[from..].find(&close).unwrap() + close.len();
    &text[from..to]
}

/// `document` with every node of `category` rendered through MaterialX's
/// own graph for it: the library's definitions of the category copied
/// under the name `<category>_graph` (nodedefs `ND_graph_...`), and the
/// document's nodes renamed to it.
fn through_graphs(document: &str, category: &str) -> String {
    let library = root().join("crates/tessera-materialx/stdlib");
    let defs = std::fs::read_to_string(library.join("stdlib_defs.mtlx")).unwrap();
    let graphs = std::fs::read_to_string(library.join("stdlib_ng.mtlx")).unwrap();
    let mut definitions = String::new();
    let pattern = format!("node=\"{category}\"");
    for (at, _) in defs.match_indices("<nodedef name=\"") {
        let nodedef = element(&defs[at..], "<nodedef", "nodedef");
        let name = nodedef.split('"').nth(1).unwrap();
        let graph_start = format!("nodedef=\"{name}\"");
        // The graph implementing it (other graphs' nodes may name it too).
        let graph_at = (graphs.match_indices(&graph_start))
            .map(|(at, _)| graphs[..at].rfind('<').unwrap())
            .find(|&tag| graphs[tag..].starts_with("<nodegraph"));
        let (true, Some(graph_at)) = (nodedef.contains(&pattern), graph_at) else {
            continue;
        };
        let renamed = name.replacen("ND_", "ND_graph_", 1);
        definitions.push_str(
            &nodedef
                .replace(&format!("name=\"{name}\""), &format!("name=\"{renamed}\""))
                .replace(&pattern, &format!("node=\"{category}_graph\"")),
        );
        let graph = element(&graphs[graph_at..], "<nodegraph", "nodegraph");
        definitions.push_str(
            &graph
                .replace("name=\"NG_", "name=\"NG_graph_")
                .replace(&graph_start, &format!("nodedef=\"{renamed}\"")),
        );
    }
    assert!(!definitions.is_empty(), "no graph defines {category}");
    let textures = root().join("tests/materialx/conformance/textures/");
    document
        .replace(&format!("<{category} "), &format!("<{category}_graph "))
        .replace(&format!("</{category}>"), &format!("</{category}_graph>"))
        .replace(
            &format!("nodedef=\"ND_{category}_"),
            &format!("nodedef=\"ND_graph_{category}_"),
        )
        .replace(
            "value=\"textures/",
            &format!("value=\"{}", textures.display()),
        )
        .replacen(
            "<materialx version=\"1.39\">",
            &format!("<materialx version=\"1.39\">{definitions}"),
            1,
        )
}

#[test]
fn native_nodes_give_the_pixels_of_the_materialx_graphs_they_replace() {
    let conformance = root().join("tests/materialx/conformance");
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str])] = &[
        (
            "shapes",
            &[
                "circle",
                "line",
                "cloverleaf",
                "hexagon",
                "grid",
                "crosshatch",
                "tiledcircles",
                "tiledcloverleafs",
                "tiledhexagons",
            ],
        ),
        ("ramp4_switch", &["ramp4", "switch"]),
        ("ramp", &["ramp", "ramp_gradient"]),
        ("random", &["randomfloat", "randomcolor"]),
        ("unifiednoise", &["unifiednoise2d", "unifiednoise3d"]),
        ("colorcorrect", &["colorcorrect"]),
        ("latlong", &["latlongimage"]),
    ];
    let mut compared = 0;
    for (document, categories) in cases {
        let native = conformance.join(format!("{document}.mtlx"));
        let text = std::fs::read_to_string(&native).unwrap();
        let mut graphed = text.clone();
        for category in *categories {
            graphed = through_graphs(&graphed, category);
        }
        let through = dir.path().join(format!("{document}.mtlx"));
        std::fs::write(&through, &graphed).unwrap();
        let out = dir.path().join("out.exr");
        for (at, _) in text.match_indices("<nodegraph name=\"") {
            let graph = text[at..].split('"').nth(1).unwrap();
            let which = format!("{graph}/out");
            let hash = |doc: &std::path::Path| {
                let args = [
                    "render",
                    doc.to_str().unwrap(),
                    "--output",
                    &which,
                    "--size",
                    "32x32",
                ];
                let mut args = args.to_vec();
                args.extend(["-o", out.to_str().unwrap()]);
                tessera(&args).expect_code(0).pixel_hash()
            };
            assert_eq!(hash(&native), hash(&through), "{document}.mtlx {which}");
            compared += 1;
        }
    }
    assert!(compared >= 150, "only {compared} outputs");
}

/// Renders output `output` of `document` (written as `doc.mtlx`) at
/// `size` into an EXR, and gives its pixels, rows from the top.
fn render_pixels(document: &str, output: &str, size: &str) -> Vec<[f32; 4]> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.mtlx"), document).unwrap();
    tessera_in(
        dir.path(),
        &[
            "render", "doc.mtlx", "--output", output, "--size", size, "-o", "out.exr",
        ],
    )
    .expect_code(0);
    let image = image::open(dir.path().join("out.exr"))
        .unwrap()
        .to_rgba32f();
    image.pixels().map(|p| p.0).collect()
}

#[test]
fn materialx_colour_space_aliases_read_as_the_spaces_they_name() {
    // MaterialX 1.39.5's DefaultColorManagementSystem.cpp, COLOR_SPACE_REMAP.
    let aliases = [
        ("gamma18", "g18_rec709"),
        ("gamma22", "g22_rec709"),
        ("gamma24", "rec709_display"),
        ("lin_ap1_scene", "acescg"),
        ("lin_rec709_scene", "lin_rec709"),
        ("lin_p3d65_scene", "lin_displayp3"),
        ("lin_adobergb_scene", "lin_adobergb"),
        ("srgb_rec709_scene", "srgb_texture"),
        ("g22_rec709_scene", "g22_rec709"),
        ("g18_rec709_scene", "g18_rec709"),
        ("g22_ap1_scene", "g22_ap1"),
        ("srgb_p3d65_scene", "srgb_displayp3"),
        ("g22_adobergb_scene", "adobergb"),
    ];
    let texture = root().join("tests/materialx/conformance/textures/uniform_a.png");
    // The document's colour space, inherited by a file and a colour value.
    let document = |space: &str| {
        format!(
            r#"<materialx colorspace="{space}">
  <nodegraph name="NG">
    <image name="i" type="color3">
      <input name="file" type="filename" value="{}" />
    </image>
    <constant name="c" type="color3">
      <input name="value" type="color3" value="0.2, 0.5, 0.8" />
    </constant>
    <add name="a" type="color3">
      <input name="in1" type="color3" nodename="i" />
      <input name="in2" type="color3" nodename="c" />
    </add>
    <output name="out" type="color3" nodename="a" />
  </nodegraph>
</materialx>
"#,
            texture.display()
        )
    };
    let pixels = |space: &str| render_pixels(&document(space), "NG/out", "2x2")[0];
    let linear = pixels("lin_rec709");
    for (alias, name) in aliases {
        let aliased = pixels(alias);
        assert_eq!(aliased, pixels(name), "{alias}");
        assert_eq!(aliased == linear, name == "lin_rec709", "{alias}");
    }
    // An unknown name's error lists them.
    check_document(document("gamma20"))
        .expect_code(2)
        .expect_stderr_has("error: unknown colour space `gamma20`")
        .expect_stderr_has("doc.mtlx:1:24")
        .expect_stderr_has(
            "and MaterialX's names for them: gamma18, gamma22, gamma24, lin_ap1_scene,",
        );
}

#[test]
fn a_per_channel_mix_weighs_each_channel_by_its_own_mix() {
    // bg * (1 - mix) + fg * mix per channel: exact in floats.
    let document = r#"<materialx>
  <nodegraph name="NG">
    <constant name="weight" type="color3">
      <input name="value" type="color3" value="0.25, 0.5, 1" />
    </constant>
    <mix name="c3" type="color3">
      <input name="fg" type="color3" value="1, 2, -1" />
      <input name="bg" type="color3" value="0.5, 0, 1" />
      <input name="mix" type="color3" nodename="weight" />
    </mix>
    <mix name="c4" type="color4">
      <input name="fg" type="color4" value="1, 2, -1, 1" />
      <input name="bg" type="color4" value="0.5, 0, 1, 0" />
      <input name="mix" type="color4" value="0.25, 0.5, 1, 0.5" />
    </mix>
    <mix name="v2" type="vector2">
      <input name="fg" type="vector2" value="1, 2" />
      <input name="bg" type="vector2" value="0.5, 0" />
      <input name="mix" type="vector2" value="0.25, 0.5" />
    </mix>
    <mix name="v3" type="vector3" nodedef="ND_mix_vector3_vector3">
      <input name="fg" type="vector3" value="1, 2, -1" />
      <input name="mix" type="vector3" value="0.25, 0.5, 1" />
    </mix>
    <output name="out_c3" type="color3" nodename="c3" />
    <output name="out_c4" type="color4" nodename="c4" />
    <output name="out_v2" type="vector2" nodename="v2" />
    <output name="out_v3" type="vector3" nodename="v3" />
  </nodegraph>
</materialx>
"#;
    let cases = [
        ("NG/out_c3", [0.625, 1.0, -1.0, 1.0]),
        ("NG/out_c4", [0.625, 1.0, -1.0, 0.5]),
        ("NG/out_v2", [0.625, 1.0, 0.0, 1.0]),
        // bg left out: MaterialX's 0.
        ("NG/out_v3", [0.25, 1.0, -1.0, 1.0]),
    ];
    for (output, expected) in cases {
        for pixel in render_pixels(document, output, "2x2") {
            assert_eq!(pixel, expected, "{output}");
        }
    }
    assert_document_errors(
        r#"<materialx>
  <nodegraph name="NG">
    <mix name="m" type="color3" nodedef="ND_mix_color3_color3">
      <input name="amount" type="color3" value="1, 1, 1" />
    </mix>
    <output name="out" type="color3" nodename="m" />
  </nodegraph>
</materialx>
"#,
        &[("node `NG__m` (mix) has no input `amount`", "4:20")],
    );
    let run = tessera(&["nodes", "--materialx"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "ND_mix_color3_color3, ND_mix_color4_color4, ND_mix_vector2_vector2, ND_mix_vector3_vector3, ND_mix_vector4_vector4"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_vector3_texcoord_is_the_texture_coordinate_with_z_0() {
    let document = r#"<materialx>
  <nodegraph name="NG">
    <texcoord name="t" type="vector3">
      <input name="index" type="integer" value="0" />
    </texcoord>
    <output name="out" type="vector3" nodename="t" />
  </nodegraph>
</materialx>
"#;
    // Pixel centres of a 4 x 2 image, v up.
    let expected: Vec<[f32; 4]> = [0.75, 0.25]
        .iter()
        .flat_map(|&v| [0.125, 0.375, 0.625, 0.875].map(|u| [u, v, 0.0, 1.0]))
        .collect();
    assert_eq!(render_pixels(document, "NG/out", "4x2"), expected);
}

#[test]
fn a_top_level_output_of_a_graph_output_reading_nothing_is_located_there() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("doc.mtlx"),
        r#"<materialx>
  <nodegraph name="G">
    <output name="a" type="float" />
  </nodegraph>
  <output name="t1" type="float" nodegraph="G" output="a" />
</materialx>
"#,
    )
    .unwrap();
    for output in ["t1", "G/a"] {
        let run = tessera_in(
            dir.path(),
            &["render", "doc.mtlx", "--output", output, "-o", "out.png"],
        );
        run.expect_code(2)
            .expect_stderr_has("error: output `a` reads nothing\n")
            .expect_stderr_has("doc.mtlx:3:5");
        assert!(!run.stderr.contains("[output]"), "{}", run.stderr);
    }
}

#[test]
fn duplicate_names_are_errors_naming_the_first() {
    let document = r#"<materialx>
  <nodegraph name="G">
    <constant name="c" type="float"><input name="value" type="float" value="1"/></constant>
    <constant name="c" type="float"><input name="value" type="float" value="2"/></constant>
    <output name="out" type="float" nodename="c" />
    <output name="out" type="float" nodename="c" />
  </nodegraph>
  <nodegraph name="G">
    <constant name="c" type="float"><input name="value" type="float" value="3"/></constant>
    <output name="out" type="float" nodename="c" />
  </nodegraph>
</materialx>
"#;
    assert_document_errors(
        document,
        &[
            ("node graph `G` has two elements named `c`", "4:21"),
            ("node graph `G` has two elements named `out`", "6:19"),
            ("the document has two elements named `G`", "8:20"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.mtlx"), document).unwrap();
    // The first of each is shown beside the second.
    tessera_in(dir.path(), &["check", "doc.mtlx"])
        .expect_code(2)
        .expect_stderr_has(
            "3 │     <constant name=\"c\" type=\"float\"><input name=\"value\" type=\"float\" value=\"1\"/></constant>\n  │                     - the first",
        )
        .expect_stderr_has("2 │   <nodegraph name=\"G\">\n  │                    - the first");
}

#[test]
fn values_out_of_range_or_with_empty_items_are_refused_where_written() {
    let cases = [
        ("float", "1e39", "values must be finite, not \"1e39\""),
        ("float", "-inf", "values must be finite, not \"-inf\""),
        (
            "color3",
            "1, 2, 1e39",
            "values must be finite, not \"1e39\"",
        ),
        (
            "integer",
            "3000000000",
            "an integer is from -2147483648 to 2147483647, not \"3000000000\"",
        ),
        (
            "integer",
            "-2147483649",
            "an integer is from -2147483648 to 2147483647, not \"-2147483649\"",
        ),
        (
            "color3",
            "1,,2,3",
            "a color3 is 3 numbers separated by commas or spaces, not \"1,,2,3\"",
        ),
        (
            "color3",
            "1,2,3,",
            "a color3 is 3 numbers separated by commas or spaces, not \"1,2,3,\"",
        ),
    ];
    for (ty, value, message) in cases {
        let document = format!(
            r#"<materialx>
  <nodegraph name="NG">
    <constant name="c" type="{ty}">
      <input name="value" value="{value}" type="{ty}" />
    </constant>
    <output name="out" type="{ty}" nodename="c" />
  </nodegraph>
</materialx>
"#
        );
        assert_document_errors(&document, &[(message, "4:34")]);
    }
    // The widest 32-bit integer and the largest float are values.
    for (ty, value) in [("integer", "2147483647"), ("float", "3.4e38")] {
        let document = format!(
            "<materialx>\n  <nodegraph name=\"NG\">\n    <output name=\"out\" type=\"{ty}\" value=\"{value}\" />\n  </nodegraph>\n</materialx>\n"
        );
        let expected = value.parse::<f32>().unwrap();
        assert_eq!(
            render_pixels(&document, "NG/out", "1x1"),
            [[expected, expected, expected, 1.0]]
        );
    }
}

#[test]
fn messages_say_what_is_accepted_and_where_a_connection_belongs() {
    assert_document_errors(
        r#"<materialx>
  <nodegraph name="NG">
    <constant name="c.1" type="float" />
    <output name="out" type="float" nodename="c.1" />
  </nodegraph>
</materialx>
"#,
        &[(
            "the name \"c.1\" cannot name a node: use ASCII letters, digits, `_` and `-`",
            "3:21",
        )],
    );
    assert_document_errors(
        r#"<materialx>
  <nodegraph name="NG">
    <input name="scale" type="float" value="2" />
  </nodegraph>
  <add name="a" type="float">
    <input name="in1" type="float" interfacename="scale" />
  </add>
  <output name="top" type="float" nodename="a" />
</materialx>
"#,
        &[(
            "`interfacename` is only for nodes inside a node graph",
            "6:51",
        )],
    );
    // The output types that can be written are named.
    check_document("<materialx>\n  <nodegraph name=\"NG\">\n    <output name=\"out\" type=\"string\" value=\"x\" />\n  </nodegraph>\n</materialx>\n")
        .expect_code(2)
        .expect_stderr_has(
            "render a float, integer, boolean, vector2, vector3, vector4, color3 or color4 output",
        );
}

#[test]
fn a_cubic_filtertype_is_filtered_linearly_as_materialx_renders_it() {
    let texture = root().join("tests/materialx/conformance/textures/wave16a.png");
    let document = |filter: &str| {
        format!(
            r#"<materialx>
  <nodegraph name="NG">
    <image name="i" type="color3">
      <input name="file" type="filename" value="{}" />
      <input name="filtertype" type="string" value="{filter}" />
    </image>
    <output name="out" type="color3" nodename="i" />
  </nodegraph>
</materialx>
"#,
            texture.display()
        )
    };
    // Magnified, so that the filters differ.
    let pixels = |filter: &str| render_pixels(&document(filter), "NG/out", "40x40");
    let cubic = pixels("cubic");
    assert_eq!(cubic, pixels("linear"));
    assert_ne!(cubic, pixels("closest"));
}

#[test]
fn a_connection_of_another_type_is_refused_at_the_input_naming_both_types() {
    // MaterialX connects values of one type only (PortElement::validate:
    // "Mismatched types in port connection"). A float read as a color3 was
    // widened silently; a vector2 was the compiler's error at the nodename,
    // naming neither the input nor its declared type.
    assert_document_errors(
        r#"<materialx>
  <nodegraph name="NG">
    <input name="scale" type="float" value="2" />
    <constant name="f" type="float"><input name="value" type="float" value="0.5" /></constant>
    <constant name="v" type="vector2"><input name="value" type="vector2" value="0.5, 0.2" /></constant>
    <separate3 name="s" type="multioutput"><input name="in" type="color3" value="1, 2, 3" /></separate3>
    <multiply name="m" type="color3">
      <input name="in1" type="color3" nodename="f" />
      <input name="in2" type="color3" nodename="v" />
    </multiply>
    <add name="a" type="color3">
      <input name="in1" type="color3" nodename="m" />
      <input name="in2" type="color3" interfacename="scale" />
    </add>
    <add name="b" type="color3">
      <input name="in1" type="color3" nodename="a" />
      <input name="in2" type="color3" nodename="s" output="outg" />
    </add>
    <output name="out" type="color4" nodename="b" />
  </nodegraph>
</materialx>
"#,
        &[
            (
                "input `in1` of type color3 reads node `f`, of type float",
                "8:7",
            ),
            (
                "input `in2` of type color3 reads node `v`, of type vector2",
                "9:7",
            ),
            (
                "input `in2` of type color3 reads the node graph's input `scale`, of type float",
                "13:7",
            ),
            (
                "input `in2` of type color3 reads output `outg` of node `s`, of type float",
                "17:7",
            ),
            (
                "output `out` of type color4 reads node `b`, of type color3",
                "19:5",
            ),
        ],
    );
    // A top-level node reading a node graph's output (check checks the
    // top-level output too; render renders the graph's, which is right).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("doc.mtlx"),
        r#"<materialx>
  <nodegraph name="NG">
    <output name="out" type="color3" value="1, 1, 1" />
  </nodegraph>
  <constant name="c" type="float">
    <input name="value" type="float" nodegraph="NG" output="out" />
  </constant>
  <output name="top" type="float" nodename="c" />
</materialx>
"#,
    )
    .unwrap();
    tessera_in(dir.path(), &["check", "doc.mtlx"])
        .expect_code(2)
        .expect_stderr_has(
            "error: input `value` of type float reads output `out` of node graph `NG`, of type color3\n",
        )
        .expect_stderr_has("doc.mtlx:6:5")
        .expect_stderr_has("(output top)");
    // A nodedef named by the node: each input's type is the nodedef's.
    assert_document_errors(
        r#"<materialx>
  <nodegraph name="NG">
    <extract name="e" type="float" nodedef="ND_extract_vector3">
      <input name="in" type="vector4" value="1, 2, 3, 4" />
      <input name="index" type="integer" value="3" />
    </extract>
    <output name="out" type="float" nodename="e" />
  </nodegraph>
</materialx>
"#,
        &[(
            "input `in` is of type vector4, but ND_extract_vector3's is of type vector3",
            "4:30",
        )],
    );
    // The help says how to convert.
    check_document("<materialx>\n  <nodegraph name=\"NG\">\n    <constant name=\"f\" type=\"float\" />\n    \
         <output name=\"out\" type=\"color3\" nodename=\"f\" />\n  </nodegraph>\n</materialx>\n")
        .expect_code(2)
        .expect_stderr_has(
            "MaterialX converts no type where it connects: read a color3 here (a `convert` node makes a color3 of a float)",
        );
}

#[test]
fn a_document_cut_short_or_with_a_dtd_is_located_where_it_goes_wrong() {
    // roxmltree places both at 1:1: the end of the document, and the
    // DOCTYPE, are where they are.
    assert_document_errors(
        "<?xml version=\"1.0\"?>\n<materialx>\n  <nodegraph name=\"NG\">\n    <add name=\"a\" type=\"float\">\n",
        &[(
            "not well-formed XML: the document ends before <add> is closed",
            "4:32",
        )],
    );
    assert_document_errors(
        "<materialx>\n  <nodegraph name=\"NG\">\n    <add name=\"a\" type=\"float\"",
        &[(
            "not well-formed XML: the document ends inside the tag <add>",
            "3:31",
        )],
    );
    assert_document_errors(
        r#"<?xml version="1.0"?>
<!DOCTYPE materialx [ <!ENTITY one "1"> ]>
<materialx>
  <nodegraph name="NG">
    <output name="out" type="float" value="&one;" />
  </nodegraph>
</materialx>
"#,
        &[(
            "DTDs are not supported: a MaterialX document has no <!DOCTYPE>",
            "2:1",
        )],
    );
}

#[test]
fn a_materialx_document_saved_as_xml_is_read_as_one() {
    // Chosen by the text, not the extension: it was read as TOML ("invalid
    // TOML: key with no value").
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join(PATTERN)).unwrap();
    assert!(text.starts_with("<?xml"));
    std::fs::write(dir.path().join("pattern.xml"), &text).unwrap();
    // Without the declaration, by its root element (after a byte-order mark).
    let bare = text.split_once("?>").unwrap().1;
    std::fs::write(dir.path().join("bare.xml"), format!("\u{feff}{bare}")).unwrap();
    let expected = hash_of(PATTERN, &["--size", "24x16"]);
    for name in ["pattern.xml", "bare.xml"] {
        let hash = tessera_in(
            dir.path(),
            &["render", name, "--size", "24x16", "-o", "out.png"],
        )
        .expect_code(0)
        .pixel_hash();
        assert_eq!(hash, expected, "{name}");
    }
    // check checks each output; convert converts it.
    let run = tessera_in(dir.path(), &["check", "pattern.xml"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("pattern.xml NG_pattern/grain_out: ok ("),
        "{}",
        run.stdout
    );
    tessera_in(dir.path(), &["convert", "pattern.xml", "-o", "scene.toml"])
        .expect_code(0)
        .expect_stderr_has("scene.toml (5 nodes)");
    // Its mistakes are MaterialX's, located.
    std::fs::write(
        dir.path().join("bad.xml"),
        "<?xml version=\"1.0\"?>\n<materialx>\n  <nodegraph name=\"NG\">\n    <output name=\"out\" type=\"float\" nodename=\"nope\" />\n  </nodegraph>\n</materialx>\n",
    )
    .unwrap();
    tessera_in(dir.path(), &["check", "bad.xml"])
        .expect_code(2)
        .expect_stderr_has("error: there is no node `nope` here\n")
        .expect_stderr_has("bad.xml:4:47");
}

#[test]
fn an_extracts_type_is_its_output_and_its_index_a_channel_of_its_input() {
    // `type="vector4"` on an extract of a vector4: the help listed
    // ND_extract_vector4 as if that type were rendered.
    let dir = tempfile::tempdir().unwrap();
    let document = r#"<materialx>
  <nodegraph name="NG">
    <extract name="e" type="vector4">
      <input name="in" type="vector4" value="1, 2, 3, 4" />
      <input name="index" type="integer" value="3" />
    </extract>
    <output name="out" type="vector4" nodename="e" />
  </nodegraph>
</materialx>
"#;
    assert_document_errors(
        document,
        &[(
            "MaterialX node `extract` of type vector4 is not supported",
            "3:29",
        )],
    );
    std::fs::write(dir.path().join("doc.mtlx"), document).unwrap();
    tessera_in(dir.path(), &["check", "doc.mtlx"])
        .expect_code(2)
        .expect_stderr_has("= help: a node's `type` is its output's: `extract` gives float\n");
    // An index past a narrower type's channels names that type's channels,
    // not any type's 0 to 3.
    for (ty, value, index, message) in [
        (
            "vector2",
            "1, 2",
            "4",
            "a vector2 has channels 0 to 1, not 4",
        ),
        (
            "color3",
            "1, 2, 3",
            "-1",
            "a color3 has channels 0 to 2, not -1",
        ),
        (
            "vector3",
            "1, 2, 3",
            "3",
            "a vector3 has channels 0 to 2, not 3",
        ),
    ] {
        let document = format!(
            r#"<materialx>
  <nodegraph name="NG">
    <extract name="e" type="float">
      <input name="in" type="{ty}" value="{value}" />
      <input name="index" type="integer" value="{index}" />
    </extract>
    <output name="out" type="float" nodename="e" />
  </nodegraph>
</materialx>
"#
        );
        assert_document_errors(&document, &[(message, "5:49")]);
    }
    // Every channel of a vector4 is read.
    let document = r#"<materialx>
  <nodegraph name="NG">
    <extract name="e" type="float">
      <input name="in" type="vector4" value="1, 2, 3, 4" />
      <input name="index" type="integer" value="3" />
    </extract>
    <output name="out" type="float" nodename="e" />
  </nodegraph>
</materialx>
"#;
    assert_eq!(
        render_pixels(document, "NG/out", "1x1"),
        [[4.0, 4.0, 4.0, 1.0]]
    );
}

#[test]
fn a_second_texture_coordinate_set_is_refused_at_its_index() {
    // It was "node `NG__t` (texcoord) has no input `index`", the help
    // naming Tessera's own input `texcoord`.
    for ty in ["vector2", "vector3"] {
        let document = format!(
            r#"<materialx>
  <nodegraph name="NG">
    <texcoord name="t" type="{ty}">
      <input name="index" type="integer" value="1" />
    </texcoord>
    <output name="out" type="{ty}" nodename="t" />
  </nodegraph>
</materialx>
"#
        );
        assert_document_errors(
            &document,
            &[(
                "only texture coordinate index 0 is available, not 1",
                "4:49",
            )],
        );
        // Index 0 is the texture coordinate.
        let zero = document.replace("value=\"1\"", "value=\"0\"");
        let plain = document.replace(
            "\n      <input name=\"index\" type=\"integer\" value=\"1\" />",
            "",
        );
        assert_eq!(
            render_pixels(&zero, "NG/out", "4x2"),
            render_pixels(&plain, "NG/out", "4x2")
        );
    }
}

#[test]
fn an_images_unknown_colour_space_lists_tesseras_names_and_materialx_aliases() {
    // It was the image node's list of choices, without MaterialX's names
    // (and with an empty one).
    let document = format!(
        r#"<materialx>
  <nodegraph name="NG">
    <image name="i" type="color3">
      <input name="file" type="filename" value="{}" colorspace="sRGB" />
    </image>
    <output name="out" type="color3" nodename="i" />
  </nodegraph>
</materialx>
"#,
        root().join("scenes/nodes/textures/grid16.png").display()
    );
    let at = document.lines().nth(3).unwrap().find("sRGB").unwrap() + 1;
    assert_document_errors(
        &document,
        &[("unknown colour space `sRGB`", &format!("4:{at}"))],
    );
    check_document(&document)
        .expect_code(2)
        .expect_stderr_has("Tessera knows raw, lin_rec709, lin_srgb, srgb_texture,")
        .expect_stderr_has(
            "and MaterialX's names for them: gamma18, gamma22, gamma24, lin_ap1_scene,",
        );
}

#[test]
fn an_empty_colour_space_is_none_over_the_documents() {
    // MaterialX's active colour space is the nearest `colorspace` attribute,
    // empty or not; empty is none: values and texels read as they are. A
    // value's was an error ("unknown colour space ``"), a file's decoded an
    // 8-bit texture from sRGB.
    let texture = root().join("scenes/nodes/textures/grid16.png");
    let document = |space: &str| {
        format!(
            r#"<materialx colorspace="srgb_texture">
  <nodegraph name="NG">
    <constant name="c" type="color3">
      <input name="value" type="color3" value="0.5, 0.25, 1" colorspace="{space}" />
    </constant>
    <image name="i" type="color3">
      <input name="file" type="filename" value="{}" colorspace="{space}" />
    </image>
    <output name="value" type="color3" nodename="c" />
    <output name="file" type="color3" nodename="i" />
  </nodegraph>
</materialx>
"#,
            texture.display()
        )
    };
    for output in ["NG/value", "NG/file"] {
        assert_eq!(
            render_pixels(&document(""), output, "16x16"),
            render_pixels(&document("lin_rec709"), output, "16x16"),
            "{output}"
        );
    }
    assert_eq!(
        render_pixels(&document(""), "NG/value", "1x1"),
        [[0.5, 0.25, 1.0, 1.0]]
    );
}

#[test]
fn a_float_or_vector_images_file_is_read_as_data_whatever_its_colour_space() {
    // It was decoded from the document's sRGB as a colour is: MaterialX
    // converts a colour node's file alone (a float roughness map read with
    // colorspace="srgb_texture", as its standard_surface_wood_tiled does).
    let dir = tempfile::tempdir().unwrap();
    image::GrayImage::from_pixel(2, 2, image::Luma([188u8]))
        .save(dir.path().join("t188.png"))
        .unwrap();
    std::fs::write(
        dir.path().join("doc.mtlx"),
        "<?xml version=\"1.0\"?>\n<materialx version=\"1.39\" colorspace=\"srgb_texture\">\n  \
         <nodegraph name=\"g\">\n    \
         <image name=\"rough\" type=\"float\"><input name=\"file\" type=\"filename\" value=\"t188.png\" /></image>\n    \
         <tiledimage name=\"tiled\" type=\"float\"><input name=\"file\" type=\"filename\" value=\"t188.png\" /></tiledimage>\n    \
         <image name=\"nrm\" type=\"vector3\"><input name=\"file\" type=\"filename\" value=\"t188.png\" /></image>\n    \
         <image name=\"col\" type=\"color3\"><input name=\"file\" type=\"filename\" value=\"t188.png\" /></image>\n    \
         <output name=\"rough_out\" type=\"float\" nodename=\"rough\" />\n    \
         <output name=\"tiled_out\" type=\"float\" nodename=\"tiled\" />\n    \
         <output name=\"nrm_out\" type=\"vector3\" nodename=\"nrm\" />\n    \
         <output name=\"col_out\" type=\"color3\" nodename=\"col\" />\n  </nodegraph>\n</materialx>\n",
    )
    .unwrap();
    let red = |output: &str| {
        let args = [
            "render", "doc.mtlx", "--output", output, "--size", "2x2", "-o", "out.exr",
        ];
        tessera_in(dir.path(), &args).expect_code(0);
        let image = image::open(dir.path().join("out.exr"))
            .unwrap()
            .to_rgba32f();
        image.get_pixel(0, 0).0[0]
    };
    let data = 188.0f32 / 255.0;
    assert_eq!(red("g/rough_out"), data);
    assert_eq!(red("g/tiled_out"), data);
    assert_eq!(red("g/nrm_out"), data);
    // A colour is decoded, as before.
    assert!((red("g/col_out") - 0.502_886_5).abs() < 1e-6);
}

/// A MaterialX 1.37 document: `<parameter>`s in a nodedef, a node graph's
/// interface and nodes.
const PARAMETERS_1_37: &str = r#"<?xml version="1.0"?>
<materialx version="1.37">
  <nodedef name="ND_scaled_float" node="scaled">
    <parameter name="by" type="float" value="4" />
    <input name="in" type="float" value="1" />
    <output name="out" type="float" />
  </nodedef>
  <nodegraph name="NG_scaled_float" nodedef="ND_scaled_float">
    <multiply name="m" type="float">
      <input name="in1" type="float" interfacename="in" />
      <parameter name="in2" type="float" interfacename="by" />
    </multiply>
    <output name="out" type="float" nodename="m" />
  </nodegraph>
  <nodegraph name="NG">
    <parameter name="half" type="float" value="0.5" />
    <scaled name="s" type="float">
      <parameter name="in" type="float" interfacename="half" />
    </scaled>
    <multiply name="m" type="float">
      <input name="in1" type="float" nodename="s" />
      <parameter name="in2" type="float" value="0.25" />
    </multiply>
    <output name="out" type="float" nodename="m" />
  </nodegraph>
</materialx>
"#;

#[test]
fn a_parameter_element_reads_as_an_input_as_materialx_upgrades_it() {
    // 0.5 (the graph's parameter) * 4 (the nodedef's) * 0.25 (the node's):
    // each parameter left unread would give 0 or 1 here.
    assert_eq!(
        render_pixels(PARAMETERS_1_37, "NG/out", "2x1"),
        vec![[0.5, 0.5, 0.5, 1.0]; 2]
    );
}

#[test]
fn a_parameter_in_a_document_of_materialx_1_38_or_later_is_refused_at_itself() {
    // MaterialX upgrades the parameters of older documents only.
    let document = PARAMETERS_1_37.replace("version=\"1.37\"", "version=\"1.38\"");
    let message =
        "<parameter> is read in documents before MaterialX 1.38, and this one is version 1.38";
    assert_document_errors(
        &document,
        &[
            (message, "4:5"),
            (message, "11:7"),
            (message, "16:5"),
            (message, "18:7"),
        ],
    );
    check_document(&document).expect_stderr_has(
        "help: MaterialX 1.38 made <parameter>s <input>s, upgrading older documents' as it \
         reads them: write <input> here, or give the document its version",
    );
    let document = PARAMETERS_1_37.replace(" version=\"1.37\"", "");
    assert_document_errors(
        &document,
        &[(
            "<parameter> is read in documents before MaterialX 1.38, and this one gives no \
             `version` (read as the current one, 1.39)",
            "4:5",
        )],
    );
}

#[test]
fn a_materialx_1_37_material_element_is_skipped_as_materials_are() {
    // Before 1.38 a material was an element of <shaderref>s, not a node
    // (MaterialX's TestSuite upgrade/syntax_1_37.mtlx).
    let document = PARAMETERS_1_37.replace(
        "</materialx>",
        "  <material name=\"M\">\n    <shaderref name=\"s\" node=\"standard_surface\" />\n  </material>\n</materialx>",
    );
    assert_eq!(
        render_pixels(&document, "NG/out", "1x1"),
        vec![[0.5, 0.5, 0.5, 1.0]]
    );
}

#[test]
fn channels_of_a_document_before_materialx_1_39_are_refused_not_ignored() {
    // MaterialX 1.39 replaces a 1.38 document's `channels` by nodes; they
    // were left unread, so "bgr" gave the colour unswizzled.
    let document = |version: &str| {
        format!(
            "<materialx version=\"{version}\">\n  <nodegraph name=\"NG\">\n    \
             <constant name=\"c\" type=\"color3\">\n      \
             <input name=\"value\" type=\"color3\" value=\"0.25, 0.5, 1\" />\n    </constant>\n    \
             <dot name=\"d\" type=\"color3\">\n      \
             <input name=\"in\" type=\"color3\" nodename=\"c\" channels=\"bgr\" />\n    </dot>\n    \
             <output name=\"out\" type=\"color3\" nodename=\"d\" />\n  </nodegraph>\n</materialx>\n"
        )
    };
    for version in ["1.38", "1.37"] {
        assert_document_errors(
            &document(version),
            &[(
                "`channels` is not supported: MaterialX replaces it by nodes in a document before 1.39",
                "7:61",
            )],
        );
    }
    check_document(document("1.38")).expect_stderr_has(
        "help: write the nodes that read these channels (extract, convert, separate, combine), \
         as a MaterialX 1.39 document does\n",
    );
    // MaterialX 1.39 reads no `channels`, and neither does Tessera.
    assert_eq!(
        render_pixels(&document("1.39"), "NG/out", "1x1"),
        vec![[0.25, 0.5, 1.0, 1.0]]
    );
}

#[test]
fn an_unknown_element_in_a_node_is_refused_at_itself_naming_what_a_node_has() {
    let document = r#"<materialx version="1.39">
  <nodegraph name="NG">
    <multiply name="m" type="float">
      <input name="in1" type="float" value="0.5" />
      <inptu name="in2" type="float" value="2" />
    </multiply>
    <output name="out" type="float" nodename="m" />
  </nodegraph>
</materialx>
"#;
    assert_document_errors(
        document,
        &[("node `m` has an unknown element <inptu>", "5:7")],
    );
    check_document(document).expect_stderr_has(
        "help: a node's elements are <input>, <output> and <token> (and <parameter>, \
         MaterialX 1.37's input, in a document before 1.38)",
    );
}

#[test]
fn the_time_nodes_fps_is_accepted_and_changes_nothing_as_in_materialx() {
    // MaterialX 1.39.5's ND_time_float has an `fps` its implementation does
    // not read (its GLSL gives u_time): time is still the frame over the
    // scene's fps, 24.
    let document = |fps: &str| {
        format!(
            "<materialx version=\"1.39\">\n  <nodegraph name=\"NG\">\n    <time name=\"t\" type=\"float\">{fps}</time>\n    \
             <output name=\"out\" type=\"float\" nodename=\"t\" />\n  </nodegraph>\n</materialx>\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let pixel = |fps: &str| {
        std::fs::write(dir.path().join("doc.mtlx"), document(fps)).unwrap();
        let args = [
            "render", "doc.mtlx", "--size", "2x2", "--frame", "12", "-o", "out.exr",
        ];
        tessera_in(dir.path(), &args).expect_code(0);
        let image = image::open(dir.path().join("out.exr"))
            .unwrap()
            .to_rgba32f();
        image.get_pixel(1, 1).0
    };
    assert_eq!(pixel(""), [0.5, 0.5, 0.5, 1.0]);
    assert_eq!(
        pixel(r#"<input name="fps" type="float" value="30" />"#),
        [0.5, 0.5, 0.5, 1.0]
    );
    // Its value is still read as a float, and its connection followed.
    assert_document_errors(
        &document(r#"<input name="fps" type="float" value="fast" />"#),
        &[("a float is a number, not \"fast\"", "3:71")],
    );
    assert_document_errors(
        &document(r#"<input name="fps" type="float" nodename="rate" />"#),
        &[("there is no node `rate` here", "3:74")],
    );
}

#[test]
fn each_convert_nodes_materialx_lists_renders_and_no_other_is_read() {
    let listing = tessera(&["nodes", "--materialx"])
        .expect_code(0)
        .stdout
        .clone();
    let line = (listing.lines())
        .find_map(|l| l.strip_prefix("convert: "))
        .unwrap_or_else(|| panic!("no convert in\n{listing}"));
    let listed: Vec<&str> = line.split(", ").collect();
    // Those MaterialX's library defines that render, from integers and booleans too.
    for nodedef in ["ND_convert_integer_color3", "ND_convert_boolean_vector4"] {
        assert!(listed.contains(&nodedef), "{nodedef} not in {line}");
    }
    let value = |ty: &str| match ty {
        "float" => "0.5",
        "integer" => "3",
        "boolean" => "true",
        "vector2" => "0.5, 0.25",
        "vector3" | "color3" => "0.5, 0.25, 0.125",
        _ => "0.5, 0.25, 0.125, 1",
    };
    let graph = |from: &str, to: &str| {
        format!(
            "  <nodegraph name=\"{from}_{to}\">\n    <convert name=\"c\" type=\"{to}\">\n      \
             <input name=\"in\" type=\"{from}\" value=\"{}\" />\n    </convert>\n    \
             <output name=\"out\" type=\"{to}\" nodename=\"c\" />\n  </nodegraph>\n",
            value(from)
        )
    };
    let types = [
        "float", "integer", "boolean", "vector2", "vector3", "vector4", "color3", "color4",
    ];
    let (mut renders, mut refused, mut unlisted) = (String::new(), String::new(), Vec::new());
    for from in types {
        for to in types {
            match listed.contains(&format!("ND_convert_{from}_{to}").as_str()) {
                true => renders.push_str(&graph(from, to)),
                false => {
                    refused.push_str(&graph(from, to));
                    unlisted.push((from, to));
                }
            }
        }
    }
    assert_eq!(unlisted.len(), 64 - listed.len());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("listed.mtlx"),
        format!("<materialx version=\"1.39\">\n{renders}</materialx>\n"),
    )
    .unwrap();
    for signature in &listed {
        let output = format!("{}/out", signature.strip_prefix("ND_convert_").unwrap());
        let args = [
            "render",
            "listed.mtlx",
            "--output",
            &output,
            "--size",
            "1x1",
            "-o",
            "out.exr",
        ];
        tessera_in(dir.path(), &args).expect_code(0);
    }
    std::fs::write(
        dir.path().join("unlisted.mtlx"),
        format!("<materialx version=\"1.39\">\n{refused}</materialx>\n"),
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "unlisted.mtlx"]);
    run.expect_code(2);
    for (from, to) in unlisted {
        run.expect_stderr_has(&format!(
            "error: a convert from {from} to {to} is not supported\n"
        ));
    }
    run.expect_stderr_has(&format!("help: Tessera renders {line}\n"));
}

#[test]
fn an_xi_include_is_read_without_its_prefix_declared_as_materialx_reads_it() {
    // MaterialX (pugixml) reads `xi:include` as a name, declared or not, and
    // writes it undeclared.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("double.mtlx"),
        format!("<materialx>\n{DOUBLE}</materialx>\n"),
    )
    .unwrap();
    let document = |declared: &str, href: &str| {
        format!(
            "<materialx{declared}>\n  <xi:include href=\"{href}\" />\n  \
             <nodegraph name=\"main\">\n    <double name=\"d\" type=\"float\" />\n    \
             <output name=\"out\" type=\"float\" nodename=\"d\" />\n  </nodegraph>\n</materialx>\n"
        )
    };
    let hash = |text: String| {
        std::fs::write(dir.path().join("doc.mtlx"), text).unwrap();
        let args = ["render", "doc.mtlx", "--size", "4x4", "-o", "out.png"];
        tessera_in(dir.path(), &args).expect_code(0).pixel_hash()
    };
    let declared = " xmlns:xi=\"http://www.w3.org/2001/XInclude\"";
    assert_eq!(
        hash(document("", "double.mtlx")),
        hash(document(declared, "double.mtlx"))
    );
    // A path that is not a file is still refused at its href.
    std::fs::write(dir.path().join("doc.mtlx"), document("", "/dev/zero")).unwrap();
    tessera_in(dir.path(), &["check", "doc.mtlx"])
        .expect_code(2)
        .expect_stderr_start(
            "error: cannot include /dev/zero: it is not a regular file (a directory, FIFO, \
             socket or device)\n  ┌─ doc.mtlx:2:21\n",
        );
}

#[test]
fn an_input_of_a_type_no_nodedef_gives_is_refused_with_the_documents_other_errors() {
    // No nodedef fits `a` (ND_add_float's in1 is a float): MaterialX finds
    // none for it. Tessera read the integer as its float and rendered 3;
    // the two mistakes are told together.
    let document = r#"<materialx version="1.39">
  <nodegraph name="NG">
    <add name="a" type="float">
      <input name="in1" type="integer" value="3" />
    </add>
    <add name="c" type="color3">
      <input name="in2" type="vector3" value="1, 1, 1" />
    </add>
    <multiply name="m" type="float">
      <input name="in1" type="float" nodename="a" />
      <input name="in2" type="float" value="x" />
    </multiply>
    <output name="out" type="float" nodename="m" />
    <output name="out_c" type="color3" nodename="c" />
  </nodegraph>
</materialx>
"#;
    assert_document_errors(
        document,
        &[
            (
                "input `in1` is of type integer, but ND_add_float's is of type float",
                "4:31",
            ),
            ("a float is a number, not \"x\"", "11:45"),
        ],
    );
    check_document(document)
        .expect_stderr_has(
            "error: input `in2` is of type vector3, but ND_add_color3's is of type color3, \
             ND_add_color3FA's of type float\n",
        )
        .expect_stderr_has(
            "help: no nodedef of `add` fits this node's inputs: MaterialX would find none for it\n",
        );
}
