//! What a hostile or careless scene does to the process that renders it,
//! one test per class of docs/reliability.md's "Supervision" list: a node
//! ending the process, crashing it, outliving --timeout, hanging `check`,
//! and the smaller promises (file size limits, long names, huge numbers,
//! absurd thread counts, huge ids). Each asserts the exit code, the message
//! and the files left (none new; an existing image intact; no temporary).

use crate::util::{
    files_in, python_node_scene, run_command, tessera_command, tessera_in, write_python_node_scene,
};
use std::path::Path;
use std::process::Command;

/// Writes `node.py` (class `N`; `body` is `__call__`'s, run for the pixels
/// of tile 5 at tile size 16, after `import os, sys, time, tessera`; `top`
/// is module code after the class) and a 64 x 64
/// `scene.toml` over it, and an older `out.png` that must survive.
fn scene(dir: &Path, body: &str, top: &str) {
    let script = format!(
        "import os\nimport sys\nimport time\n\nimport tessera\n\n\nclass N(tessera.Node):\n    \
         inputs = {{\"uv\": tessera.Vector2(tessera.TEXCOORD)}}\n    outputs = {{\"out\": tessera.Float()}}\n\n    \
         def __call__(self, ctx, uv):\n        if 16 <= ctx.x < 32 and 16 <= ctx.y < 32:\n{body}        return uv[0]\n{top}"
    );
    write_python_node_scene(dir, &script, (64, 64), "uv = \"@uv\"");
    std::fs::write(dir.join("out.png"), b"an older image").unwrap();
}

fn render(dir: &Path, extra: &[&str]) -> crate::util::Run {
    let mut args = vec![
        "render",
        "scene.toml",
        "-o",
        "out.png",
        "--tile",
        "16",
        "--threads",
        "2",
    ];
    args.extend_from_slice(extra);
    tessera_in(dir, &args)
}

/// `tessera ARGS` in `dir` under a shell resource limit (`ulimit -f 2`).
fn under_limit(dir: &Path, limit: &str, args: &str) -> crate::util::Run {
    let tessera = env!("CARGO_BIN_EXE_tessera");
    let mut command = Command::new("sh");
    command
        .current_dir(dir)
        .args(["-c", &format!("{limit}; exec {tessera} {args}")]);
    run_command(&mut command)
}

/// Nothing new beside the scene, and the older image untouched.
#[track_caller]
fn assert_nothing_written(dir: &Path) {
    assert_eq!(files_in(dir), ["node.py", "out.png", "scene.toml"]);
    assert_eq!(
        std::fs::read(dir.join("out.png")).unwrap(),
        b"an older image"
    );
}

#[test]
fn a_node_ending_the_process_is_an_error_naming_it_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    scene(dir.path(), "            os._exit(5)\n", "");
    let run = render(dir.path(), &[]);
    run.expect_code(3);
    run.expect_stderr_start("error: node `py` (python) failed at pixel (16, 16): ProcessExit: os._exit(5) would end Tessera's process; \
             a node must return or raise instead (in N.__call__, node.py:14)\n");
    assert_nothing_written(dir.path());

    // Below Python (libc's _exit): the supervisor sees the render end
    // without a word, even with code 0.
    scene(
        dir.path(),
        "            import ctypes; ctypes.CDLL(None)._exit(0)\n",
        "",
    );
    let run = render(dir.path(), &[]);
    run.expect_code(3);
    run.expect_stderr_start("error: the render's process exited with code 0");
    run.expect_stderr_has("; no image written\n");
    assert_nothing_written(dir.path());

    // compare says so too, with the render's own message, not that it
    // cannot read the image the render never wrote.
    let run = tessera_in(
        dir.path(),
        &[
            "compare",
            "scene.toml",
            "--threads",
            "1",
            "--runs",
            "2",
            "--tile",
            "16",
        ],
    );
    run.expect_code(3);
    run.expect_stderr_start("error: the render's process exited with code 0");
    // With every option that shaped it (it left out --tile, which moves
    // where a node fails).
    run.expect_stderr_has(
        "error: the render under the scene's own policies at 1 thread failed; reproduce it with:\n  \
         tessera render scene.toml -o out.exr --threads 1 --tile 16\n",
    );
    assert_nothing_written(dir.path());

    // At import: `check` fails with the line, and is not fooled by exit 0.
    scene(dir.path(), "            pass\n", "\nos._exit(0)\n");
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    run.expect_stderr_start(
        "error: node `py`: node.py:17: ProcessExit: os._exit(0) would end Tessera's process",
    );
}

#[test]
fn a_crash_in_a_node_is_reported_with_its_signal_and_python_line() {
    let dir = tempfile::tempdir().unwrap();
    for (crash, signal) in [
        (
            "import ctypes; ctypes.string_at(0)",
            "was killed by signal 11 (SIGSEGV, a segmentation fault)",
        ),
        ("os.abort()", "was killed by signal 6 (SIGABRT, an abort)"),
    ] {
        scene(dir.path(), &format!("            {crash}\n"), "");
        let run = render(dir.path(), &[]);
        run.expect_code(3);
        run.expect_stderr_has(&format!("error: the render's process {signal}"));
        run.expect_stderr_has("; no image written\n");
        // faulthandler's stack, printed by the dying process.
        run.expect_stderr_has("node.py\", line 14 in __call__");
        assert_nothing_written(dir.path());
    }
}

