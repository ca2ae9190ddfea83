//! Blender 2.4x PyNode scripts (`type = "pynode"`): their sockets, the
//! `Blender` package they import, how a scene reaches their sockets, their
//! errors, and their determinism. The example scripts' images are in the
//! golden tests (scenes/pynodes/).

use crate::util::{files_in, render, root, run_command, tessera, tessera_command, tessera_in};
use std::path::Path;

/// Writes `node.py` (`script`) and `scene.toml`: an 8 x 4 image whose
/// colour is output `output` of pynode `n`, with a `pos` position node and
/// `node_lines` added to node `n`.
fn pynode_scene(dir: &Path, script: &str, node_lines: &str, output: &str) {
    std::fs::write(dir.join("node.py"), script).unwrap();
    let scene = format!(
        "[image]\nwidth = 8\nheight = 4\n\n[nodes.pos]\ntype = \"position\"\n\n\
         [nodes.n]\ntype = \"pynode\"\nscript = \"node.py\"\n{node_lines}\n\n\
         [output]\ncolor = \"{output}\"\n"
    );
    std::fs::write(dir.join("scene.toml"), scene).unwrap();
}

/// The linear RGBA of every pixel of `dir`/out.exr, rendered from scene.toml.
fn render_pixels(dir: &Path, extra: &[&str]) -> Vec<[f32; 4]> {
    let mut args = vec!["render", "scene.toml", "-o", "out.exr"];
    args.extend_from_slice(extra);
    tessera_in(dir, &args).expect_code(0);
    let image = image::open(dir.join("out.exr")).unwrap().to_rgba32f();
    image.pixels().map(|p| p.0).collect()
}

/// The pixel hash of `scene` (from the root) rendered into `dir` with `extra`.
fn scene_hash(scene: &str, dir: &Path, extra: &[&str]) -> String {
    render(scene, &dir.join("out.png"), extra)
        .expect_code(0)
        .pixel_hash()
}

const HEADER: &str = "from Blender import Node\n\n\nclass N(Node.Scripted):\n";

#[test]
fn a_pynode_script_lists_its_sockets_as_blender_typed_them() {
    let run = tessera(&["nodes", "--script", "scripts/pynodes/tiles.py"]);
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "Tiles (scripts/pynodes/tiles.py:8): Blender 2.4x PyNode Tiles"
    );
    assert_eq!(
        lines[4..11],
        [
            "  in  Coords (vector3) = [1, 1, 1] (0 to 1): Coords: a Blender VECTOR socket",
            "  in  size (float) = 4 (1 to 64): size: a Blender VALUE socket",
            "  in  mortar (float) = 0.08 (0 to 0.5): mortar: a Blender VALUE socket",
            "  in  Brick (color4) = [0.62, 0.22, 0.12, 1] (0 to 1): Brick: a Blender RGBA socket",
            "  in  Joint (color4) = [0.85, 0.82, 0.75, 1] (0 to 1): Joint: a Blender RGBA socket",
            "  out Color (color4): Color: a Blender RGBA socket",
            "  out Mortar (float): Mortar: a Blender VALUE socket",
        ]
    );
}

#[test]
fn the_blender_package_behaves_as_in_2_4x() {
    // api_checks.py asserts Mathutils' 2.4x semantics, Node.Socket's typing,
    // the MT19937 generator and the noises' ranges when imported, and what
    // Scene and self.shi say in every sample of a render.
    tessera(&["check", "tests/python/blender/api_checks.toml"]).expect_code(0);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    render(
        "tests/python/blender/api_checks.toml",
        &out,
        &["--frame", "12"],
    )
    .expect_code(0);
    // At another frame the per-sample check fails, naming the pixel.
    render("tests/python/blender/api_checks.toml", &out, &[])
        .expect_code(3)
        .expect_stderr_start(
            "error: node `checks` (pynode) failed at pixel (0, 0): AssertionError: 0 (in Checks.__call__, tests/python/blender/api_checks.py:",
        );
}

