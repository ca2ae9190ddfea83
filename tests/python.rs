//! Python nodes: rendering, determinism of pure nodes, and every error path
//! with its message, location and exit code.

use crate::util::{
    files_in, python_version, render, root, run_command, tessera, tessera_command, tessera_in,
    venv, write_python_node_scene,
};
use std::path::Path;
use std::process::Command;

/// Writes `node.py` (the script) and `scene.toml` (an 8 x 6 image whose
/// output is node `py` of class `N`, with `params` added to it).
fn python_scene(dir: &Path, script: &str, params: &str) {
    write_python_node_scene(dir, script, (8, 6), params);
}

/// The scene of [`python_scene`] with more nodes beside `py` (`nodes`: TOML
/// tables), for its inputs to link to.
fn python_scene_with_nodes(dir: &Path, script: &str, params: &str, nodes: &str) {
    python_scene(dir, script, params);
    let scene = dir.join("scene.toml");
    let text = std::fs::read_to_string(&scene).unwrap();
    std::fs::write(scene, format!("{text}\n{nodes}")).unwrap();
}

/// Renders the scene of [`python_scene`] and returns the run.
fn render_here(dir: &Path, extra: &[&str]) -> crate::util::Run {
    let mut args = vec!["render", "scene.toml", "-o", "out.png"];
    args.extend_from_slice(extra);
    tessera_in(dir, &args)
}

const HEADER: &str = "import tessera\n\n\nclass N(tessera.Node):\n";