#[test]
fn timeout_is_a_deadline_whatever_the_node_does() {
    let dir = tempfile::tempdir().unwrap();
    // Swallows every KeyboardInterrupt; then blocked in C, where Python
    // cannot interrupt it.
    for body in [
        "            while True:\n                try:\n                    time.sleep(0.001)\n                except KeyboardInterrupt:\n                    pass\n",
        "            import ctypes; ctypes.CDLL(None).sleep(100)\n",
    ] {
        scene(dir.path(), body, "");
        let run = render(dir.path(), &["--timeout", "1"]);
        run.expect_code(124);
        run.expect_stderr_start("error: stopped after --timeout 1 s");
        run.expect_stderr_has(
            "; the render did not stop by itself and was killed; no image written\n",
        );
        assert_nothing_written(dir.path());
    }
    // Blocked in C while the script is imported, before the render starts:
    // the message says the scene was loading.
    scene(
        dir.path(),
        "            pass\n",
        "import ctypes; ctypes.CDLL(None).sleep(100)\n",
    );
    let run = render(dir.path(), &["--timeout", "1"]);
    run.expect_code(124);
    assert_eq!(
        run.stderr,
        format!(
            "error: stopped after --timeout 1 s; {LOADING}, and the render was killed; no image written\n"
        )
    );
    assert_nothing_written(dir.path());
}

/// What a command killed before its render started says it was doing.
const LOADING: &str =
    "the scene was still loading (being read, or its Python scripts importing or setting up)";