#[test]
fn blender_noise_calls_mathutils_noise_when_it_can_be_imported() {
    let check = |scene: &str, path: &str| {
        let mut command = tessera_command(&root());
        command
            .args(["check", scene])
            .env("PYTHONPATH", root().join(path));
        run_command(&mut command)
    };
    // A stand-in for Blender's module, returning its arguments.
    check(
        "tests/python/blender/delegation.toml",
        "tests/python/blender/fake_mathutils",
    )
    .expect_code(0);
    // A mathutils without `noise` (PyPI's): the clean-room noise.
    check(
        "tests/python/blender/without_noise.toml",
        "tests/python/blender/mathutils_without_noise",
    )
    .expect_code(0);
    // No mathutils at all: delegation.py's first check fails.
    tessera(&["check", "tests/python/blender/delegation.toml"])
        .expect_code(2)
        .expect_stderr_has("delegation.py:6: AssertionError: tessera clean-room");
}

#[test]
fn sockets_are_reached_whatever_their_case_their_name_or_a_clash() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{HEADER}    def __init__(self, sockets):\n        \
         sockets.input = [Node.Socket('Bump Size', val=0.5), Node.Socket('Script', val=0.25), Node.Socket('Gain', val=1.0, max=4.0)]\n        \
         sockets.output = [Node.Socket('Out Color', val=4 * [0.0])]\n\n    \
         def __call__(self):\n        \
         i = self.input\n        \
         self.output['out color'] = [i['bump size'], i.script, i.GAIN, 1.0]\n\n\n__node__ = N\n"
    );
    pynode_scene(
        dir.path(),
        &script,
        "\"bump size\" = 0.125\ngain = 2.0\n\n[nodes.n.inputs]\nScript = 0.75",
        "@n.OUT COLOR",
    );
    let pixels = render_pixels(dir.path(), &[]);
    assert!(
        pixels.iter().all(|p| *p == [0.125, 0.75, 2.0, 1.0]),
        "{:?}",
        pixels[0]
    );
    // The same socket twice, by two spellings, is an error.
    pynode_scene(dir.path(), &script, "gain = 2.0\nGAIN = 3.0", "@n");
    tessera_in(dir.path(), &["check", "scene.toml"])
        .expect_code(2)
        .expect_stderr_start("error: input `Gain` of node `n` is given twice\n");
}

#[test]
fn an_output_a_call_does_not_write_keeps_its_previous_value() {
    let dir = tempfile::tempdir().unwrap();
    // Writes only on the left half: the right half repeats each row's last
    // value written, in the order `ordered` calls (rows from the top left).
    let script = format!(
        "{HEADER}    def __init__(self, sockets):\n        \
         sockets.input = [Node.Socket('Coords', val=3 * [0.0])]\n        \
         sockets.output = [Node.Socket('Value', val=0.5, min=-1.0)]\n\n    \
         def __call__(self):\n        \
         x, y, z = self.input.Coords\n        \
         if x < 0.5:\n            \
         self.output.Value = x + y\n"
    );
    pynode_scene(dir.path(), &script, "Coords = \"@pos\"", "@n");
    for threads in ["1", "3"] {
        let pixels = render_pixels(dir.path(), &["--threads", threads, "--tile", "2"]);
        for row in pixels.chunks(8) {
            assert!(row[4..].iter().all(|p| p[0] == row[3][0]), "{row:?}");
            assert_ne!(row[0][0], row[3][0]);
        }
    }
}

#[test]
fn a_pynode_error_names_the_node_the_script_line_and_the_pixel() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{HEADER}    def __init__(self, sockets):\n        \
         sockets.input = [Node.Socket('Coords', val=3 * [0.0])]\n        \
         sockets.output = [Node.Socket('Color', val=4 * [0.0])]\n\n    \
         def __call__(self):\n        \
         x, y, z = self.input.Coords\n        \
         self.output.Color = [x, y, z, 1.0]\n        \
         if x > 0.5:\n            \
         self.output.Color = [x, y, z]\n"
    );
    pynode_scene(dir.path(), &script, "Coords = \"@pos\"", "@n");
    tessera_in(dir.path(), &["render", "scene.toml", "-o", "out.png"])
        .expect_code(3)
        .expect_stderr_start(
            "error: node `n` (pynode) failed at pixel (4, 0): AttributeError: output socket 'Color' (RGBA) expects a sequence of 4 numbers (in N.__call__, node.py:13)\n",
        );
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn a_script_that_is_not_python_3_is_located_and_told_why() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!("{HEADER}    def __init__(self, sockets):\n        print 'sockets'\n");
    pynode_scene(dir.path(), &script, "", "@n");
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2)
        .expect_stderr_start("error: node `n`: node.py:6: SyntaxError: Missing parentheses in call to 'print'")
        .expect_stderr_has(
            "\nBlender 2.4x PyNode scripts must be valid Python 3 (print(x), `except E as e`): see docs/blender-pynodes.md\n",
        )
        .expect_stderr_has("scene.toml:10:10");
}

