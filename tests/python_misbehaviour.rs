//! Python nodes that misbehave: loop forever, exit, leave threads running,
//! sleep, recurse without bound, exhaust memory, print a lot. Whatever a node
//! does, Tessera ends with a clear message, a documented exit code, and
//! either a complete image or none.

use crate::util::{
    files_in, python_version, run_command, tessera_command, write_python_node_scene,
};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Writes `node.py` with class `N` (body given) and a 32 x 32 `scene.toml`
/// (one tile at the default tile size: tests of threads pass `--tile 8`).
fn node_scene(dir: &Path, body: &str) {
    let script = format!(
        "import sys\nimport threading\nimport time\n\nimport tessera\n\n\nclass N(tessera.Node):\n{body}"
    );
    write_python_node_scene(dir, &script, (32, 32), "");
}

fn render(dir: &Path, extra: &[&str]) -> crate::util::Run {
    run_command(
        tessera_command(dir)
            .args(["render", "scene.toml", "-o", "out.png"])
            .args(extra),
    )
}

/// Waits for `child` to exit by itself; kills it and fails if it hangs.
fn wait_bounded(child: &mut std::process::Child, bound: Duration) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > bound {
            child.kill().unwrap();
            panic!("tessera hung: still running after {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const SPIN: &str = "    outputs = {\"out\": tessera.Float()}\n\n    def __call__(self, ctx):\n        \
                    if (ctx.x, ctx.y) == (5, 9):\n            print(\"spinning\", flush=True)\n            while True:\n                pass\n        \
                    return 0.5\n";

#[test]
fn a_timeout_stops_an_endless_loop_names_the_node_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(dir.path(), SPIN);
    // The loop is stopped on its `while` line; CPython 3.9 reports its `pass`.
    let line = if python_version() < (3, 10) { 15 } else { 14 };
    for policy in ["ordered", "free", "exclusive", "isolated"] {
        let run = render(
            dir.path(),
            &[
                "--timeout",
                "0.5",
                "--threads",
                "2",
                "--python-policy",
                policy,
            ],
        );
        run.expect_code(124);
        assert_eq!(
            run.stderr,
            format!(
                "error: stopped after --timeout 0.5 s while node `py` (python) was running at pixel (5, 9); no image written\n  \
                 KeyboardInterrupt (in N.__call__, node.py:{line})\n"
            ),
            "{policy}"
        );
        assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"], "{policy}");
    }
}

#[test]
fn ctrl_c_stops_an_endless_loop_with_exit_130_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(dir.path(), SPIN);
    // Once the node says it is spinning, it is inside the loop.
    let run = crate::util::signal_after_line(
        tessera_command(dir.path()).args([
            "render",
            "scene.toml",
            "-o",
            "out.png",
            "--threads",
            "2",
        ]),
        "spinning\n",
        "INT",
    );
    run.expect_code(130).expect_stderr_start(
        "error: interrupted (Ctrl-C) while node `py` (python) was running at pixel (5, 9); no image written\n",
    );
    assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
}

#[test]
fn a_stop_during_the_last_tile_writes_no_image_even_if_the_node_finishes_it() {
    // The stop comes while the last (here the only) tile runs, and that
    // tile's node swallows the KeyboardInterrupt and finishes it: the image
    // is complete, but the user asked for none.
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Color()}\n\n    def __call__(self, ctx):\n        import os, signal\n        \
         try:\n            os.kill(os.getpid(), signal.SIGTERM)\n            \
         end = time.time() + 3\n            while time.time() < end:\n                pass\n        \
         except KeyboardInterrupt:\n            pass\n        return (0.5, 0.5, 0.5, 1.0)\n",
    );
    std::fs::write(
        dir.path().join("scene.toml"),
        crate::util::python_node_scene(1, 1, "node.py", ""),
    )
    .unwrap();
    for extra in [
        &[][..],
        &["--no-supervise"],
        &["--python-workers", "processes"],
    ] {
        let run = render(dir.path(), extra);
        // Whether the node caught the interrupt or a second one reached it
        // (CI58 saw that once, under CPython 3.13), no image.
        run.expect_code(143)
            .expect_stderr_start("error: terminated (SIGTERM)");
        run.expect_stderr_has("no image written\n");
        assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"], "{extra:?}");
    }
}