#[test]
fn a_node_reading_the_terminal_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    scene(dir.path(), "            sys.stdin.read()\n", "");
    // Standard input stays open and silent, as a terminal nobody types at:
    // were it passed on, the read would wait until the timeout.
    let mut child = tessera_command(dir.path())
        .args([
            "render",
            "scene.toml",
            "-o",
            "out.png",
            "--tile",
            "16",
            "--quiet",
            "--timeout",
            "30",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _stdin = child.stdin.take();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(files_in(dir.path()), ["node.py", "out.png", "scene.toml"]);
    assert_ne!(
        std::fs::read(dir.path().join("out.png")).unwrap(),
        b"an older image"
    );
}

#[test]
fn check_has_a_deadline() {
    let dir = tempfile::tempdir().unwrap();
    scene(
        dir.path(),
        "            pass\n",
        "\nwhile True:\n    pass\n",
    );
    let run = tessera_in(dir.path(), &["check", "scene.toml", "--timeout", "1"]);
    run.expect_code(124);
    assert_eq!(
        run.stderr,
        format!("error: stopped after --timeout 1 s; {LOADING}, and the check was killed\n")
    );
}

#[test]
fn a_node_closing_tesseras_descriptors_is_an_error_not_a_panic() {
    // The signal thread's descriptor among them: signal-hook's iterator
    // panicked on it.
    let dir = tempfile::tempdir().unwrap();
    // A node that closes the descriptors, then does `then`.
    let closing = |then: &str| {
        let script = format!(
            "import os\nimport tessera\n\n\nclass N(tessera.Node):\n    outputs = {{\"out\": tessera.Float()}}\n\n    \
             def __call__(self, ctx):\n        os.closerange(3, 10000)\n{then}"
        );
        write_python_node_scene(dir.path(), &script, (8, 8), "");
    };
    closing("        return 0.5\n");
    let run = tessera_in(dir.path(), &["render", "scene.toml", "-o", "out.png"]);
    run.expect_code(3);
    // How the render process ends depends on the build: a release build
    // fails its next write ("cannot write out.png: Bad file descriptor",
    // then exits 1), a debug build's standard library aborts on closing a
    // descriptor already closed. Either way its supervisor reports it.
    run.expect_stderr_has("error: the render's process ");
    run.expect_stderr_has(" before its first tile; no image written\n");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
    // Then looping: the supervisor, its socket closed, waits 5 s for the
    // child to exit, then kills it, and says so (it used to say "killed by
    // signal 9 (SIGKILL: killed, perhaps for lack of memory)").
    closing("        while True:\n            pass\n");
    let run = tessera_in(dir.path(), &["render", "scene.toml", "-o", "out.png"]);
    run.expect_code(3);
    assert_eq!(
        run.stderr,
        "error: the render's process closed its connection to this tessera before its first \
         tile but did not exit, and was killed 5 s later; no image written\n  a node may have \
         closed descriptors it did not open (os.closerange, os.close) and gone on running\n"
    );
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
    // The same in a worker process: the render process killed it, and said
    // it was killed "perhaps for lack of memory".
    let script = "import os\nimport tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n    \
                  pure = True\n\n    def __call__(self, ctx):\n        os.closerange(3, 10000)\n        \
                  while True:\n            pass\n";
    write_python_node_scene(dir.path(), script, (8, 8), "");
    let args = [
        "render",
        "scene.toml",
        "-o",
        "out.png",
        "--python-workers",
        "processes",
    ];
    let run = tessera_in(dir.path(), &args);
    run.expect_code(3);
    run.expect_stderr_start("error: node `py` (python) failed in tile 0 (pixels 0..8 x 0..8): the Python worker process running N.__call__ (pid ");
    run.expect_stderr_has(") closed its connection to the render process but did not exit, and was killed; a node must not close descriptors it did not open\n");
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn a_node_writing_into_tesseras_descriptors_is_still_stopped_by_the_timeout() {
    // Its lines on the supervisor's socket made the supervisor stop
    // listening: the child's own exit (124, said) was then reported as an
    // unexplained exit, code 3. In a worker process, its lines on the
    // worker's socket lost the render process its worker (exit 3).
    let dir = tempfile::tempdir().unwrap();
    write_python_node_scene(
        dir.path(),
        "import os\nimport tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n    \
         pure = True\n\n    \
         def __call__(self, ctx):\n        for fd in range(3, 20):\n            try:\n                \
         os.write(fd, b\"garbage\\n\")\n            except OSError:\n                pass\n        \
         while True:\n            pass\n",
        (8, 8),
        "",
    );
    for workers in ["threads", "processes"] {
        let run = tessera_in(
            dir.path(),
            &[
                "render",
                "scene.toml",
                "-o",
                "out.png",
                "--timeout",
                "1",
                "--python-workers",
                workers,
            ],
        );
        run.expect_code(124);
        run.expect_stderr_start(
            "error: stopped after --timeout 1 s while node `py` (python) was running at pixel (0, 0); no image written\n",
        );
        assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
    }
}

#[test]
fn escape_sequences_in_a_scene_reach_the_terminal_escaped() {
    // A node id, a link and a Python error quoting escape sequences: printed
    // raw, they would clear the screen or recolour the terminal.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "[image]\nwidth = 8\nheight = 8\n\n[nodes.\"\\u001b[31mred\"]\ntype = \"constant\"\n\n\
         [output]\ncolor = \"@x\\u001b[2J\"\n",
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    run.expect_stderr_start("error: link to a missing node `x\\u{1b}[2J`\n");
    run.expect_stderr_has("= help: the node ids are `\\u{1b}[31mred`\n");
    write_python_node_scene(
        dir.path(),
        "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n\n    \
         def __call__(self, ctx):\n        raise ValueError(\"\\x1b]0;owned\\x07\")\n",
        (8, 8),
        "",
    );
    let run = tessera_in(dir.path(), &["render", "scene.toml", "-o", "out.png"]);
    run.expect_code(3);
    assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    run.expect_stderr_has("ValueError: \\u{1b}]0;owned\\u{7} (in N.__call__, node.py:8)\n");
}

#[test]
fn nodes_script_is_supervised_and_has_a_deadline() {
    // `nodes --script` imports the script, whose code runs: it used to do so
    // in tessera's own process, with no deadline and no word of a crash.
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, i32, String); 4] = [
        ("loop.py", "while True:\n    pass\n", 124, "error: stopped after --timeout 1 s; the script was still importing, and `nodes --script` was killed\n".into()),
        ("exit.py", "import ctypes\nctypes.CDLL(None)._exit(0)\n", 3, "error: `nodes --script`'s process exited with code 0\n".into()),
        ("crash.py", "import ctypes\nctypes.string_at(0)\n", 3, "error: `nodes --script`'s process was killed by signal 11 (SIGSEGV, a segmentation fault)\n".into()),
        ("/dev/zero", "", 2, "error: cannot read /dev/zero: not a regular file\n".into()),
    ];
    for (script, code, exit, expected) in cases {
        if !code.is_empty() {
            std::fs::write(dir.path().join(script), code).unwrap();
        }
        let run = tessera_in(dir.path(), &["nodes", "--script", script, "--timeout", "1"]);
        run.expect_code(exit);
        assert!(run.stdout.is_empty(), "{script}: {}", run.stdout);
        // A crash's Python stack (faulthandler) comes first.
        let message = run.stderr.lines().find(|line| line.starts_with("error: "));
        assert_eq!(
            message,
            Some(expected.trim_end()),
            "{script}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_scene_that_is_a_fifo_is_stopped_by_the_timeout_and_an_image_fifo_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mkfifo = |name: &str| {
        let made = Command::new("mkfifo")
            .arg(dir.path().join(name))
            .status()
            .unwrap();
        assert!(made.success());
    };
    // Nobody writes the scene: reading it waits until the deadline.
    mkfifo("scene.toml");
    let run = tessera_in(
        dir.path(),
        &["render", "scene.toml", "-o", "out.png", "--timeout", "1"],
    );
    run.expect_code(124);
    assert_eq!(
        run.stderr,
        format!(
            "error: stopped after --timeout 1 s; {LOADING}, and the render was killed; no image written\n"
        )
    );
    assert_eq!(files_in(dir.path()), ["scene.toml"]);

    // A texture that is a FIFO is refused before it is opened.
    std::fs::remove_file(dir.path().join("scene.toml")).unwrap();
    mkfifo("texture.png");
    std::fs::write(
        dir.path().join("scene.toml"),
        "[image]\nwidth = 8\nheight = 8\n\n[nodes.tex]\ntype = \"image\"\nfile = \"texture.png\"\n\n[output]\ncolor = \"@tex\"\n",
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["render", "scene.toml", "-o", "out.png"]);
    run.expect_code(2);
    run.expect_stderr_start("error: node `tex`: cannot read image texture.png: it is not a regular file (a FIFO, socket or device)\n");
    assert_eq!(files_in(dir.path()), ["scene.toml", "texture.png"]);
}

#[test]
fn a_texture_too_large_for_memory_is_a_located_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    // A 9000 x 9000 grey PNG of zeros, made here: 81 MB as grey, 1.2 GiB
    // as the float RGBA a texture is kept in.
    image::GrayImage::new(9000, 9000)
        .save(dir.path().join("big.png"))
        .unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "[image]\nwidth = 8\nheight = 8\n\n[nodes.tex]\ntype = \"image\"\nfile = \"big.png\"\n\n[output]\ncolor = \"@tex\"\n",
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    run.expect_stderr_start("error: node `tex`: image big.png is 9000 x 9000: as float RGBA it needs 1235 MiB, more than the 1024 MiB a texture may take\n");
}