#[test]
fn an_exception_names_the_node_the_script_line_and_the_pixel() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{HEADER}    outputs = {{\"color\": tessera.Color()}}\n\n    def __call__(self, ctx):\n        \
         if (ctx.x, ctx.y) == (5, 3):\n            raise ValueError(\"bad pixel\")\n        return (0.0, 0.0, 0.0)\n"
    );
    python_scene(dir.path(), &script, "");
    for threads in ["1", "4"] {
        let run = render_here(dir.path(), &["--threads", threads]);
        run.expect_code(3);
        assert!(
            run.stderr.starts_with(
                "error: node `py` (python) failed at pixel (5, 3): ValueError: bad pixel (in N.__call__, node.py:9)\n"
            ),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("Traceback (most recent call last):"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("    raise ValueError(\"bad pixel\")\n"),
            "source line missing:\n{}",
            run.stderr
        );
        assert_eq!(
            files_in(dir.path()),
            ["node.py", "scene.toml"],
            "no output file, no temporary file"
        );
    }
}

#[test]
fn a_call_is_what_calling_the_instance_would_run_inherited_or_not_a_function() {
    // Tessera calls a plain `__call__` function directly (vectorcall, the
    // instance first); anything else is called as `instance(...)` is.
    let dir = tempfile::tempdir().unwrap();
    let script = "import tessera\n\n\nclass Base(tessera.Node):\n    \
         outputs = {\"out\": tessera.Float()}\n    scale = 0.5\n\n    \
         def __call__(self, ctx):\n        return self.scale * (ctx.x + 10 * ctx.y)\n\n\n\
         class N(Base):\n    scale = 1.0\n\n\n\
         class Twice:\n    def __call__(self, ctx):\n        return 2.0 * (ctx.x + 10 * ctx.y)\n\n\n\
         class M(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n    __call__ = Twice()\n\n\n\
         class S(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n    \
         __call__ = staticmethod(lambda ctx: 3.0 * (ctx.x + 10 * ctx.y))\n";
    std::fs::write(dir.path().join("node.py"), script).unwrap();
    for (class, scale) in [("N", 1.0), ("M", 2.0), ("S", 3.0)] {
        let scene = crate::util::python_node_scene(8, 6, "node.py", "")
            .replace("class = \"N\"", &format!("class = \"{class}\""));
        std::fs::write(dir.path().join("scene.toml"), scene).unwrap();
        tessera_in(
            dir.path(),
            &["render", "scene.toml", "-o", "out.exr", "--tile", "4"],
        )
        .expect_code(0);
        let image = image::open(dir.path().join("out.exr"))
            .unwrap()
            .to_rgba32f();
        for (x, y, pixel) in image.enumerate_pixels() {
            let expected = scale * (x + 10 * y) as f32;
            assert_eq!(pixel.0, [expected; 4], "{class} at ({x}, {y})");
        }
    }
}

#[test]
fn on_error_color_paints_failing_samples_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{HEADER}    outputs = {{\"color\": tessera.Color()}}\n\n    def __call__(self, ctx):\n        \
         if ctx.x == 2:\n            raise ValueError(\"column two\")\n        return (0.0, 0.5, 0.0)\n"
    );
    python_scene(dir.path(), &script, "");
    let run = render_here(dir.path(), &["--on-error", "color"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains(
            "warning: node `py`: N.__call__ failed on 6 samples, painted magenta; the first at pixel (2, 0): \
             ValueError: column two (in N.__call__, node.py:9)"
        ),
        "{}",
        run.stderr
    );
    let image = image::open(dir.path().join("out.png")).unwrap().to_rgba8();
    assert_eq!(image.get_pixel(2, 4).0, [255, 0, 255, 255]);
    // 0.5 green, encoded as sRGB.
    assert_eq!(image.get_pixel(3, 4).0, [0, 188, 0, 255]);
}

/// A node whose `__call__` returns `returned`, with outputs color and height.
#[track_caller]
fn assert_bad_return(returned: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{HEADER}    outputs = {{\"color\": tessera.Color(), \"height\": tessera.Float()}}\n\n    \
         def __call__(self, ctx):\n        return {returned}\n"
    );
    python_scene(dir.path(), &script, "");
    let run = render_here(dir.path(), &[]);
    run.expect_code(3);
    let expected = format!(
        "error: node `py` (python) failed at pixel (0, 0): N.__call__ {message} (node.py:7)\n"
    );
    assert_eq!(run.stderr, expected);
    assert!(!dir.path().join("out.png").exists());
}

#[test]
fn a_wrong_return_type_is_named() {
    assert_bad_return(
        "\"red\"",
        "returned a str; expected a dict of the outputs (color, height) or a tuple in that order",
    );
}

#[test]
fn a_wrong_number_of_outputs_is_named() {
    assert_bad_return(
        "(1.0, 2.0, 3.0)",
        "returned 3 values for 2 outputs (color, height)",
    );
}

#[test]
fn outputs_returned_as_a_dict_a_tuple_or_a_list_give_the_same_pixels() {
    let hashes: Vec<String> = [
        "{\"color\": (ctx.u, 0.5, 1.0), \"height\": ctx.v}",
        "(ctx.u, 0.5, 1.0), ctx.v",
        "[(ctx.u, 0.5, 1.0), ctx.v]",
    ]
    .iter()
    .map(|returned| {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "{HEADER}    outputs = {{\"color\": tessera.Color(), \"height\": tessera.Float()}}\n\n    \
             def __call__(self, ctx):\n        return {returned}\n"
        );
        python_scene(dir.path(), &script, "");
        render_here(dir.path(), &[]).expect_code(0).pixel_hash()
    })
    .collect();
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
    assert_bad_return("[1.0]", "returned 1 value for 2 outputs (color, height)");
}

/// Tessera writes a call's arguments into the previous call's objects when
/// only it holds them: an argument the node kept, or an item of one, must
/// keep its value.
#[test]
fn arguments_a_node_keeps_are_never_changed_by_later_calls() {
    let hashes: Vec<String> = [
        // The first call keeps its uv tuple and its level float, the second
        // a float of its uv: the pixels (0, 0) and (1, 0), u = 1/16 and 3/16
        // (the first call returns its level as blue).
        "        if not self.kept:\n            self.kept += [uv, level]\n        \
         elif len(self.kept) == 2:\n            self.kept.append(uv[0])\n        \
         return (self.kept[0][0], self.kept[1], self.kept[-1])\n",
        "        return (0.0625, 0.0625, 0.0625 if (ctx.x, ctx.y) == (0, 0) else 0.1875)\n",
    ]
    .iter()
    .map(|body| {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "{HEADER}    inputs = {{\"uv\": tessera.Vector2(tessera.TEXCOORD), \"level\": tessera.Float(0.0)}}\n    \
             outputs = {{\"color\": tessera.Color()}}\n\n    def setup(self):\n        self.kept = []\n\n    \
             def __call__(self, ctx, uv, level):\n{body}"
        );
        let split = "[nodes.split]\ntype = \"separate2\"\nin = \"@uv\"\n";
        python_scene_with_nodes(dir.path(), &script, "level = \"@split.outx\"", split);
        render_here(dir.path(), &["--threads", "1"]).expect_code(0).pixel_hash()
    })
    .collect();
    assert_eq!(hashes[0], hashes[1]);
}

/// The values written into a reused argument are the call's: a node
/// returning its arguments gives the pixels of the same node keeping every
/// argument (whose objects are never reused), with `level` alternating
/// 0, 1, 0 along each row.
#[test]
fn reused_arguments_carry_each_calls_values() {
    let hashes: Vec<String> = ["", "        self.kept.append((uv, level))\n"]
        .iter()
        .map(|keep| {
            let dir = tempfile::tempdir().unwrap();
            let script = format!(
                "import tessera\n\n\nclass Alternate(tessera.Node):\n    \
                 outputs = {{\"out\": tessera.Float()}}\n\n    def __call__(self, ctx):\n        \
                 return float(ctx.x % 2)\n\n\n\
                 class N(tessera.Node):\n    \
                 inputs = {{\"uv\": tessera.Vector2(tessera.TEXCOORD), \"level\": tessera.Float(0.0)}}\n    \
                 outputs = {{\"color\": tessera.Color()}}\n\n    def setup(self):\n        self.kept = []\n\n    \
                 def __call__(self, ctx, uv, level):\n{keep}        return (uv[0], uv[1], level)\n"
            );
            let alternate =
                "[nodes.alternate]\ntype = \"python\"\nscript = \"node.py\"\nclass = \"Alternate\"\n";
            python_scene_with_nodes(dir.path(), &script, "level = \"@alternate\"", alternate);
            let args = ["render", "scene.toml", "-o", "out.exr", "--threads", "1"];
            tessera_in(dir.path(), &args).expect_code(0).pixel_hash()
        })
        .collect();
    assert_eq!(hashes[0], hashes[1]);
}

#[test]
fn a_wrong_shape_is_named() {
    assert_bad_return(
        "{\"color\": (1.0, 0.0), \"height\": 1.0}",
        "output `color` must be 3 or 4 numbers (RGB or RGBA), not 2",
    );
}

#[test]
fn nan_is_refused() {
    assert_bad_return(
        "{\"color\": (1.0, 0.0, 0.0), \"height\": float(\"nan\")}",
        "output `height` is NaN; outputs must be finite",
    );
}

#[test]
fn a_missing_output_is_named() {
    assert_bad_return(
        "{\"color\": (1.0, 0.0, 0.0)}",
        "returned no output `height` (outputs: color, height)",
    );
}

#[test]
fn an_unknown_output_is_named() {
    assert_bad_return(
        "{\"color\": (1.0, 0.0, 0.0), \"height\": 1.0, \"heigth\": 2.0}",
        "returned an unknown output `heigth` (outputs: color, height)",
    );
}

/// `tessera check` on a scene whose script is `script`: exit 2, the first
/// line of the message, and the place underlined.
#[track_caller]
fn assert_check_error(script: &str, params: &str, first_line: &str, line_col: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    python_scene(dir.path(), script, params);
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr.starts_with(&format!("error: {first_line}\n")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("scene.toml:{line_col}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.stderr
}

#[test]
fn a_syntax_error_is_reported_at_check_time_with_its_line() {
    let wording = if python_version() < (3, 10) {
        "invalid syntax"
    } else {
        "expected ':'"
    };
    let stderr = assert_check_error(
        "import tessera\n\nclass N(tessera.Node)\n    pass\n",
        "",
        &format!("node `py`: node.py:3: SyntaxError: {wording} (node.py, line 3)"),
        "10:10",
    );
    assert!(stderr.contains("class N(tessera.Node)\n"), "{stderr}");
}

#[test]
fn an_import_error_is_reported_with_its_line() {
    let stderr = assert_check_error(
        "import tessera\n\nCONFIG = {}\nSIZE = CONFIG[\"size\"]\n",
        "",
        "node `py`: node.py:4: KeyError: 'size'",
        "10:10",
    );
    assert!(stderr.contains("    SIZE = CONFIG[\"size\"]\n"), "{stderr}");
}

#[test]
fn a_missing_module_says_how_to_install_it() {
    let stderr = assert_check_error(
        "import tessera\nimport no_such_module_xyz\n",
        "",
        "node `py`: node.py:2: ModuleNotFoundError: No module named 'no_such_module_xyz'",
        "10:10",
    );
    // The tests run with the project's venv active: install into it.
    let pip = format!(
        "{}/bin/python -m pip install no_such_module_xyz\n",
        venv().display()
    );
    assert!(stderr.contains(&pip), "{stderr}");
}

#[test]
fn a_missing_class_lists_the_classes_there_are() {
    let script = format!(
        "{HEADER}    outputs = {{\"out\": tessera.Float()}}\n\n    def __call__(self, ctx):\n        return 0.0\n"
    );
    let dir = tempfile::tempdir().unwrap();
    python_scene(dir.path(), &script, "");
    let scene = std::fs::read_to_string(dir.path().join("scene.toml"))
        .unwrap()
        .replace("class = \"N\"", "class = \"M\"");
    std::fs::write(dir.path().join("scene.toml"), scene).unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: node `py`: node.py has no class `M`: it defines N\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("scene.toml:11:9"), "{}", run.stderr);
}

#[test]
fn a_class_that_is_not_a_node_is_refused() {
    assert_check_error(
        "import tessera\n\nclass N:\n    pass\n",
        "",
        "node `py`: node.py:3: TypeError: N is not a subclass of tessera.Node",
        "10:10",
    );
}

#[test]
fn a_missing_script_and_a_directory_are_bad_scenes() {
    let dir = tempfile::tempdir().unwrap();
    python_scene(dir.path(), "", "");
    let scene = std::fs::read_to_string(dir.path().join("scene.toml")).unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        scene.replace("node.py", "nope.py"),
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: node `py`: script \"nope.py\" not found (looked for nope.py)\n"),
        "{}",
        run.stderr
    );
    std::fs::create_dir(dir.path().join("folder.py")).unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        scene.replace("node.py", "folder.py"),
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: node `py`: folder.py is a directory, not a Python script\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn setup_errors_stop_before_rendering() {
    let script = format!(
        "{HEADER}    outputs = {{\"out\": tessera.Float()}}\n\n    def setup(self):\n        self.table = [1, 2][5]\n\n    \
         def __call__(self, ctx):\n        return 0.0\n"
    );
    let stderr = assert_check_error(
        &script,
        "",
        "node `py`: setup() of N failed at node.py:8: IndexError: list index out of range",
        "11:9",
    );
    assert!(stderr.contains("    self.table = [1, 2][5]\n"), "{stderr}");
}

#[test]
fn python_inputs_are_checked_like_builtin_inputs() {
    let script = format!(
        "{HEADER}    inputs = {{\"gain\": tessera.Float(1.0, min=0.0, max=2.0), \"steps\": tessera.Int(3)}}\n    \
         outputs = {{\"out\": tessera.Float()}}\n\n    def __call__(self, ctx, gain, steps):\n        return gain\n"
    );
    let stderr = assert_check_error(
        &script,
        "gian = 1.0",
        "node `py` (python) has no input `gian`",
        "12:1",
    );
    assert!(stderr.contains("help: did you mean `gain`?"), "{stderr}");
    assert_check_error(
        &script,
        "gain = 3.0",
        "node `py`, input `gain`: 3 is out of range for `gain` (0 to 2)",
        "12:8",
    );
    assert_check_error(
        &script,
        "gain = \"@uv\"",
        "cannot connect a vector2 output to a float input",
        "12:8",
    );
    assert_check_error(
        &script,
        "steps = \"@uv\"",
        "input `steps` of node `py` takes a constant integer, not a link",
        "12:9",
    );
}

#[test]
fn prints_reach_a_pipe_and_warnings_come_once() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "import warnings\n{HEADER}    outputs = {{\"out\": tessera.Float()}}\n\n    def setup(self):\n        \
         print(\"setting up\")\n\n    def __call__(self, ctx):\n        \
         warnings.warn(\"careful\")\n        if ctx.x == 0 and ctx.y == 0:\n            print(\"first pixel\")\n        return 0.5\n"
    );
    python_scene(dir.path(), &script, "");
    // Output captured through pipes: print() is block-buffered there.
    let run = render_here(dir.path(), &["--threads", "2"]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("setting up\nfirst pixel\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr.matches("UserWarning: careful").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn pure_python_nodes_match_at_every_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let hashes: Vec<String> = ["1", "2", "4"]
        .iter()
        .map(|threads| {
            render("scenes/python_ripples.toml", &out, &["--threads", threads])
                .expect_code(0)
                .pixel_hash()
        })
        .collect();
    assert_eq!(hashes[0], hashes[1]);
    assert_eq!(hashes[0], hashes[2]);
}

#[test]
fn ctx_random_depends_on_the_seed_not_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    let scene = std::fs::read_to_string(root().join("scenes/python_sparkle.toml")).unwrap();
    let scene = scene.replace(
        "../scripts/",
        &format!("{}/", root().join("scripts").display()),
    );
    std::fs::write(dir.path().join("a.toml"), &scene).unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        scene.replace("seed = 11", "seed = 12"),
    )
    .unwrap();
    let hash = |scene: &str, threads: &str| {
        tessera_in(
            dir.path(),
            &["render", scene, "-o", "out.png", "--threads", threads],
        )
        .expect_code(0)
        .pixel_hash()
    };
    assert_eq!(hash("a.toml", "1"), hash("a.toml", "4"));
    assert_ne!(hash("a.toml", "1"), hash("b.toml", "1"));
}

