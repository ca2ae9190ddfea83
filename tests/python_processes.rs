//! Python nodes in worker processes (`--python-workers processes`): the
//! same pixels as in-process rendering, and every fault the in-process path
//! handles handled here too, with the same exit codes and located messages.

use crate::util::{
    files_in, frame_hashes, render, render_frames_one_to_three, run_command, tessera_command,
    tessera_in, write_python_node_scene,
};
use std::path::Path;
use std::process::Command;

const PROCESSES: [&str; 2] = ["--python-workers", "processes"];

/// The sockets of every node here.
const SOCKETS: &str = "    inputs = {\"uv\": tessera.Vector2(tessera.TEXCOORD)}\n    outputs = {\"out\": tessera.Float()}\n";

/// `WHERE()` in a node: "worker" in a worker process, else "render".
const WHERE: &str = "\n\ndef WHERE():\n    with open(\"/proc/self/cmdline\", \"rb\") as f:\n        \
                     command = f.read().split(b\"\\0\")\n    \
                     return \"worker\" if command[1] == b\"python-worker\" else \"render\"\n";

/// Writes `node.py` (class `N`, of a `uv` input and an `out` float, the
/// body given after them; `os`, `sys` and `tessera` imported) and
/// `scene.toml`: one node over a 64 x 64 image, linked to `uv`.
fn node_scene(dir: &Path, body: &str) {
    let script = format!(
        "import os\nimport sys\n\nimport tessera\n\n\nclass N(tessera.Node):\n{SOCKETS}{body}{WHERE}"
    );
    write_python_node_scene(dir, &script, (64, 64), "uv = \"@uv\"");
}

fn render_here(dir: &Path, extra: &[&str]) -> crate::util::Run {
    run_command(&mut render_command(dir, extra))
}

/// `tessera render scene.toml -o out.png --tile 16 EXTRA` in `dir`.
fn render_command(dir: &Path, extra: &[&str]) -> Command {
    let mut command = tessera_command(dir);
    let args = ["render", "scene.toml", "-o", "out.png", "--tile", "16"];
    command.args(args).args(extra);
    command
}

/// A pure node that fails in tile 5 (pixels 16..32 x 16..32) as `failure` says.
fn failing_in_tile_5(dir: &Path, failure: &str) {
    node_scene(
        dir,
        &format!(
            "    pure = True\n\n    \
             def __call__(self, ctx, uv):\n        if ctx.tile == 5:\n            {failure}\n        return uv[0]\n"
        ),
    );
}

#[test]
fn every_python_scene_gives_the_in_process_pixels_in_worker_processes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.exr");
    for scene in [
        "python_grade",
        "python_numpy",
        "python_ripples",
        "python_sparkle",
        "python_tile",
        "python_counter",
    ] {
        let scene = format!("scenes/{scene}.toml");
        let reference = render(&scene, &out, &["--threads", "1"])
            .expect_code(0)
            .pixel_hash();
        for threads in ["1", "2", "3"] {
            let mut args = vec!["--threads", threads];
            args.extend(PROCESSES);
            let hash = render(&scene, &out, &args).expect_code(0).pixel_hash();
            assert_eq!(hash, reference, "{scene} at {threads} threads in processes");
        }
    }
}

#[test]
fn an_exception_in_a_worker_reads_as_it_does_in_process() {
    let dir = tempfile::tempdir().unwrap();
    failing_in_tile_5(dir.path(), "raise ValueError(f\"bad {ctx.x}\")");
    let in_process = render_here(dir.path(), &["--threads", "2"]);
    let workers = render_here(
        dir.path(),
        &["--threads", "2", "--python-workers", "processes"],
    );
    workers.expect_code(3);
    workers.expect_stderr_start("error: node `py` (python) failed at pixel (16, 16): ValueError: bad 16 (in N.__call__, node.py:14)\nTraceback");
    assert_eq!(workers.stderr, in_process.stderr);
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn a_worker_that_exits_is_named_with_its_node_tile_and_code_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // libc's _exit, below Python's os._exit (which raises ProcessExit in
    // every Tessera interpreter: see the next test).
    failing_in_tile_5(dir.path(), "import ctypes; ctypes.CDLL(None)._exit(5)");
    std::fs::write(dir.path().join("out.png"), b"an older image").unwrap();
    // Each worker holds two tiles at once: the one sent after tile 5 to
    // the same worker never started, and is sent again to a new worker,
    // not blamed (at one thread, one worker gets every tile).
    for threads in ["1", "2", "3"] {
        let run = render_here(
            dir.path(),
            &["--threads", threads, "--python-workers", "processes"],
        );
        run.expect_code(3);
        // The tile, not a pixel: which pixel it was at is not known.
        run.expect_stderr_has("error: node `py` (python) failed in tile 5 (pixels 16..32 x 16..32): the Python worker process running N.__call__ (pid ");
        run.expect_stderr_has(") exited with code 5; a node must not end its process");
        assert_eq!(run.stderr.matches("in tile").count(), 1, "{}", run.stderr);
        assert_eq!(
            std::fs::read(dir.path().join("out.png")).unwrap(),
            b"an older image"
        );
        assert_eq!(files_in(dir.path()), ["node.py", "out.png", "scene.toml"]);
    }
}