#[test]
fn writing_past_the_file_size_limit_is_an_io_error_leaving_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "[image]\nwidth = 256\nheight = 256\n\n[nodes.n]\ntype = \"noise2d\"\n\n[output]\ncolor = \"@n\"\n",
    )
    .unwrap();
    // A 1 KiB limit (ulimit counts 512-byte blocks in sh), and the image is larger.
    let run = under_limit(dir.path(), "ulimit -f 2", "render scene.toml -o out.png");
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "error: cannot write out.png: File too large (os error 27)\n"
    );
    assert_eq!(files_in(dir.path()), ["scene.toml"]);
}

#[test]
fn a_long_output_name_gets_a_temporary_file_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.png", "x".repeat(250));
    let run = crate::util::tessera_in(
        dir.path(),
        &[
            "render",
            &crate::util::root()
                .join("scenes/nodes/checkerboard.toml")
                .to_string_lossy(),
            "-o",
            &name,
            "--quiet",
        ],
    );
    run.expect_code(0);
    assert_eq!(files_in(dir.path()), [name]);
}

#[test]
fn a_number_beyond_a_float_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    scene(dir.path(), "            return 1e300\n", "");
    let run = render(dir.path(), &[]);
    run.expect_code(3);
    run.expect_stderr_start("error: node `py` (python) failed at pixel (16, 16): N.__call__ output `out` is 1e300, beyond a 32-bit float \
             (about 3.4e38); outputs must be finite (node.py:12)\n");
    assert_nothing_written(dir.path());
}

#[test]
fn absurd_thread_counts_and_bad_node_names_are_bad_arguments() {
    let run = crate::util::tessera(&[
        "render",
        "scenes/nodes/checkerboard.toml",
        "--threads",
        "1000000",
    ]);
    run.expect_code(2);
    run.expect_stderr_has("must be a number of threads from 0 (every core) to 1024");
    let dir = tempfile::tempdir().unwrap();
    for name in ["", "9lives", "wood grain"] {
        let run = crate::util::tessera_in(dir.path(), &["new-node", name]);
        run.expect_code(2);
        run.expect_stderr_start("error: node name ");
    }
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn a_megabyte_long_misspelt_link_is_reported_without_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let id = "n".repeat(1 << 20);
    std::fs::write(
        dir.path().join("scene.toml"),
        format!("[image]\nwidth = 8\nheight = 8\n\n[nodes.{id}]\ntype = \"texcoord\"\n\n[output]\ncolor = \"@{id}x\"\n"),
    )
    .unwrap();
    let run = crate::util::tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    let start = &run.stderr[..run.stderr.len().min(500)];
    assert!(
        start.starts_with("error: link to a missing node `nnnn"),
        "{start}"
    );
    assert!(
        run.stderr.contains("= help: the node ids are `nnnn"),
        "{start}"
    );
}

/// A script that leaves a file `ran` beside it when it is imported.
const MARKS_ITS_IMPORT: &str =
    "open(os.path.join(os.path.dirname(__file__), \"ran\"), \"w\").close()\n";