#[test]
fn sigterm_and_sighup_stop_a_render_as_ctrl_c_does_with_their_own_exit_codes() {
    // `kill`, timeout(1), a CI runner cancelling a job; a closed terminal.
    for (signal, code, why) in [
        ("TERM", 143, "terminated (SIGTERM)"),
        ("HUP", 129, "hung up (SIGHUP: the terminal closed)"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        node_scene(dir.path(), SPIN);
        let run = crate::util::signal_after_line(
            tessera_command(dir.path()).args(["render", "scene.toml", "-o", "out.png"]),
            "spinning\n",
            signal,
        );
        run.expect_code(code).expect_stderr_start(&format!(
            "error: {why} while node `py` (python) was running at pixel (5, 9); no image written\n"
        ));
        // Neither the image nor the supervisor's temporary file.
        assert_eq!(files_in(dir.path()), ["node.py", "scene.toml"]);
        // `check`, while a script's import loops: its process has no
        // handler, and ends by the signal passed on to it.
        node_scene(
            dir.path(),
            "    pass\n\n\nprint(\"importing\", flush=True)\nwhile True:\n    pass\n",
        );
        let run = crate::util::signal_after_line(
            tessera_command(dir.path()).args(["check", "scene.toml"]),
            "importing\n",
            signal,
        );
        run.expect_code(code);
        assert_eq!(run.stderr, format!("error: {why}; the check was stopped\n"));
    }
}

#[test]
fn ctrl_z_stops_every_process_of_a_render_and_fg_continues_them() {
    // The render child, compare's renders and the Python workers run in
    // process groups of their own, which the terminal's Ctrl-Z does not
    // reach: it used to stop the tessera the shell started while they went
    // on computing.
    let dir = tempfile::tempdir().unwrap();
    let busy = dir.path().join("busy");
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n    pure = True\n\n    def __call__(self, ctx):\n        \
         import os\n        with open(\"busy.tmp\", \"w\") as f:\n            f.write(str(os.getpid()))\n        \
         os.replace(\"busy.tmp\", \"busy\")\n        while True:\n            pass\n",
    );
    let workers = ["--python-workers", "processes", "--threads", "1"];
    let commands: [&[&str]; 3] = [
        &["render", "scene.toml", "-o", "out.png"],
        &["render", "scene.toml", "-o", "out.png", "--no-supervise"],
        &["compare", "scene.toml", "--threads", "1", "--runs", "2"],
    ];
    for args in commands {
        let _ = std::fs::remove_file(&busy);
        let mut command = tessera_command(dir.path());
        command.args(args).args(&workers[..2]);
        if args[0] == "render" {
            command.args(&workers[2..]);
        }
        // A process group of its own, as a shell's job: its parent (this
        // test) is outside it, so it is not orphaned, whatever this test's
        // own group is (a CI job's may be).
        let mut child = std::os::unix::process::CommandExt::process_group(&mut command, 0)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !busy.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{args:?}: not busy"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let node: u32 = std::fs::read_to_string(&busy).unwrap().parse().unwrap();
        assert_ne!(node, child.id(), "{args:?}: the node runs in a worker");
        // The supervised render child or compare's render, and the worker.
        let processes = [vec![child.id()], descendants(child.id())].concat();
        assert!(processes.contains(&node), "{args:?}: {processes:?}");
        let levels = if args.contains(&"--no-supervise") {
            2
        } else {
            3
        };
        assert!(processes.len() >= levels, "{args:?}: {processes:?}");
        crate::util::send_signal(child.id(), "TSTP");
        for &pid in &processes {
            await_state(pid, true, args);
        }
        crate::util::send_signal(child.id(), "CONT");
        for &pid in &processes {
            await_state(pid, false, args);
        }
        // `fg` at once after the Ctrl-Z: a SIGCONT within microseconds may
        // leave the process stopped (docs/reliability.md), but the next one
        // continues everything; no child is left stopped behind it.
        crate::util::send_signal(child.id(), "TSTP");
        crate::util::send_signal(child.id(), "CONT");
        std::thread::sleep(Duration::from_millis(300));
        crate::util::send_signal(child.id(), "CONT");
        for &pid in &processes {
            await_state(pid, false, args);
        }
        crate::util::send_signal(child.id(), "INT");
        assert_eq!(
            wait_bounded(&mut child, Duration::from_secs(30)),
            130,
            "{args:?}"
        );
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(
            stderr.starts_with("error: interrupted (Ctrl-C)"),
            "{args:?}: {stderr}"
        );
        assert!(!dir.path().join("out.png").exists(), "{args:?}");
    }
}

/// The processes `pid` started, and theirs, from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // After the command name, in parentheses: the state, then the parent.
        let parent = stat.rsplit_once(") ").unwrap().1.split(' ').nth(1).unwrap();
        if parent == pid.to_string() {
            found.push(child);
            found.extend(descendants(child));
        }
    }
    found
}

