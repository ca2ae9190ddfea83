//! `tessera render --frames FIRST-LAST`: one process, one image per frame,
//! each the image `--frame N` gives; a failure names its frame and leaves
//! the frames before it, and no partial file.

use crate::util::{
    files_in, frame_hashes, python_node_scene, render, render_frames_one_to_three, tessera_in,
};
use std::path::Path;

#[test]
fn each_frame_of_a_range_is_the_image_of_that_frame_alone() {
    // Time-driven native nodes, and a Python node counting its calls under
    // `ordered` (its state starts over with each frame).
    for scene in ["scenes/nodes/time.toml", "scenes/python_counter.toml"] {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("f_{frame:03}.png");
        let run = render(scene, &template, &["--frames", "-1-2", "-j", "2"]);
        run.expect_code(0);
        let hashes = frame_hashes(&run.stdout);
        assert_eq!(hashes.len(), 4, "{}", run.stdout);
        let single = dir.path().join("single.png");
        for (hash, frame) in hashes.iter().zip(-1..=2) {
            let alone = render(scene, &single, &["--frame", &frame.to_string()]);
            assert_eq!(
                &alone.expect_code(0).pixel_hash(),
                hash,
                "{scene} frame {frame}"
            );
        }
        assert_eq!(
            files_in(dir.path()),
            [
                "f_-01.png",
                "f_000.png",
                "f_001.png",
                "f_002.png",
                "single.png"
            ]
        );
        if scene.contains("time") {
            assert_ne!(hashes[0], hashes[3], "the frames differ in time");
        }
    }
}

#[test]
fn a_range_needs_the_frame_in_the_output_name() {
    let dir = tempfile::tempdir().unwrap();
    render(
        "scenes/nodes/time.toml",
        &dir.path().join("same.png"),
        &["--frames", "1-3"],
    )
    .expect_code(2)
    .expect_stderr_start("error: --frames writes one image per frame: the output needs `{frame}`");
    assert!(files_in(dir.path()).is_empty());
}

/// A scene of one Python node that fails in frame 2 as `failure` says.
fn failing_in_frame_two(dir: &Path, failure: &str) {
    let script = format!(
        "import os\nimport tessera\n\n\nclass N(tessera.Node):\n    \
         outputs = {{\"out\": tessera.Float()}}\n\n    def __call__(self, ctx):\n        \
         if ctx.frame == 2 and (ctx.x, ctx.y) == (3, 2):\n            {failure}\n        return 0.5\n"
    );
    std::fs::write(dir.join("node.py"), script).unwrap();
    std::fs::write(
        dir.join("scene.toml"),
        python_node_scene(8, 6, "node.py", ""),
    )
    .unwrap();
}

#[test]
fn a_failing_frame_is_named_and_the_frames_before_it_stay() {
    let dir = tempfile::tempdir().unwrap();
    failing_in_frame_two(dir.path(), "raise ValueError(\"no frame 2\")");
    let run = render_frames_one_to_three(dir.path(), &[]);
    run.expect_code(3).expect_stderr_start(
        "error: frame 2: node `py` (python) failed at pixel (3, 2): ValueError: no frame 2 (in N.__call__, node.py:10)\n",
    );
    assert_eq!(files_in(dir.path()), ["f_1.png", "node.py", "scene.toml"]);
}

#[test]
fn a_range_whose_process_dies_names_the_frame_and_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    failing_in_frame_two(dir.path(), "os.abort()");
    let run = render_frames_one_to_three(dir.path(), &["-j", "1"]);
    run.expect_code(3)
        .expect_stderr_has("error: the render's process ")
        .expect_stderr_has(" in frame 2, after ")
        .expect_stderr_has("; the frame it was rendering was not written");
    assert_eq!(files_in(dir.path()), ["f_1.png", "node.py", "scene.toml"]);
}

#[test]
fn a_process_dying_in_a_frame_names_that_frame_even_before_its_first_tile() {
    // A pure node (no whole-image pass, which reports progress first): the
    // frame's one tile kills the process before any progress of its own.
    let dir = tempfile::tempdir().unwrap();
    failing_in_frame_two(dir.path(), "os.abort()");
    let script = std::fs::read_to_string(dir.path().join("node.py")).unwrap();
    let pure = script.replace("    outputs =", "    pure = True\n    outputs =");
    std::fs::write(dir.path().join("node.py"), pure).unwrap();
    let run = render_frames_one_to_three(dir.path(), &["-j", "1"]);
    run.expect_code(3).expect_stderr_has(
        "(SIGABRT, an abort) in frame 2, after 1 of 3 tiles of the range; the frame it was rendering was not written",
    );
    assert_eq!(files_in(dir.path()), ["f_1.png", "node.py", "scene.toml"]);
    // The range's first frame.
    let run = tessera_in(
        dir.path(),
        &[
            "render",
            "scene.toml",
            "--frames",
            "2-3",
            "-o",
            "f_{frame}.png",
        ],
    );
    run.expect_code(3).expect_stderr_has(
        "(SIGABRT, an abort) in frame 2, before its first tile; the frame it was rendering was not written",
    );
    assert_eq!(files_in(dir.path()), ["f_1.png", "node.py", "scene.toml"]);
}

#[test]
fn each_frame_reports_its_own_painted_failures() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n\n    \
                  def __call__(self, ctx):\n        if (ctx.x, ctx.y) == (3, 2):\n            \
                  raise ValueError('one bad pixel')\n        return 0.5\n";
    std::fs::write(dir.path().join("node.py"), script).unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        python_node_scene(8, 6, "node.py", ""),
    )
    .unwrap();
    let run = tessera_in(
        dir.path(),
        &[
            "render",
            "scene.toml",
            "--frames",
            "1-2",
            "-o",
            "f_{frame}.png",
            "--on-error",
            "color",
        ],
    );
    run.expect_code(0);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", run.stderr);
    for warning in warnings {
        assert!(
            warning
                .starts_with("warning: node `py`: N.__call__ failed on 1 sample, painted magenta;"),
            "{warning}"
        );
    }
}

#[test]
fn numpy_imported_inside_a_call_is_seeded_as_numpy_imported_at_the_top() {
    // numpy's legacy generator, at one thread (a pure node's draws are
    // in call order then): every frame, and a render with numpy imported
    // by the module, draw the same numbers.
    let dir = tempfile::tempdir().unwrap();
    let node = |import_at_top: &str, import_in_call: &str| {
        format!(
            "{import_at_top}import tessera\n\n\nclass N(tessera.Node):\n    outputs = {{\"out\": tessera.Float()}}\n    \
             pure = True\n\n    def __call__(self, ctx):\n        {import_in_call}\n        \
             return float(np.random.random())\n"
        )
    };
    std::fs::write(
        dir.path().join("scene.toml"),
        python_node_scene(8, 6, "node.py", ""),
    )
    .unwrap();
    std::fs::write(dir.path().join("node.py"), node("", "import numpy as np")).unwrap();
    let run = render_frames_one_to_three(dir.path(), &["-j", "1"]);
    run.expect_code(0);
    let hashes = frame_hashes(&run.stdout);
    std::fs::write(
        dir.path().join("node.py"),
        node("import numpy as np\n", "pass"),
    )
    .unwrap();
    let at_top = render_frames_one_to_three(dir.path(), &["-j", "1"]);
    assert_eq!(hashes, frame_hashes(&at_top.stdout));
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
}