#[test]
fn a_module_blender_does_not_have_is_named_with_those_it_has() {
    let dir = tempfile::tempdir().unwrap();
    pynode_scene(dir.path(), "from Blender import Node, Texture\n", "", "@n");
    tessera_in(dir.path(), &["check", "scene.toml"])
        .expect_code(2)
        .expect_stderr_start(
            "error: node `n`: node.py:1: ImportError: cannot import name 'Texture' from 'Blender': Tessera's Blender has Mathutils, Noise, Node, Scene, Window (docs/blender-pynodes.md)\n",
        );
}

#[test]
fn only_pynode_scripts_can_import_blender() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("node.py"),
        "import tessera\nimport Blender\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        crate::util::python_node_scene(4, 4, "node.py", ""),
    )
    .unwrap();
    tessera_in(dir.path(), &["check", "scene.toml"])
        .expect_code(2)
        .expect_stderr_has("node.py:2: ModuleNotFoundError: No module named 'Blender'")
        .expect_stderr_has("`Blender` is there only for Blender 2.4x PyNode scripts: give this node `type = \"pynode\"`");
}

#[test]
fn the_class_is_the_scripts_node_or_the_first_scripted_subclass_or_the_one_named() {
    let dir = tempfile::tempdir().unwrap();
    let class = |name: &str, value: f32| {
        format!(
            "class {name}(Node.Scripted):\n    def __init__(self, sockets):\n        \
             sockets.output = [Node.Socket('Value', val={value})]\n\n    def __call__(self):\n        pass\n\n\n"
        )
    };
    let script = format!(
        "from Blender import Node\nfrom Blender.Mathutils import Vector\n\n\n{}{}{}",
        class("First", 0.25),
        class("Second", 0.5),
        class("Third", 0.75)
    );
    let value = |script: &str, lines: &str| {
        pynode_scene(dir.path(), script, lines, "@n");
        render_pixels(dir.path(), &[])[0][0]
    };
    assert_eq!(value(&script, ""), 0.25, "the first Node.Scripted subclass");
    assert_eq!(value(&format!("{script}__node__ = Third\n"), ""), 0.75);
    assert_eq!(value(&script, "class = \"Second\""), 0.5);
    pynode_scene(dir.path(), &script, "class = \"Fourth\"", "@n");
    tessera_in(dir.path(), &["check", "scene.toml"])
        .expect_code(2)
        .expect_stderr_start(
            "error: node `n`: node.py has no class `Fourth`: it defines First, Second, Third\n",
        );
}

#[test]
fn nodes_sharing_a_script_share_its_one_instance() {
    let dir = tempfile::tempdir().unwrap();
    // Each call counts, on the one instance: the second node's samples
    // come after the first's (a 2 x 1 image: counts 1, 2 then 3, 4).
    let script = format!(
        "{HEADER}    def __init__(self, sockets):\n        \
         sockets.output = [Node.Socket('Count', val=0.0, max=100.0)]\n        self.calls = 0\n\n    \
         def __call__(self):\n        self.calls += 1\n        self.output.Count = self.calls\n"
    );
    std::fs::write(dir.path().join("node.py"), script).unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "[image]\nwidth = 2\nheight = 1\n\n[nodes.a]\ntype = \"pynode\"\nscript = \"node.py\"\n\n\
         [nodes.b]\ntype = \"pynode\"\nscript = \"node.py\"\n\n[nodes.sum]\ntype = \"multiply\"\n\
         in1 = \"@a\"\nin2 = \"@b\"\n\n[output]\ncolor = \"@sum\"\n",
    )
    .unwrap();
    let pixels = render_pixels(dir.path(), &["--threads", "2"]);
    assert_eq!([pixels[0][0], pixels[1][0]], [3.0, 8.0]);
    // Every frame of a range starts again from one new shared instance.
    tessera_in(
        dir.path(),
        &[
            "render",
            "scene.toml",
            "--frames",
            "1-2",
            "-o",
            "f_{frame}.exr",
        ],
    )
    .expect_code(0);
    for frame in ["f_1.exr", "f_2.exr"] {
        let image = image::open(dir.path().join(frame)).unwrap().to_rgba32f();
        let counts: Vec<f32> = image.pixels().map(|p| p.0[0]).collect();
        assert_eq!(counts, [3.0, 8.0], "{frame}");
    }
}