/// Waits (10 s at most) until process `pid` is stopped (`T` in
/// /proc/PID/stat), or no longer stopped.
fn await_state(pid: u32, stopped: bool, what: &[&str]) {
    let started = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // The state follows the command name, which is in parentheses.
        let state = stat.rsplit_once(") ").unwrap().1.chars().next().unwrap();
        if (state == 'T') == stopped {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what:?}: process {pid} is in state {state}, not {}",
            if stopped { "stopped" } else { "running" }
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_node_printing_under_stty_tostop_does_not_stop_the_render() {
    // The render child and the workers run in process groups of their own,
    // never the terminal's foreground one: under `stty tostop` the terminal
    // stopped them (SIGTTOU) at their first line, and the render hung.
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n    pure = True\n\n    def __call__(self, ctx):\n        \
         if (ctx.x, ctx.y) == (0, 0):\n            print(\"hello from the node\", flush=True)\n        \
         return 0.5\n",
    );
    // A terminal of its own (Python's pty module), in the foreground.
    let in_a_terminal = "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)";
    for extra in ["", " --python-workers processes"] {
        let shell = format!("stty tostop; exec \"$0\" render scene.toml -o out.png -q{extra}");
        let run = run_command(
            std::process::Command::new("timeout")
                .arg("60")
                .arg(crate::util::venv().join("bin/python"))
                .args(["-c", in_a_terminal, "sh", "-c", &shell])
                .arg(env!("CARGO_BIN_EXE_tessera"))
                .current_dir(dir.path()),
        );
        run.expect_code(0);
        assert!(
            run.stdout.contains("hello from the node"),
            "{extra}: {}",
            run.stdout
        );
        assert!(dir.path().join("out.png").exists(), "{extra}");
    }
}

#[test]
fn compare_stopped_by_a_signal_or_its_timeout_stops_its_render_and_leaves_nothing() {
    // compare's render child used to run on after compare was killed, and
    // its folder of renders to stay behind.
    let dir = tempfile::tempdir().unwrap();
    let temporary = dir.path().join("tmp");
    std::fs::create_dir(&temporary).unwrap();
    let busy = dir.path().join("busy");
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n\n    def __call__(self, ctx):\n        import os\n        \
         with open(\"busy.tmp\", \"w\") as f:\n            f.write(str(os.getpid()))\n        \
         os.replace(\"busy.tmp\", \"busy\")\n        while True:\n            pass\n",
    );
    for (how, code, why) in [
        ("TERM", 143, "terminated (SIGTERM)"),
        ("INT", 130, "interrupted (Ctrl-C)"),
        ("--timeout", 124, "stopped after --timeout 3 s"),
    ] {
        let _ = std::fs::remove_file(&busy);
        let mut command = tessera_command(dir.path());
        command
            .args(["compare", "scene.toml", "--threads", "1,2", "--runs", "1"])
            .env("TMPDIR", &temporary);
        let run = match how {
            // Long enough for the node to start on a loaded machine.
            "--timeout" => run_command(command.args(["--timeout", "3"])),
            signal => crate::util::signal_once_written(&mut command, &busy, signal),
        };
        run.expect_code(code);
        assert_eq!(
            run.stderr,
            format!(
                "error: {why}, during the render under the scene's own policies at 1 thread (run 1 of 1), \
                 after 0 of 2 renders\n"
            ),
            "{how}"
        );
        assert!(
            files_in(&temporary).is_empty(),
            "{how}: {:?}",
            files_in(&temporary)
        );
        let node_process = std::fs::read_to_string(&busy).unwrap();
        assert!(
            !Path::new("/proc").join(&node_process).exists(),
            "{how}: the node's process {node_process} still runs"
        );
    }
    // Killed outright, compare cannot pass the stop on: its render is
    // stopped by the signal it is given when its parent dies.
    let _ = std::fs::remove_file(&busy);
    let mut command = tessera_command(dir.path());
    let run = crate::util::signal_once_written(
        command.args(["compare", "scene.toml", "--threads", "1", "--runs", "2"]),
        &busy,
        "KILL",
    );
    assert_eq!(run.code, -1, "killed");
    let node_process = std::fs::read_to_string(&busy).unwrap();
    let started = Instant::now();
    while Path::new("/proc").join(&node_process).exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the node's process {node_process} outlives compare"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // While the scene loads (in compare's own process), the stop ends it.
    node_scene(dir.path(), "    pass\n\n\nwhile True:\n    pass\n");
    let run = run_command(tessera_command(dir.path()).args([
        "compare",
        "scene.toml",
        "--threads",
        "1",
        "--timeout",
        "1",
    ]));
    run.expect_code(124);
    assert_eq!(
        run.stderr,
        "error: stopped after --timeout 1 s, while loading the scene (reading it, or its Python \
         scripts importing or setting up)\n"
    );
}