#[test]
fn a_venv_with_numpy_renders_a_numpy_node_and_version_names_it() {
    let venv = venv();
    let run = tessera(&["--version"]);
    run.expect_code(0);
    let python = run.stdout.lines().nth(1).unwrap_or_default().to_string();
    assert!(python.starts_with("python 3."), "{}", run.stdout);
    assert!(
        python.contains(&format!(" at {} ", venv.display())),
        "{}",
        run.stdout
    );
    // Every CPython these machines have (3.11 to 3.13, not free-threaded).
    assert!(python.ends_with("), GIL enabled"), "{}", run.stdout);
    let dir = tempfile::tempdir().unwrap();
    render("scenes/python_numpy.toml", &dir.path().join("n.png"), &[]).expect_code(0);
}

/// Tests of Tessera without a venv need the build interpreter to be a plain
/// Python (one without numpy), not a venv's: `scripts/test` sees to that.
fn assert_built_outside_a_venv() {
    let run = run_command(
        Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("--version")
            .env_remove("VIRTUAL_ENV"),
    );
    let started_as = run.stdout.split("(started as ").nth(1).unwrap_or_default();
    let program = Path::new(started_as.split("), GIL").next().unwrap_or_default());
    let in_a_venv = (program.parent().and_then(Path::parent))
        .is_some_and(|venv| venv.join("pyvenv.cfg").is_file());
    assert!(
        !in_a_venv,
        "tessera was built against a venv's Python (built with a venv active?); \
         run scripts/test, which builds against the Python the venv was made from\n{}",
        run.stdout
    );
}