#[test]
fn no_python_refuses_to_render_or_compare_a_scene_that_runs_python() {
    let dir = tempfile::tempdir().unwrap();
    scene(dir.path(), "            pass\n", MARKS_ITS_IMPORT);
    for command in [
        &["render", "scene.toml", "-o", "out.png", "--no-python"][..],
        &["compare", "scene.toml", "--threads", "1", "--no-python"],
    ] {
        let run = tessera_in(dir.path(), command);
        run.expect_code(2);
        run.expect_stderr_start("error: node `py`: --no-python: this node would run the Python script node.py, which is not imported\n");
        run.expect_stderr_has("scene.toml:10:10");
        assert_nothing_written(dir.path());
    }
}

#[test]
fn check_no_python_reads_the_sockets_without_running_the_script() {
    let dir = tempfile::tempdir().unwrap();
    scene(dir.path(), "            pass\n", MARKS_ITS_IMPORT);
    let run = tessera_in(dir.path(), &["check", "scene.toml", "--no-python"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "scene.toml: ok (2 nodes rendered, 64x64, 1 sample)\n"
    );
    assert_eq!(
        run.stderr,
        "note: node `py`: N was read without running Python: its module code was not run; \
         whether os, sys, time can be imported\n"
    );
    assert_nothing_written(dir.path());

    // The graph is still checked with the sockets read: a link to an input
    // the class does not declare.
    let text = std::fs::read_to_string(dir.path().join("scene.toml")).unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        text.replace("uv = \"@uv\"", "uvw = \"@uv\""),
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml", "--no-python"]);
    run.expect_code(2);
    run.expect_stderr_has("error: node `py` (python) has no input `uvw`");
    assert_nothing_written(dir.path());

    // Sockets computed at run time cannot be read so: a located error.
    std::fs::write(
        dir.path().join("node.py"),
        "import tessera\n\nSOCKETS = {\"out\": tessera.Float()}\n\n\nclass N(tessera.Node):\n    outputs = SOCKETS\n\n    \
         def __call__(self, ctx):\n        return 0.5\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("scene.toml"), &text).unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml", "--no-python"]);
    run.expect_code(2);
    run.expect_stderr_start("error: node `py`: node.py:7: StaticCheckError: N.outputs must be a literal dict to be read without running Python\n");

    // An `evaluate_tile` node: numpy is not imported either (a `numpy` on
    // the scene's paths that refuses to import would say so), only named.
    std::fs::write(
        dir.path().join("node.py"),
        "import tessera\n\n\nclass N(tessera.Node):\n    inputs = {\"uv\": tessera.Vector2()}\n    \
         outputs = {\"out\": tessera.Float()}\n\n    def evaluate_tile(self, ctx, uv):\n        return uv[:, 0]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("numpy")).unwrap();
    std::fs::write(
        dir.path().join("numpy/__init__.py"),
        "raise ImportError(\"numpy was imported\")\n",
    )
    .unwrap();
    let with_paths = format!("[python]\npaths = [\".\"]\n\n{text}");
    std::fs::write(dir.path().join("scene.toml"), with_paths).unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml", "--no-python"]);
    run.expect_code(0);
    assert_eq!(
        run.stderr,
        "note: node `py`: N was read without running Python: its module code was not run; \
         whether numpy can be imported\n"
    );
}

#[test]
fn a_render_larger_than_memory_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    // 100 blurs of radius 64 in a chain: the first is computed 6400 pixels
    // around every tile, tens of GiB per thread.
    let mut scene =
        String::from("[image]\nwidth = 256\nheight = 256\n\n[nodes.b0]\ntype = \"noise2d\"\n");
    for i in 1..=100 {
        scene.push_str(&format!(
            "\n[nodes.b{i}]\ntype = \"blur\"\nin = \"@b{}\"\nradius = 64\n",
            i - 1
        ));
    }
    scene.push_str("\n[output]\ncolor = \"@b100\"\n");
    std::fs::write(dir.path().join("blurs.toml"), scene).unwrap();
    let run = tessera_in(
        dir.path(),
        &["render", "blurs.toml", "-o", "out.png", "--threads", "2"],
    );
    run.expect_code(2);
    run.expect_stderr_start("error: this render needs about ");
    run.expect_stderr_has(" MiB for each of 2 render threads (tiles grow by margins of up to 6400 pixels for the blurs downstream), more than the ");
    assert_eq!(files_in(dir.path()), ["blurs.toml"]);

    // Within the pixel limit, beyond a 512 MiB address space: a JPEG's
    // encoder takes the whole image's 8-bit samples (768 MiB). The rows
    // being finished are bands of 32 rows of grey and alpha (4 MiB each):
    // one per thread, 16 waiting for the encoder (64 MiB), one it takes.
    std::fs::write(
        dir.path().join("huge.toml"),
        "[image]\nwidth = 16384\nheight = 16384\n\n[nodes.n]\ntype = \"constant\"\n\n[output]\ncolor = \"@n\"\n",
    )
    .unwrap();
    let run = under_limit(
        dir.path(),
        "ulimit -v 524288",
        "render huge.toml -o out.jpg --threads 2",
    );
    run.expect_code(2);
    run.expect_stderr_start(
        "error: this render needs about 844 MiB: 76 MiB of rows being finished, 768 MiB for the finished image and 0 MiB for each of 2 render threads, ",
    );
    run.expect_stderr_has("more than the 512 MiB available");
    assert_eq!(files_in(dir.path()), ["blurs.toml", "huge.toml"]);
}