#[test]
fn os_exit_in_a_worker_is_an_error_of_its_node_as_in_process() {
    let dir = tempfile::tempdir().unwrap();
    failing_in_tile_5(dir.path(), "os._exit(5)");
    let in_process = render_here(dir.path(), &["--threads", "2"]);
    let workers = render_here(
        dir.path(),
        &["--threads", "2", "--python-workers", "processes"],
    );
    workers.expect_code(3);
    workers.expect_stderr_start("error: node `py` (python) failed at pixel (16, 16): ProcessExit: os._exit(5) would end Tessera's process; \
             a node must return or raise instead (in N.__call__, node.py:14)\n");
    assert_eq!(workers.stderr, in_process.stderr);
}

#[test]
fn a_worker_that_crashes_names_the_signal_and_prints_the_python_stack() {
    let dir = tempfile::tempdir().unwrap();
    failing_in_tile_5(dir.path(), "import ctypes; ctypes.string_at(0)");
    let run = render_here(
        dir.path(),
        &["--threads", "2", "--python-workers", "processes"],
    );
    run.expect_code(3);
    run.expect_stderr_has("failed in tile 5 (pixels 16..32 x 16..32): the Python worker process running N.__call__ (pid ");
    run.expect_stderr_has(
        ") was killed by signal 11 (SIGSEGV, a segmentation fault); a node must not",
    );
    // faulthandler's stack names the script's line.
    run.expect_stderr_has("node.py\", line 14 in __call__");
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn a_timeout_stops_a_looping_worker_naming_the_pixel_and_line_as_in_process() {
    let dir = tempfile::tempdir().unwrap();
    // Not the tile's first pixel: a worker stopped without being asked
    // where could only name its tile.
    failing_in_tile_5(
        dir.path(),
        "if (ctx.x, ctx.y) == (21, 27):\n                while True: pass",
    );
    let args = ["--threads", "2", "--timeout", "1"];
    let in_process = render_here(dir.path(), &args);
    let workers = render_here(dir.path(), &[&args[..], &PROCESSES].concat());
    for run in [&in_process, &workers] {
        run.expect_code(124);
        assert_eq!(
            run.stderr,
            "error: stopped after --timeout 1 s while node `py` (python) was running at pixel (21, 27); no image written\n  \
             KeyboardInterrupt (in N.__call__, node.py:15)\n"
        );
    }
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
    // A node blocked in C (the interrupt waits for the call to return):
    // its worker is killed, and its tile named.
    failing_in_tile_5(dir.path(), "__import__(\"time\").sleep(60)");
    let run = render_here(dir.path(), &[&args[..], &PROCESSES].concat());
    run.expect_code(124);
    assert_eq!(
        run.stderr,
        "error: stopped after --timeout 1 s while node `py` (python) was running in tile 5 (pixels 16..32 x 16..32); \
         no image written\n  its Python worker process did not stop within 300 ms of the interrupt, and was killed\n"
    );
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn on_error_color_paints_and_reports_as_in_process() {
    let dir = tempfile::tempdir().unwrap();
    failing_in_tile_5(dir.path(), "raise ValueError(f\"at {ctx.x} {ctx.y}\")");
    let args = ["--threads", "2", "--on-error", "color"];
    let in_process = render_here(dir.path(), &args);
    in_process.expect_code(0);
    let mut with_workers = args.to_vec();
    with_workers.extend(PROCESSES);
    let workers = render_here(dir.path(), &with_workers);
    workers.expect_code(0);
    workers.expect_stderr_has("warning: node `py`: N.__call__ failed on 256 samples, painted magenta; the first at pixel (16, 16): ValueError: at 16 16");
    assert_eq!(workers.stderr, in_process.stderr);
    assert_eq!(workers.pixel_hash(), in_process.pixel_hash());
}

/// A copy of a worker made by a node's `os.fork()` ends as soon as its call
/// returns: it must not write its samples into the memory the worker
/// shares with the render process, which by then holds later tiles.
#[test]
fn a_node_that_forks_in_a_worker_leaves_the_pixels_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    // The copy, had it gone on, would write the rest of its tile slowly,
    // over later tiles of the same lane.
    let script = "import os\nimport time\n\nimport tessera\n\n\nclass N(tessera.Node):\n    \
                  inputs = {\"uv\": tessera.Vector2(tessera.TEXCOORD)}\n    outputs = {\"out\": tessera.Float()}\n    \
                  pure = True\n\n    def __call__(self, ctx, uv):\n        \
                  if ctx.x == 16 and ctx.y == 16 and os.fork() == 0:\n            self.copy = True\n        \
                  if getattr(self, \"copy\", False):\n            time.sleep(0.001)\n        \
                  return uv[0] * uv[1]\n";
    write_python_node_scene(dir.path(), script, (256, 256), "uv = \"@uv\"");
    let args = ["--threads", "1", "--python-workers", "processes"];
    let forked = render_here(dir.path(), &args);
    forked.expect_code(0);
    let node = dir.path().join("node.py");
    let plain_script = std::fs::read_to_string(&node)
        .unwrap()
        .replace("os.fork() == 0", "False");
    std::fs::write(&node, plain_script).unwrap();
    let plain = render_here(dir.path(), &args);
    plain.expect_code(0);
    assert_eq!(forked.pixel_hash(), plain.pixel_hash());
}

#[test]
fn every_worker_sets_the_node_up_and_its_prints_arrive_whole() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    pure = True\n\n    \
         def setup(self):\n        print(\"setup in\", os.getpid())\n\n    \
         def __call__(self, ctx, uv):\n        if ctx.x % 16 == 0 and ctx.y % 16 == 0:\n            \
         print(\"tile\", ctx.tile, \"from\", os.getpid(), \"x\" * 200)\n        return uv[0]\n",
    );
    let run = render_here(
        dir.path(),
        &["--threads", "3", "--python-workers", "processes"],
    );
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    // The render process sets the node up when it compiles; each of the
    // three workers again, in its own interpreter.
    let setups: std::collections::BTreeSet<&str> = lines
        .iter()
        .filter(|l| l.starts_with("setup in "))
        .copied()
        .collect();
    assert_eq!(setups.len(), 4, "{}", run.stdout);
    let mut tiles: Vec<usize> = lines
        .iter()
        .filter(|l| l.starts_with("tile "))
        .map(|l| {
            assert!(l.ends_with(&"x".repeat(200)), "a line cut short: {l}");
            l.split(' ').nth(1).unwrap().parse().unwrap()
        })
        .collect();
    tiles.sort();
    assert_eq!(tiles, (0..16).collect::<Vec<_>>());
    assert!(
        lines.last().unwrap().starts_with("out.png: 64x64"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_node_that_keeps_state_under_ordered_stays_in_the_render_process() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "\n    \
         def setup(self):\n        self.calls = 0\n\n    \
         def __call__(self, ctx, uv):\n        self.calls += 1\n        \
         if self.calls == 1:\n            print(\"first call in\", WHERE())\n        \
         return (self.calls % 97) / 97\n",
    );
    let threads = render_here(dir.path(), &["--threads", "1"]);
    let workers = render_here(
        dir.path(),
        &["--threads", "2", "--python-workers", "processes"],
    );
    workers.expect_code(0);
    assert!(
        workers.stdout.starts_with("first call in render\n"),
        "{}",
        workers.stdout
    );
    assert_eq!(workers.pixel_hash(), threads.pixel_hash());
}

#[test]
fn workers_are_chosen_in_the_scene_and_refused_when_misspelt() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    pure = True\n\n    \
         def __call__(self, ctx, uv):\n        if ctx.tile == 0 and ctx.x == 0 and ctx.y == 0:\n            \
         print(WHERE())\n        return uv[0]\n",
    );
    let scene = std::fs::read_to_string(dir.path().join("scene.toml")).unwrap();
    let with_workers = |value: &str| format!("[python]\nworkers = {value}\n\n{scene}");
    std::fs::write(dir.path().join("scene.toml"), with_workers("\"processes\"")).unwrap();
    let run = render_here(dir.path(), &["--threads", "2"]);
    assert!(
        run.expect_code(0).stdout.starts_with("worker\n"),
        "{}",
        run.stdout
    );
    // The command line wins.
    let run = render_here(
        dir.path(),
        &["--threads", "2", "--python-workers", "threads"],
    );
    assert!(
        run.expect_code(0).stdout.starts_with("render\n"),
        "{}",
        run.stdout
    );

    std::fs::write(dir.path().join("scene.toml"), with_workers("\"forks\"")).unwrap();
    let run = tessera_in(dir.path(), &["check", "scene.toml"]);
    run.expect_code(2);
    run.expect_stderr_has("[python] workers must be \"threads\" or \"processes\", found \"forks\"");
    run.expect_stderr_has("scene.toml:2:11");
}