#[test]
fn without_a_venv_the_build_interpreter_runs_nodes() {
    assert_built_outside_a_venv();
    let run = run_command(
        Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("--version")
            .env_remove("VIRTUAL_ENV"),
    );
    run.expect_code(0);
    assert!(
        run.stdout
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with("python 3."),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(".venv"), "{}", run.stdout);
}

#[test]
fn nodes_script_lists_a_scripts_classes() {
    let run = tessera(&["nodes", "--script", "scripts/ripples.py"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with("Ripples (scripts/ripples.py:7): Concentric ripples around a centre.\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(
        "  in  wavelength (float) = 0.1 (0.001 to 10): distance between rings, in uv units\n"
    ));
    assert!(
        run.stdout.contains("  out height (float)\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn new_node_writes_a_script_that_renders_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let run = tessera_in(dir.path(), &["new-node", "WoodGrain"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "wrote ./wood_grain.py\n");
    let scene = "[image]\nwidth = 8\nheight = 8\n\n[nodes.w]\ntype = \"python\"\nscript = \"wood_grain.py\"\n\
                 class = \"WoodGrain\"\nscale = 2.0\n\n[output]\ncolor = \"@w\"\n";
    std::fs::write(dir.path().join("scene.toml"), scene).unwrap();
    tessera_in(dir.path(), &["render", "scene.toml", "-o", "w.png"]).expect_code(0);
    let again = tessera_in(dir.path(), &["new-node", "wood_grain"]);
    again.expect_code(1);
    assert_eq!(
        again.stderr,
        "error: ./wood_grain.py exists; not overwritten\n"
    );
}

#[test]
fn a_virtual_env_that_is_not_one_or_from_another_python_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let render = |venv: &Path| {
        run_command(
            Command::new(env!("CARGO_BIN_EXE_tessera"))
                .args(["check", "scenes/python_ripples.toml"])
                .current_dir(root())
                .env("VIRTUAL_ENV", venv),
        )
    };
    let run = render(dir.path());
    run.expect_code(2);
    assert!(
        run.stderr.contains(&format!(
            "VIRTUAL_ENV={} is not a virtual environment (it has no pyvenv.cfg)",
            dir.path().display()
        )),
        "{}",
        run.stderr
    );
    std::fs::write(
        dir.path().join("pyvenv.cfg"),
        "home = /nonexistent/other-python/bin\n",
    )
    .unwrap();
    let run = render(dir.path());
    run.expect_code(2);
    assert!(run.stderr.contains("was made from the Python in /nonexistent/other-python/bin, but this tessera was built against"), "{}", run.stderr);
}

#[test]
fn on_error_color_reports_the_same_first_failure_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{HEADER}    outputs = {{\"out\": tessera.Float()}}\n\n    def __call__(self, ctx):\n        \
         if (ctx.x + ctx.y) % 3 == 0:\n            raise ValueError(f\"at {{ctx.x}} {{ctx.y}}\")\n        return 0.5\n"
    );
    python_scene(dir.path(), &script, "");
    let scene = std::fs::read_to_string(dir.path().join("scene.toml")).unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        scene.replace("width = 8\nheight = 6", "width = 64\nheight = 64"),
    )
    .unwrap();
    let reports: Vec<String> = ["1", "2", "4"]
        .iter()
        .map(|threads| {
            let run = render_here(
                dir.path(),
                &[
                    "--on-error",
                    "color",
                    "--threads",
                    threads,
                    "--tile",
                    "8",
                    "--python-policy",
                    "free",
                ],
            );
            run.expect_code(0);
            run.stderr
        })
        .collect();
    assert!(
        reports[0].contains(
            "failed on 1366 samples, painted magenta; the first at pixel (0, 0): ValueError: at 0 0"
        ),
        "{}",
        reports[0]
    );
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
}

#[test]
fn a_call_with_the_wrong_parameters_names_the_def_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{HEADER}    outputs = {{\"out\": tessera.Float()}}\n\n    def __call__(self, ctx, extra):\n        return 0.5\n"
    );
    python_scene(dir.path(), &script, "");
    let run = render_here(dir.path(), &[]);
    run.expect_code(3);
    // CPython 3.9 names the function without its class.
    let function = if python_version() < (3, 10) {
        "__call__"
    } else {
        "N.__call__"
    };
    assert!(
        run.stderr.starts_with(&format!(
            "error: node `py` (python) failed at pixel (0, 0): TypeError: {function}() missing 1 required positional argument: 'extra' (in N.__call__, node.py:7)"
        )),
        "{}",
        run.stderr
    );
}

/// A node with both `__call__` and `evaluate_tile`, rendered both ways.
fn both_modes(dir: &Path, extra: &[&str]) -> (String, String) {
    let hash = |mode: &str| {
        let mut args = vec!["--python-mode", mode, "--tile", "8", "--threads", "2"];
        args.extend_from_slice(extra);
        render_here(dir, &args).expect_code(0).pixel_hash()
    };
    (hash("auto"), hash("per-sample"))
}

#[test]
fn evaluate_tile_and_call_give_the_same_pixels_for_the_example_nodes() {
    for scene in ["scenes/python_tile.toml", "scenes/python_numpy.toml"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.png");
        let tile = render(scene, &out, &["--python-mode", "auto"])
            .expect_code(0)
            .pixel_hash();
        let per_sample = render(scene, &out, &["--python-mode", "per-sample"])
            .expect_code(0)
            .pixel_hash();
        assert_eq!(tile, per_sample, "{scene}: bit-identical, as measured");
    }
}

#[test]
fn ctx_random_of_a_tile_draws_what_each_call_would() {
    let dir = tempfile::tempdir().unwrap();
    // float64 arithmetic in both, as Python floats are.
    let script = "import numpy as np\nimport tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n\n    \
                  def __call__(self, ctx):\n        a = ctx.random()\n        return a * 0.25 + ctx.random() * 0.75\n\n    \
                  def evaluate_tile(self, ctx):\n        a = ctx.random()\n        b = ctx.random((len(a), 1))[:, 0]\n        \
                  return a.astype(np.float64) * 0.25 + b.astype(np.float64) * 0.75\n";
    python_scene(dir.path(), script, "");
    let (tile, per_sample) = both_modes(dir.path(), &[]);
    assert_eq!(tile, per_sample);
}

#[test]
fn evaluate_tile_runs_under_every_policy() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import tessera\n\n\nclass N(tessera.Node):\n    inputs = {\"uv\": tessera.Vector2(tessera.TEXCOORD)}\n    \
                  outputs = {\"out\": tessera.Float()}\n\n    def evaluate_tile(self, ctx, uv):\n        return uv[:, 0] * uv[:, 1]\n";
    python_scene(dir.path(), script, "");
    let hashes: Vec<String> = ["free", "exclusive", "ordered", "isolated"]
        .iter()
        .map(|policy| {
            render_here(
                dir.path(),
                &["--python-policy", policy, "--tile", "4", "--threads", "2"],
            )
            .expect_code(0)
            .pixel_hash()
        })
        .collect();
    assert!(hashes.iter().all(|h| h == &hashes[0]), "{hashes:?}");
}

/// A tile node whose `evaluate_tile` (line 8) runs `body` and returns `returned`.
fn assert_tile_error(body: &str, returned: &str, first_line: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "import numpy as np\nimport tessera\n\n\nclass N(tessera.Node):\n    outputs = {{\"out\": tessera.Float(), \"color\": tessera.Color()}}\n\n    \
         def evaluate_tile(self, ctx):\n        n = len(ctx.x)\n{body}        return {returned}\n"
    );
    python_scene(dir.path(), &script, "");
    let run = render_here(dir.path(), &[]);
    run.expect_code(3);
    assert!(run.stderr.starts_with(first_line), "{}", run.stderr);
    assert!(!dir.path().join("out.png").exists());
    run.stderr
}