#[test]
fn a_node_keeping_state_too_large_for_memory_over_the_whole_image_is_refused_before_it_starts() {
    // Under `ordered`, a node keeping state is called over the whole image:
    // its inputs (uv, 2 floats) and output (1 float) for 16384 x 16384
    // pixels are counted, and named, before anything is rendered.
    let dir = tempfile::tempdir().unwrap();
    scene(dir.path(), "            pass\n", "");
    let text = std::fs::read_to_string(dir.path().join("scene.toml")).unwrap();
    let huge = text.replace("width = 64\nheight = 64", "width = 16384\nheight = 16384");
    std::fs::write(dir.path().join("scene.toml"), huge).unwrap();
    let run = under_limit(
        dir.path(),
        "ulimit -v 2097152",
        "render scene.toml -o out.png --threads 2",
    );
    run.expect_code(2);
    run.expect_stderr_start(
        "error: this render needs about 3148 MiB: 76 MiB of rows being finished, \
         3072 MiB for the inputs and outputs of `py` over the whole image \
         (a Python node keeping state, under the `ordered` policy: docs/determinism.md) and 0 MiB for each of 2 render threads",
    );
    run.expect_stderr_has("more than the 2048 MiB available");
    assert_nothing_written(dir.path());
}

#[test]
fn a_huge_ctx_random_request_is_a_memory_error_of_its_node() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("node.py"),
        "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n\n    \
         def evaluate_tile(self, ctx):\n        ctx.random((256, 10**9))\n        return {\"out\": ctx.u}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        python_node_scene(16, 16, "node.py", ""),
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["render", "scene.toml", "-o", "out.png"]);
    run.expect_code(3);
    run.expect_stderr_start("error: node `py` (python) failed at pixel (0, 0): MemoryError: ctx.random asked for 1000000000 values \
             for each of the tile's 256 samples: 976562 MiB, more than the 1024 MiB one request may take \
             (in N.evaluate_tile, node.py:8, tile 0)\n");
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn a_read_only_output_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    std::fs::write(&out, b"kept").unwrap();
    let mut permissions = std::fs::metadata(&out).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&out, permissions).unwrap();
    let scene = crate::util::root().join("scenes/nodes/checkerboard.toml");
    let run = crate::util::tessera_in(
        dir.path(),
        &["render", &scene.to_string_lossy(), "-o", "out.png"],
    );
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "error: cannot write out.png: it is read-only; not replaced (make it writable, or remove it)\n"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"kept");
    assert_eq!(files_in(dir.path()), ["out.png"]);
}

#[test]
fn a_node_that_forks_neither_disturbs_the_render_nor_outlives_it() {
    let dir = tempfile::tempdir().unwrap();
    // One copy comes back into Tessera (and leaves at the end of the tile);
    // the other loops forever, as a forgotten background process would.
    scene(
        dir.path(),
        "            if ctx.x == 16 and ctx.y == 16 and os.fork() == 0 and os.fork() == 0:\n                \
         open(\"forked\", \"w\").write(str(os.getpid()))\n                while True:\n                    time.sleep(0.01)\n",
        "",
    );
    std::fs::remove_file(dir.path().join("out.png")).unwrap();
    let forked = render(dir.path(), &[]);
    forked.expect_code(0);
    std::fs::write(
        dir.path().join("node.py"),
        std::fs::read_to_string(dir.path().join("node.py"))
            .unwrap()
            .replace("os.fork() == 0", "False"),
    )
    .unwrap();
    let plain = render(dir.path(), &[]);
    assert_eq!(forked.pixel_hash(), plain.pixel_hash());
    // The looping copy was killed with the render: gone, or a zombie
    // waiting for init.
    let pid = std::fs::read_to_string(dir.path().join("forked")).unwrap();
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let running = state
        .rsplit(") ")
        .next()
        .is_some_and(|rest| !rest.starts_with('Z'));
    assert!(!running, "the forked process {pid} still runs: {state}");
}

#[test]
fn an_output_over_a_texture_the_scene_reads_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    image::RgbaImage::new(4, 4)
        .save(dir.path().join("texture.png"))
        .unwrap();
    let before = std::fs::read(dir.path().join("texture.png")).unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "[image]\nwidth = 8\nheight = 8\n\n[nodes.tex]\ntype = \"image\"\nfile = \"texture.png\"\n\n[output]\ncolor = \"@tex\"\n",
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["render", "scene.toml", "-o", "./texture.png"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "error: the output ./texture.png is the file node `tex` reads (texture.png); it would be overwritten. \
         Choose another output\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("texture.png")).unwrap(),
        before
    );
    assert_eq!(files_in(dir.path()), ["scene.toml", "texture.png"]);
}