#[test]
fn compare_takes_a_nodes_output_that_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n\n    def __call__(self, ctx):\n        import os\n        \
         os.write(1, b\"caf\\xe9\\n\")\n        return 0.5\n",
    );
    let run = run_command(tessera_command(dir.path()).args([
        "compare",
        "scene.toml",
        "--threads",
        "1,2",
        "--runs",
        "1",
    ]));
    run.expect_code(0);
    assert!(
        run.stdout
            .ends_with("the scene's own policies: all 2 renders identical\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_sighup_ignored_by_nohup_stays_ignored() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    node_scene(dir.path(), SPIN);
    let mut child = std::process::Command::new("nohup")
        .arg(env!("CARGO_BIN_EXE_tessera"))
        .args(["render", "scene.toml", "-o", "out.png"])
        .current_dir(dir.path())
        .env("VIRTUAL_ENV", crate::util::venv())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "spinning\n");
    crate::util::send_signal(child.id(), "HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP stopped it");
    crate::util::send_signal(child.id(), "TERM");
    assert_eq!(wait_bounded(&mut child, Duration::from_secs(30)), 143);
}

#[test]
fn an_endless_loop_at_import_is_stopped_too() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n\n    def __call__(self, ctx):\n        return 0.5\n\n\nwhile True:\n    pass\n",
    );
    let run = render(dir.path(), &["--timeout", "0.5"]);
    run.expect_code(124);
    assert!(
        run.stderr
            .starts_with("error: stopped after --timeout 0.5 s; no image written\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("KeyboardInterrupt"), "{}", run.stderr);
}

#[test]
fn sys_exit_in_a_node_is_an_error_of_that_node() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n\n    def __call__(self, ctx):\n        sys.exit(7)\n",
    );
    let run = render(dir.path(), &[]);
    run.expect_code(3);
    assert!(
        run.stderr.starts_with("error: node `py` (python) failed at pixel (0, 0): SystemExit: 7 (in N.__call__, node.py:12)\n"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("out.png").exists());
}