#[test]
fn blender_noise_random_starts_from_the_scene_seed_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let hash = |extra: &[&str]| scene_hash("scenes/pynodes/starfield.toml", dir.path(), extra);
    let seeded = hash(&["--threads", "1"]);
    for threads in ["2", "4"] {
        assert_eq!(hash(&["--threads", threads, "--tile", "16"]), seeded);
    }
    // Another scene seed, another sky.
    let scene = std::fs::read_to_string(root().join("scenes/pynodes/starfield.toml")).unwrap();
    let reseeded = scene
        .replace("seed = 7", "seed = 8")
        .replace("../../scripts", &root().join("scripts").to_string_lossy());
    std::fs::write(dir.path().join("scene.toml"), reseeded).unwrap();
    let other = tessera_in(dir.path(), &["render", "scene.toml", "-o", "out.png"]);
    assert_ne!(other.expect_code(0).pixel_hash(), seeded);
}

#[test]
fn a_generator_seeded_by_the_script_gives_each_frame_of_a_range_as_alone() {
    let dir = tempfile::tempdir().unwrap();
    // Seeded at the script's top level, which runs once per process: each
    // frame of a range still starts from that seeding, as `--frame N` alone.
    let script = |top: &str| {
        format!(
            "from Blender import Noise\n{top}\n{HEADER}    def __init__(self, sockets):\n        \
             sockets.output = [Node.Socket('Value')]\n\n    \
             def __call__(self):\n        self.output.Value = Noise.random()\n"
        )
    };
    let frame = |name: &str| {
        let image = image::open(dir.path().join(name)).unwrap().to_rgba32f();
        image.pixels().map(|p| p.0[0]).collect::<Vec<f32>>()
    };
    pynode_scene(dir.path(), &script("Noise.setRandomSeed(5)"), "", "@n");
    let range = [
        "render",
        "scene.toml",
        "--frames",
        "1-2",
        "-o",
        "f_{frame}.exr",
    ];
    tessera_in(dir.path(), &range).expect_code(0);
    let alone = ["render", "scene.toml", "--frame", "2", "-o", "alone.exr"];
    tessera_in(dir.path(), &alone).expect_code(0);
    assert_eq!(frame("f_2.exr"), frame("alone.exr"));
    assert_eq!(frame("f_1.exr"), frame("f_2.exr"));
    let seeded_5 = frame("alone.exr");
    // Seed 0 means the scene's seed, also before the render knows it.
    pynode_scene(dir.path(), &script("Noise.setRandomSeed(0)"), "", "@n");
    tessera_in(dir.path(), &alone).expect_code(0);
    let seeded_0 = frame("alone.exr");
    pynode_scene(dir.path(), &script(""), "", "@n");
    tessera_in(dir.path(), &alone).expect_code(0);
    assert_eq!(seeded_0, frame("alone.exr"));
    assert_ne!(seeded_0, seeded_5);
}

#[test]
fn pure_pynodes_give_the_same_pixels_under_every_policy_and_in_worker_processes() {
    let dir = tempfile::tempdir().unwrap();
    let hash = |extra: &[&str]| scene_hash("scenes/pynodes/clouds.toml", dir.path(), extra);
    let ordered = hash(&["--threads", "1"]);
    for policy in ["free", "exclusive", "isolated"] {
        assert_eq!(
            hash(&["--threads", "3", "--python-policy", policy]),
            ordered,
            "{policy}"
        );
    }
    // In worker processes (a PyNode under `ordered` stays in the render
    // process, as any node keeping state; under `free` its calls spread).
    for policy in ["ordered", "free"] {
        assert_eq!(
            hash(&[
                "--threads",
                "2",
                "--python-workers",
                "processes",
                "--python-policy",
                policy
            ]),
            ordered,
            "{policy} in worker processes"
        );
    }
}

#[test]
fn a_pynode_cannot_be_checked_without_running_python_and_says_why() {
    tessera(&["check", "--no-python", "scenes/pynodes/tiles.toml"])
        .expect_code(2)
        .expect_stderr_start(
            "error: node `tiles`: --no-python: a PyNode script declares its sockets by running its __init__, so ../../scripts/pynodes/tiles.py cannot be checked without running Python\n",
        );
}