#[test]
fn evaluate_tile_errors_name_the_node_the_line_and_the_pixel() {
    let stderr = assert_tile_error(
        "        raise ValueError(\"no tiles today\")\n",
        "None",
        "error: node `py` (python) failed at pixel (0, 0): ValueError: no tiles today (in N.evaluate_tile, node.py:10, tile 0)\n",
    );
    assert!(
        stderr.contains("    raise ValueError(\"no tiles today\")\n"),
        "{stderr}"
    );
    assert_tile_error(
        "",
        "{\"out\": np.zeros(5), \"color\": np.zeros((n, 4))}",
        "error: node `py` (python) failed at pixel (0, 0): N.evaluate_tile output `out` has shape (5,); expected (48,) (node.py:8)\n",
    );
    assert_tile_error(
        "        out = np.zeros(n)\n        out[13] = np.nan\n",
        "{\"out\": out, \"color\": np.zeros((n, 3))}",
        "error: node `py` (python) failed at pixel (5, 1): N.evaluate_tile output `out` is nan there; outputs must be finite (node.py:8)\n",
    );
    assert_tile_error(
        "",
        "{\"out\": np.zeros(n)}",
        "error: node `py` (python) failed at pixel (0, 0): N.evaluate_tile returned no output `color` (outputs: out, color) (node.py:8)\n",
    );
    assert_tile_error(
        "",
        "{\"out\": np.array([\"a\"] * n), \"color\": np.zeros((n, 4))}",
        "error: node `py` (python) failed at pixel (0, 0): N.evaluate_tile output `out` has dtype <U1; expected float32 numbers (node.py:8)\n",
    );
}