#[test]
fn the_worker_command_refuses_to_run_by_hand() {
    let run = crate::util::tessera(&["python-worker", "scenes/python_ripples.toml"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr.trim_end(),
        "error: this command is run by `tessera render --python-workers processes`, not by hand"
    );
}

#[test]
fn ctrl_c_stops_looping_workers_and_leaves_no_process_behind() {
    let dir = tempfile::tempdir().unwrap();
    failing_in_tile_5(
        dir.path(),
        "if (ctx.x, ctx.y) == (21, 27):\n                \
         print(\"spinning\", flush=True)\n                while True: pass",
    );
    let scene = dir.path().join("scene.toml");
    let run = crate::util::signal_after_line(
        tessera_command(dir.path())
            .args(["render", &scene.to_string_lossy(), "-o", "out.png"])
            .args([
                "--tile",
                "16",
                "--threads",
                "2",
                "--python-workers",
                "processes",
            ]),
        "spinning\n",
        "INT",
    );
    run.expect_code(130);
    assert_eq!(
        run.stderr,
        "error: interrupted (Ctrl-C) while node `py` (python) was running at pixel (21, 27); no image written\n  \
         KeyboardInterrupt (in N.__call__, node.py:16)\n"
    );
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
    // Every process started for this scene (the render, its workers) is gone.
    let left = Command::new("pgrep")
        .args(["-f", &scene.to_string_lossy()])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn a_range_of_frames_starts_its_workers_once_and_prints_each_frame_before_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    pure = True\n\n    \
         def setup(self):\n        print(\"setup in\", os.getpid())\n\n    \
         def __call__(self, ctx, uv):\n        if (ctx.x, ctx.y) == (0, 0):\n            \
         print(\"frame\", ctx.frame, end=\" \")\n        return uv[0] * ctx.frame / 3\n",
    );
    let run = render_frames_one_to_three(
        dir.path(),
        &[
            "--tile",
            "16",
            "--threads",
            "2",
            "--python-workers",
            "processes",
        ],
    );
    run.expect_code(0);
    // Once in the render process as it compiles, once in each worker: not
    // again for each frame.
    assert_eq!(run.stdout.matches("setup in ").count(), 3, "{}", run.stdout);
    // What a node printed without ending the line is out before the frame
    // is reported done: in workers, and in process too.
    let in_process = render_frames_one_to_three(dir.path(), &["--tile", "16"]);
    for run in [run, in_process] {
        for frame in 1..=3 {
            let printed = run.stdout.find(&format!("frame {frame} "));
            let summary = run.stdout.find(&format!("f_{frame}.png: 64x64"));
            assert!(
                printed.is_some() && printed < summary,
                "frame {frame}:\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn what_a_node_printed_without_a_newline_is_not_lost_on_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    failing_in_tile_5(
        dir.path(),
        "print(\"half a line\", end=\"\")\n            while True: pass",
    );
    let args = ["--threads", "2", "--timeout", "1"];
    for extra in [&[][..], &PROCESSES] {
        let run = render_here(dir.path(), &[&args[..], extra].concat());
        run.expect_code(124);
        assert_eq!(run.stdout, "half a line", "{extra:?}");
    }
}

#[test]
fn a_node_keeping_state_in_a_worker_starts_each_frame_afresh() {
    let dir = tempfile::tempdir().unwrap();
    // Its value counts the frames its instance has seen: 1 in every pixel
    // of every frame, unless an instance outlives its frame.
    node_scene(
        dir.path(),
        "\n    \
         def setup(self):\n        self.frames = set()\n\n    \
         def __call__(self, ctx, uv):\n        self.frames.add(ctx.frame)\n        \
         return len(self.frames) / 4 + uv[0] * ctx.frame / 8\n",
    );
    let free = ["--tile", "16", "--python-policy", "free", "--threads", "2"];
    let in_process = render_frames_one_to_three(dir.path(), &free);
    let workers = render_frames_one_to_three(dir.path(), &[&free[..], &PROCESSES[..]].concat());
    let in_workers = frame_hashes(&workers.expect_code(0).stdout);
    assert_eq!(in_workers, frame_hashes(&in_process.expect_code(0).stdout));
    assert_eq!(in_workers.len(), 3, "{}", workers.stdout);
    let alone = render_here(
        dir.path(),
        &[&free[2..], &PROCESSES[..], &["--frame", "3"]].concat(),
    );
    assert_eq!(alone.expect_code(0).pixel_hash(), in_workers[2]);
}

#[test]
fn a_seed_given_on_the_command_line_reaches_the_workers() {
    let dir = tempfile::tempdir().unwrap();
    // Python's own `random`, seeded from the render's seed in every
    // interpreter; one tile, so that its calls come in one order.
    node_scene(
        dir.path(),
        "    pure = True\n\n    \
         def __call__(self, ctx, uv):\n        import random\n        return random.random()\n",
    );
    let seeded = |seed: &str, extra: &[&str]| {
        let args = ["render", "scene.toml", "-o", "out.png", "--tile", "64"];
        let args = [&args[..], &["--threads", "1", "--seed", seed], extra].concat();
        run_command(tessera_command(dir.path()).args(args))
            .expect_code(0)
            .pixel_hash()
    };
    let seven = seeded("7", &[]);
    assert_ne!(seven, seeded("0", &[]));
    assert_eq!(seeded("7", &PROCESSES), seven);
}

#[test]
fn a_new_instance_failing_to_set_up_in_a_worker_reads_as_in_process() {
    let dir = tempfile::tempdir().unwrap();
    // Its second setup() in an interpreter fails: in the render process or
    // in a worker, that is the new instance for frame 2.
    node_scene(
        dir.path(),
        "\n    def setup(self):\n        global SETUPS\n        SETUPS = globals().get(\"SETUPS\", 0) + 1\n        \
         if SETUPS == 2:\n            raise ValueError(\"second setup\")\n\n    \
         def __call__(self, ctx, uv):\n        return uv[0]\n",
    );
    let free = ["--tile", "16", "--python-policy", "free", "--threads", "2"];
    let in_process = render_frames_one_to_three(dir.path(), &free);
    in_process.expect_code(2).expect_stderr_start(
        "error: frame 2: node `py`: a new instance for the next frame failed to set up: ValueError: second setup\n",
    );
    let workers = render_frames_one_to_three(dir.path(), &[&free[..], &PROCESSES[..]].concat());
    workers.expect_code(2);
    assert_eq!(workers.stderr, in_process.stderr);
    assert_eq!(files_in(dir.path()), ["f_1.png", "node.py", "scene.toml"]);
}

#[test]
fn a_setup_failing_only_in_a_worker_is_a_scene_error() {
    // As a node taking a resource the render process holds would.
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    pure = True\n\n    def setup(self):\n        if WHERE() == \"worker\":\n            \
         raise OSError(\"taken\")\n\n    def __call__(self, ctx, uv):\n        return uv[0]\n",
    );
    let run = render_here(dir.path(), &PROCESSES);
    run.expect_code(2).expect_stderr_start(
        "error: a Python worker process could not load the scene:\n\
         error: node `py`: setup() of N failed at node.py:14: OSError: taken\n",
    );
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn a_worker_ending_its_process_as_it_sets_up_is_a_node_failure_as_in_process() {
    // It was an I/O failure (exit 1); the render process ending at the same
    // point exits 3.
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    pure = True\n\n    def setup(self):\n        if WHERE() == \"worker\":\n            \
         import ctypes\n            ctypes.CDLL(None)._exit(4)\n\n    \
         def __call__(self, ctx, uv):\n        return uv[0]\n",
    );
    let run = render_here(dir.path(), &PROCESSES);
    run.expect_code(3);
    let tail = " exited with code 4 while loading the scene (importing its scripts, setting its \
                nodes up): a script or a node's setup() must not end its process; no image written\n";
    assert!(
        run.stderr.starts_with("error: a Python worker process (") && run.stderr.ends_with(tail),
        "{}",
        run.stderr
    );
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn a_timeout_while_the_workers_load_the_scene_says_so_once() {
    // Two errors came out, the second a cancel the first explained.
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    pure = True\n\n    def setup(self):\n        while WHERE() == \"worker\":\n            pass\n\n    \
         def __call__(self, ctx, uv):\n        return uv[0]\n",
    );
    let run = render_here(dir.path(), &[&PROCESSES[..], &["--timeout", "1"]].concat());
    run.expect_code(124);
    assert_eq!(
        run.stderr,
        "error: stopped after --timeout 1 s, while Python prepared the render (worker processes \
         loading the scene, nodes setting up); no image written\n"
    );
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn a_node_changing_folder_moves_neither_the_images_nor_the_workers() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    // At import, and again in every call.
    let chdir = format!("os.chdir({:?})", elsewhere.path().to_string_lossy());
    node_scene(
        dir.path(),
        &format!(
            "    pure = True\n\n    def __call__(self, ctx, uv):\n        {chdir}\n        return uv[0]\n\n\n{chdir}\n"
        ),
    );
    // Worker processes start in the folder the render started in, where
    // the scene's relative path leads.
    let workers = render_here(dir.path(), &PROCESSES);
    workers.expect_code(0);
    // Every frame of a range is written where the first was to be.
    let frames = crate::util::render_frames_one_to_three(dir.path(), &["-j", "1"]);
    frames.expect_code(0);
    assert_eq!(
        files_in(dir.path()),
        [
            "f_1.png",
            "f_2.png",
            "f_3.png",
            "node.py",
            "out.png",
            "scene.toml"
        ]
    );
    assert!(files_in(elsewhere.path()).is_empty());
}

#[test]
fn threads_a_node_leaves_running_in_a_worker_are_reported_as_in_process() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    pure = True\n\n    def __call__(self, ctx, uv):\n        if (ctx.x, ctx.y) == (0, 0):\n            \
         import threading, time\n            \
         threading.Thread(target=time.sleep, args=(3600,), name=\"sleeper\", daemon=True).start()\n        \
         return uv[0]\n",
    );
    let run = render_here(dir.path(), &[&["--threads", "2"][..], &PROCESSES].concat());
    run.expect_code(0).expect_stderr_start(
        "warning: Python nodes left 1 thread running, which Tessera does not wait for: \
         sleeper running sleep() (in worker process ",
    );
}

/// glibc gave the memory a tile's temporaries freed back to the kernel
/// (its heap shrinks when a few hundred KB at the top are free), so every
/// tile faulted its pages in again: a numpy node in one worker took 2.7
/// times as long as in process. Now only each interpreter's first tile
/// faults them in.
#[test]
fn memory_a_node_frees_is_kept_for_its_next_tile_in_process_and_in_workers() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    pure = True\n\n    def __call__(self, ctx, uv):\n        \
         if ctx.x % 16 == 0 and ctx.y % 16 == 0:\n            \
         import resource\n            \
         before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt\n            \
         blocks = [b\"x\" * (100 << 10) for _ in range(10)]\n            \
         del blocks\n            \
         faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before\n            \
         print(\"tile\", ctx.tile, \"faulted\", faults, \"pages\")\n        \
         return uv[0]\n",
    );
    for workers in ["threads", "processes"] {
        let run = render_here(dir.path(), &["--threads", "2", "--python-workers", workers]);
        run.expect_code(0);
        let faulting = faulting_tiles(&run.stdout);
        // A megabyte is 256 pages: each of the two threads or workers
        // faults them in for its first tile, and no more.
        assert!(faulting.len() <= 2, "{workers}: {faulting:?}");
    }
    // Thresholds the user set are theirs: glibc's own here, which give the
    // memory back after every tile.
    let run = run_command(
        render_command(dir.path(), &["--threads", "1"])
            .env("MALLOC_TRIM_THRESHOLD_", "131072")
            .env("MALLOC_MMAP_THRESHOLD_", "131072"),
    );
    run.expect_code(0);
    assert!(faulting_tiles(&run.stdout).len() > 8, "{}", run.stdout);
}

/// The lines "tile T faulted N pages" of `stdout` whose N is over 50.
fn faulting_tiles(stdout: &str) -> Vec<&str> {
    (stdout.lines())
        .filter(|line| line.starts_with("tile "))
        .filter(|line| line.split(' ').nth(3).unwrap().parse::<u32>().unwrap() > 50)
        .collect()
}