#[test]
fn sys_exit_at_import_is_a_located_scene_error() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(dir.path(), "    pass\n\n\nsys.exit(\"no\")\n");
    let run = render(dir.path(), &[]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: node `py`: node.py:12: SystemExit: no\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn threads_a_node_leaves_running_are_reported_once_and_never_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n\n    def setup(self):\n        \
         self.timer = threading.Timer(3600, print, args=(\"late\",))\n        self.timer.start()\n        \
         threading.Thread(target=time.sleep, args=(3600,), name=\"sleeper\").start()\n\n    \
         def __call__(self, ctx):\n        return 0.5\n",
    );
    let mut child = tessera_command(dir.path())
        .args(["render", "scene.toml", "-o", "out.png"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code = wait_bounded(&mut child, Duration::from_secs(30));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr
            .matches("warning: Python nodes left 2 threads running")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("sleeper running sleep()"), "{stderr}");
    assert!(dir.path().join("out.png").is_file());
}

#[test]
fn a_node_sleeping_or_blocked_in_c_does_not_stop_other_threads() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n    pure = True\n\n    def __call__(self, ctx):\n        \
         if ctx.x == 0:\n            time.sleep(0.002)\n        return ctx.u\n",
    );
    let one = render(
        dir.path(),
        &["--threads", "1", "--tile", "8", "--python-policy", "free"],
    );
    one.expect_code(0);
    let four = render(
        dir.path(),
        &["--threads", "4", "--tile", "8", "--python-policy", "free"],
    );
    four.expect_code(0);
    assert_eq!(one.pixel_hash(), four.pixel_hash());
}

#[test]
fn unbounded_recursion_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n\n    def deeper(self, n):\n        return self.deeper(n + 1)\n\n    \
         def __call__(self, ctx):\n        return self.deeper(0)\n",
    );
    for policy in ["free", "ordered"] {
        let run = render(dir.path(), &["--python-policy", policy]);
        run.expect_code(3);
        assert!(
            run.stderr.starts_with(
                "error: node `py` (python) failed at pixel (0, 0): RecursionError: maximum recursion depth exceeded"
            ),
            "{policy}: {}",
            run.stderr
        );
    }
}

#[test]
fn exhausting_memory_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n\n    def __call__(self, ctx):\n        \
         hoard = bytearray(1 << 60)\n        return 0.5\n",
    );
    let run = render(dir.path(), &[]);
    run.expect_code(3);
    assert!(
        run.stderr.starts_with("error: node `py` (python) failed at pixel (0, 0): MemoryError (in N.__call__, node.py:12)\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_line_printed_without_end_is_written_in_64_kib_parts_as_it_comes() {
    // Held whole until its newline, it was added to piece by piece: a
    // node printing dots took a minute where it now takes a moment, and held
    // all it printed. The process dies before its newline: only the parts
    // already written are seen.
    let dir = tempfile::tempdir().unwrap();
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n\n    def __call__(self, ctx):\n        import os\n        \
         for _ in range(100000):\n            print(\".\", end=\"\")\n        os.kill(os.getpid(), 9)\n",
    );
    let run = render(dir.path(), &["--quiet"]);
    run.expect_code(3);
    assert_eq!(run.stdout, ".".repeat(65536));
}

#[test]
fn many_prints_from_many_threads_are_neither_lost_nor_mixed_mid_line() {
    let dir = tempfile::tempdir().unwrap();
    // Each line is written in three pieces with Python work between them,
    // so without whole-line writes another thread's output lands mid-line.
    node_scene(
        dir.path(),
        "    outputs = {\"out\": tessera.Float()}\n    pure = True\n\n    def __call__(self, ctx):\n        \
         print(f\"pixel {ctx.x:02} {ctx.y:02} \", end=\"\")\n        for _ in range(300): pass\n        \
         print(\"=\" * 100, end=\"\")\n        for _ in range(300): pass\n        print()\n        return 0.5\n",
    );
    let run = render(
        dir.path(),
        &[
            "--threads",
            "4",
            "--tile",
            "8",
            "--python-policy",
            "free",
            "--switch-interval",
            "0.00001",
            "--quiet",
        ],
    );
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let expected_tail = "=".repeat(100);
    let mixed: Vec<&&str> = lines
        .iter()
        .filter(|line| {
            !(line.len() == 12 + 100
                && line.starts_with("pixel ")
                && line.ends_with(&expected_tail))
        })
        .collect();
    assert!(
        mixed.is_empty(),
        "{} mixed lines, such as {:?}",
        mixed.len(),
        mixed.first()
    );
    assert_eq!(lines.len(), 32 * 32);
    let distinct: std::collections::BTreeSet<&str> = lines.iter().map(|l| &l[..12]).collect();
    assert_eq!(distinct.len(), 32 * 32, "every pixel printed once");
}