#[test]
fn a_full_or_closed_standard_output_is_an_output_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    scene(dir.path(), "            pass\n", "");
    let args = "render scene.toml -o new.png --size 8x8";
    // The image is written; the summary line cannot be.
    let full = under_limit(dir.path(), "true", &format!("{args} > /dev/full"));
    full.expect_code(1);
    assert_eq!(
        full.stderr,
        "error: cannot write to standard output: No space left on device (os error 28)\n"
    );
    assert!(dir.path().join("new.png").exists());
    // A reader that stopped (`| head`) is no error: the pipe is closed
    // before the render has started Python, let alone printed.
    let mut closed = tessera_command(dir.path());
    closed
        .args(args.split(' '))
        .stdout(std::process::Stdio::piped());
    let mut child = closed.spawn().unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    // Errors that cannot be printed still give their exit code.
    std::fs::write(dir.path().join("bad.toml"), "[image]\nwidth = 0\n").unwrap();
    under_limit(dir.path(), "true", "check bad.toml 2> /dev/full").expect_code(2);
}

#[test]
fn a_scene_read_from_standard_input_renders_supervised() {
    // `generate-scene | tessera render /dev/stdin`: the supervised render
    // gets the standard input its nodes otherwise never see.
    let dir = tempfile::tempdir().unwrap();
    let scene = std::fs::File::open(crate::util::root().join("scenes/nodes/absval.toml")).unwrap();
    let run = run_command(
        tessera_command(dir.path())
            .args(["render", "/dev/stdin", "-o", "out.png"])
            .stdin(scene),
    );
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("out.png: 64x64, 1 sample"),
        "{}",
        run.stdout
    );
    assert_eq!(files_in(dir.path()), ["out.png"]);
    // A node reads what is left of it: from a file (`< scene.toml`) too,
    // which was opened again by name, and read from its start.
    crate::util::write_python_node_scene(
        dir.path(),
        "import sys\nimport tessera\nprint(repr(sys.stdin.read()))\n\n\nclass N(tessera.Node):\n    \
         outputs = {\"out\": tessera.Float()}\n\n    def __call__(self, ctx):\n        return 0.5\n",
        (8, 8),
        "",
    );
    let scene = std::fs::File::open(dir.path().join("scene.toml")).unwrap();
    let run = run_command(
        tessera_command(dir.path())
            .args(["render", "/dev/stdin", "-o", "out.png", "-q"])
            .stdin(scene),
    );
    run.expect_code(0);
    assert_eq!(run.stdout, "''\n");
}