#[test]
fn evaluate_tile_inputs_are_read_only_views_that_outlive_their_tile() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import numpy as np\nimport tessera\n\n\nclass N(tessera.Node):\n    \
                  inputs = {\"uv\": tessera.Vector2(), \"gain\": tessera.Float(1.0)}\n    \
                  outputs = {\"out\": tessera.Float()}\n\n    \
                  def setup(self):\n        self.kept = []\n\n    \
                  def evaluate_tile(self, ctx, uv, gain):\n        \
                  for name, base in ((\"uv\", uv.base), (\"gain\", gain.base.base)):\n            \
                  if type(base).__name__ != \"SharedSamples\":\n                \
                  raise AssertionError(f\"{name} is a copy, its base is {base!r}\")\n        \
                  if uv.flags.writeable or gain.flags.writeable:\n            \
                  raise AssertionError(\"an input is writeable\")\n        \
                  for kept, snapshot in self.kept:\n            \
                  if not np.array_equal(kept, snapshot):\n                \
                  raise AssertionError(\"an input kept from an earlier tile changed\")\n        \
                  self.kept.append((uv, uv.copy()))\n        \
                  return uv[:, 0] * gain\n";
    python_scene(dir.path(), script, "uv = \"@uv\"");
    render_here(dir.path(), &["--threads", "2", "--tile", "4"]).expect_code(0);

    let writes = script.replace(
        "        self.kept.append",
        "        uv[0, 0] = 2.0\n        self.kept.append",
    );
    python_scene(dir.path(), &writes, "uv = \"@uv\"");
    let run = render_here(dir.path(), &[]);
    run.expect_code(3);
    assert!(
        run.stderr.starts_with(
            "error: node `py` (python) failed at pixel (0, 0): ValueError: assignment destination is read-only (in N.evaluate_tile, node.py:21, tile 0)\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn evaluate_tile_refuses_a_numpy_it_cannot_load() {
    // A numpy beside the script shadows the venv's: version 3.0.0, whose C
    // API the numpy crate would fail to load in the middle of a render.
    let dir = tempfile::tempdir().unwrap();
    let script = "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n\n    \
                  def evaluate_tile(self, ctx):\n        return ctx.u\n";
    python_scene(dir.path(), script, "");
    std::fs::create_dir(dir.path().join("numpy")).unwrap();
    std::fs::write(
        dir.path().join("numpy/__init__.py"),
        "__version__ = \"3.0.0\"\n",
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr.starts_with(
            "error: node `py`: node.py:4: ImportError: evaluate_tile needs numpy 1.15 to 2.x; "
        ) && run.stderr.contains("numpy/__init__.py is numpy 3.0.0\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn evaluate_tile_without_numpy_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n\n    \
                  def evaluate_tile(self, ctx):\n        return ctx.u\n";
    python_scene(dir.path(), script, "");
    // The build interpreter, without the test venv: no numpy there.
    assert_built_outside_a_venv();
    let run = run_command(
        Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["check", "scene.toml"])
            .current_dir(dir.path())
            .env_remove("VIRTUAL_ENV"),
    );
    run.expect_code(2);
    assert!(
        run.stderr.starts_with(
            "error: node `py`: node.py:4: ModuleNotFoundError: evaluate_tile needs numpy\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("-m venv .venv && .venv/bin/python -m pip install numpy"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_stubs_match_the_module_tessera_installs() {
    // tests/python/stubs.py compares scripts/tessera.pyi with the `tessera`
    // module inside Tessera's interpreter (names, class members, parameters)
    // in one node's setup(), and checks in another that planted differences
    // are found: `check` sets both up.
    let run = tessera(&["check", "tests/python/stubs.toml"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
}

#[test]
fn a_scene_in_a_folder_whose_name_is_not_utf8_imports_its_scripts() {
    // The script's path reached Python with the byte replaced by U+FFFD:
    // "No such file or directory". Rendered from outside the folder, in
    // process and in worker processes.
    use std::os::unix::ffi::OsStrExt;
    let outer = tempfile::tempdir().unwrap();
    let dir = outer
        .path()
        .join(std::ffi::OsStr::from_bytes(b"not\xffutf8"));
    std::fs::create_dir(&dir).unwrap();
    python_scene(
        &dir,
        &format!(
            "{HEADER}    outputs = {{\"out\": tessera.Float()}}\n    pure = True\n\n    def __call__(self, ctx):\n        return 0.25\n"
        ),
        "",
    );
    let scene = dir.join("scene.toml");
    for workers in ["threads", "processes"] {
        let run = run_command(
            tessera_command(outer.path())
                .arg("render")
                .arg(&scene)
                .args(["-o", "out.png", "-q", "--python-workers", workers]),
        );
        run.expect_code(0);
    }
    assert_eq!(files_in(outer.path()), ["not\u{fffd}utf8", "out.png"]);
}

#[test]
fn on_error_color_names_evaluate_tile_for_a_tile_node() {
    // Its warning named N.__call__, which the class does not have.
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{HEADER}    outputs = {{\"out\": tessera.Float()}}\n\n    def evaluate_tile(self, ctx):\n        \
         raise ValueError(\"no\")\n"
    );
    python_scene(dir.path(), &script, "");
    let run = render_here(dir.path(), &["--on-error", "color"]);
    run.expect_code(0);
    assert!(
        run.stderr.starts_with(
            "warning: node `py`: N.evaluate_tile failed on 48 samples, painted magenta; the first at pixel (0, 0): \
             ValueError: no"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn an_exception_whose_message_is_not_utf8_keeps_its_traceback() {
    // A lone surrogate (bytes decoded with surrogateescape) made the
    // traceback fail to convert: only its summary was printed.
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{HEADER}    outputs = {{\"out\": tessera.Float()}}\n\n    def __call__(self, ctx):\n        \
         raise ValueError(b\"bad \\xff byte\".decode(\"utf-8\", \"surrogateescape\"))\n"
    );
    python_scene(dir.path(), &script, "");
    let run = render_here(dir.path(), &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("Traceback (most recent call last):")
            && run
                .stderr
                .contains("    raise ValueError(b\"bad \\xff byte\".decode("),
        "{}",
        run.stderr
    );
}