#[test]
fn a_scene_read_from_standard_input_reaches_workers_and_compares_renders() {
    // Only the first process can read standard input: the render's worker
    // processes and compare's renders used to read an empty scene. Its
    // relative paths are from the current folder (they were from /dev).
    let dir = tempfile::tempdir().unwrap();
    crate::util::write_python_node_scene(
        dir.path(),
        "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n    \
         pure = True\n\n    def __call__(self, ctx):\n        return ctx.x / 8.0\n",
        (8, 8),
        "",
    );
    let scene = || std::fs::File::open(dir.path().join("scene.toml")).unwrap();
    let reference =
        run_command(tessera_command(dir.path()).args(["render", "scene.toml", "-o", "ref.exr"]));
    reference.expect_code(0);
    let hash = reference
        .stdout
        .rsplit_once("blake3 ")
        .unwrap()
        .1
        .to_string();
    for extra in [&[][..], &["--no-supervise"]] {
        let run = run_command(
            tessera_command(dir.path())
                .args(["render", "/dev/stdin", "-o", "out.exr"])
                .args(["--python-workers", "processes"])
                .args(extra)
                .stdin(scene()),
        );
        run.expect_code(0);
        assert!(run.stdout.ends_with(&hash), "{extra:?}: {}", run.stdout);
    }
    let run = run_command(
        tessera_command(dir.path())
            .args(["compare", "/dev/stdin", "--threads", "1,2", "--runs", "1"])
            .args(["--python-workers", "processes"])
            .stdin(scene()),
    );
    run.expect_code(0);
    assert!(
        run.stdout
            .ends_with("the scene's own policies: all 2 renders identical\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&hash[..12]), "{}", run.stdout);
}

/// Runs `tessera ARGS` in `dir` on a terminal of its own (a pseudo-terminal,
/// whose foreground job it is), types `typed` at it, then Ctrl-D; its exit
/// code and what it printed. A run that has not ended 30 s after is killed:
/// `None`.
fn at_a_terminal(dir: &Path, args: &[&str], typed: &str) -> Option<(i32, String)> {
    let driver = "import os, pty, sys, time\n\
                  pid, fd = pty.fork()\n\
                  if pid == 0:\n    os.execv(sys.argv[1], sys.argv[1:-1])\n\
                  os.write(fd, sys.argv[-1].encode() + b'\\x04')\n\
                  out, deadline = b'', time.monotonic() + 30\n\
                  while time.monotonic() < deadline:\n    \
                      done, status = os.waitpid(pid, os.WNOHANG)\n    \
                      if done:\n        break\n    \
                      try:\n        os.set_blocking(fd, False)\n        out += os.read(fd, 65536)\n    \
                      except (BlockingIOError, OSError):\n        time.sleep(0.05)\n\
                  else:\n    os.kill(pid, 9)\n    print('hung')\n    sys.exit(0)\n\
                  while True:\n    \
                      try:\n        more = os.read(fd, 65536)\n    \
                      except OSError:\n        break\n    \
                      if not more:\n        break\n    \
                      out += more\n\
                  print(os.waitstatus_to_exitcode(status))\n\
                  sys.stdout.write(out.decode(errors='replace'))\n";
    let run = run_command(
        Command::new(crate::util::venv().join("bin/python"))
            .current_dir(dir)
            .env("VIRTUAL_ENV", crate::util::venv())
            .arg("-c")
            .arg(driver)
            .arg(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .arg(typed),
    );
    let (code, printed) = run.stdout.split_once('\n')?;
    Some((code.parse().ok()?, printed.to_string()))
}

#[test]
fn a_scene_typed_at_the_terminal_renders() {
    // The supervised render, in a process group of its own, read the
    // terminal itself: stopped by SIGTTIN, and its supervisor waited on.
    let dir = tempfile::tempdir().unwrap();
    let scene = "[image]\nwidth = 8\nheight = 8\n\n[nodes.c]\ntype = \"constant\"\n\n[output]\ncolor = \"@c\"\n";
    let ran = at_a_terminal(
        dir.path(),
        &["render", "/dev/stdin", "-o", "out.png"],
        scene,
    );
    let (code, printed) = ran.expect("the render ended");
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("out.png: 8x8, 1 sample"), "{printed}");
    assert_eq!(files_in(dir.path()), ["out.png"]);
}

#[test]
fn a_device_as_a_scene_or_an_include_is_refused_not_read_without_end() {
    // /dev/zero was read until memory ran out (4.7 GB in 8 s).
    let dir = tempfile::tempdir().unwrap();
    let run = tessera_in(dir.path(), &["check", "/dev/zero"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "error: cannot read scene /dev/zero: it is a device, not a scene file\n"
    );
    std::fs::write(
        dir.path().join("zero.mtlx"),
        "<?xml version=\"1.0\"?>\n<materialx version=\"1.39\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n  \
         <xi:include href=\"/dev/zero\"/>\n</materialx>\n",
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", "zero.mtlx"]);
    run.expect_code(2);
    run.expect_stderr_start(
        "error: cannot include /dev/zero: it is not a regular file (a directory, FIFO, socket or device)\n  \
         ┌─ zero.mtlx:3:21\n",
    );
}

/// The bar drawn on the terminal, and what a node printed: each line it
/// printed followed the bar's text on the bar's line ("ETA 2s      row 32"),
/// and so did the error naming the node.
#[test]
fn lines_printed_under_the_progress_bar_begin_their_own_line() {
    let dir = tempfile::tempdir().unwrap();
    write_python_node_scene(
        dir.path(),
        "import time\n\nimport tessera\n\n\nclass N(tessera.Node):\n    \
         outputs = {\"out\": tessera.Float()}\n    pure = True\n\n    \
         def __call__(self, ctx):\n        \
         if (ctx.x, ctx.y) == (15, 31):\n            print(\"half\", end=\"\", flush=True)\n        \
         if (ctx.x, ctx.y) == (0, 32):\n            time.sleep(0.3)\n            print(\" whole\")\n        \
         if ctx.x == 0 and ctx.y % 16 == 0:\n            \
         print(\"row\", ctx.y)\n            time.sleep(0.2)\n        \
         if (ctx.x, ctx.y) == (5, 60):\n            raise ValueError(\"boom\")\n        \
         return 0.5\n",
        (16, 64),
        "",
    );
    // The bar drawn by the supervisor, or by the render itself.
    for (workers, supervise) in [
        ("threads", "--timeout=60"),
        ("processes", "--timeout=60"),
        ("threads", "--no-supervise"),
    ] {
        let args = [
            "render",
            "scene.toml",
            "-o",
            "out.png",
            "--tile",
            "16",
            "--threads",
            "1",
            "--python-workers",
            workers,
            supervise,
        ];
        let (code, printed) = at_a_terminal(dir.path(), &args, "").expect("the render ended");
        assert_eq!(code, 3, "{printed}");
        // The bar was drawn, and every line printed begins by erasing it.
        assert!(printed.contains("] 1/4 tiles, "), "{printed:?}");
        // A line flushed half-way, ended after the bar was drawn again (a
        // tile done between), is written whole.
        let lines = [
            "row 0",
            "row 16",
            "row 32",
            "half whole",
            "row 48",
            "error: node `py`",
        ];
        for line in lines {
            assert!(
                printed.contains(&format!("\r\u{1b}[2K{line}")),
                "{workers}, {line}: {printed:?}"
            );
        }
        assert!(!printed.contains("      row"), "{workers}: {printed:?}");
    }
}
