//! Helpers shared by every integration test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// What a run of `tessera` printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing everything printed when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stderr starts with `prefix`, showing it when not.
    #[track_caller]
    pub fn expect_stderr_start(&self, prefix: &str) -> &Run {
        assert!(
            self.stderr.starts_with(prefix),
            "stderr does not start with {prefix:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts that stderr contains `part`, showing it when not.
    #[track_caller]
    pub fn expect_stderr_has(&self, part: &str) -> &Run {
        assert!(
            self.stderr.contains(part),
            "stderr lacks {part:?}:\n{}",
            self.stderr
        );
        self
    }

    /// The BLAKE3 hash from a render's summary line.
    pub fn pixel_hash(&self) -> String {
        self.stdout
            .split("blake3 ")
            .nth(1)
            .map(|rest| rest.trim().to_string())
            .unwrap_or_else(|| {
                panic!(
                    "no blake3 hash in the summary line:\n{}\n{}",
                    self.stdout, self.stderr
                )
            })
    }
}

/// The CPython version (major, minor) Tessera's nodes run with, from
/// `tessera --version`: some of Python's own messages differ between
/// versions (3.9 words syntax and argument errors differently).
pub fn python_version() -> (u32, u32) {
    static VERSION: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let run = tessera(&["--version"]);
        let version = run
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix("python "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no python version in:\n{}", run.stdout));
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap());
        (parts.next().unwrap(), parts.next().unwrap())
    })
}

/// Runs `tessera` with `args` in the repository root.
pub fn tessera(args: &[&str]) -> Run {
    tessera_in(&root(), args)
}

pub fn tessera_in(dir: &Path, args: &[&str]) -> Run {
    run_command(tessera_command(dir).args(args))
}

/// A `tessera` command to run in `dir`, with the test virtual environment.
pub fn tessera_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    command.current_dir(dir).env("VIRTUAL_ENV", venv());
    command
}

/// Writes `node.py` (`script`, defining class `N`) and `scene.toml`, the
/// scene of [`python_node_scene`] over it, in `dir`.
pub fn write_python_node_scene(dir: &Path, script: &str, size: (u32, u32), node_lines: &str) {
    std::fs::write(dir.join("node.py"), script).unwrap();
    let scene = python_node_scene(size.0, size.1, "node.py", node_lines);
    std::fs::write(dir.join("scene.toml"), scene).unwrap();
}

/// A scene of one Python node, `py` (class `N` of `script`, on line 10),
/// over a `width` x `height` image, with a `uv` texcoord node to link its
/// inputs to; `node_lines` are more lines of the Python node.
pub fn python_node_scene(width: u32, height: u32, script: &str, node_lines: &str) -> String {
    format!(
        "[image]\nwidth = {width}\nheight = {height}\n\n[nodes.uv]\ntype = \"texcoord\"\n\n\
         [nodes.py]\ntype = \"python\"\nscript = \"{script}\"\nclass = \"N\"\n{node_lines}\n\n\
         [output]\ncolor = \"@py\"\n"
    )
}

/// The virtual environment (with numpy) that scripts/test creates:
/// `.venv`, or for a build against another Python, the one that
/// `TESSERA_TEST_VENV` names (scripts/test-pythons sets it).
pub fn venv() -> PathBuf {
    let name = std::env::var("TESSERA_TEST_VENV").unwrap_or_else(|_| ".venv".into());
    let venv = root().join(name);
    assert!(
        venv.join("bin/python").exists(),
        "{} is missing: run the tests with scripts/test, which creates it with numpy",
        venv.display()
    );
    venv
}

/// Runs a prepared `tessera` command.
pub fn run_command(command: &mut Command) -> Run {
    let output = command.output().expect("tessera runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every scene under `scenes/`, as paths relative to the root, sorted.
pub fn all_scenes() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable scenes dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    let root = root();
    let mut scenes = Vec::new();
    walk(&root.join("scenes"), &mut scenes);
    let mut scenes: Vec<String> = scenes
        .iter()
        .map(|p| {
            p.strip_prefix(&root)
                .expect("under root")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    scenes.sort();
    scenes
}

/// Renders `scene` to `out` and returns the run.
pub fn render(scene: &str, out: &Path, extra: &[&str]) -> Run {
    let out = out.to_string_lossy();
    let mut args = vec!["render", scene, "-o", &out];
    args.extend_from_slice(extra);
    tessera(&args)
}

/// Files in `dir`, sorted, for asserting nothing was left behind.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Starts `command` (a render whose node prints `line` once it is busy),
/// waits for that line on its stdout, then sends it `signal` (`INT` as
/// Ctrl-C at a terminal would, `TERM` as `kill`); what it printed and
/// returned then.
pub fn signal_after_line(command: &mut Command, line: &str, signal: &str) -> Run {
    use std::io::{BufRead, BufReader};
    let mut child = spawn_piped(command);
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a line");
    assert_eq!(first, line, "the node did not get busy");
    let run = signal_and_wait(child, stdout, signal);
    Run {
        stdout: first + &run.stdout,
        ..run
    }
}

/// Starts `command` (whose node writes `marker` once it is busy), waits
/// for that file, then sends it `signal`; what it printed and returned.
pub fn signal_once_written(command: &mut Command, marker: &Path, signal: &str) -> Run {
    let mut child = spawn_piped(command);
    let stdout = child.stdout.take().expect("piped stdout");
    let started = std::time::Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the node did not get busy"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    signal_and_wait(child, stdout, signal)
}

fn spawn_piped(command: &mut Command) -> std::process::Child {
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tessera starts")
}

/// Sends `signal` (`INT`, `TERM`, `HUP`, `KILL`) to process `pid`, as
/// `kill` does.
pub fn send_signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
}

/// Sends `signal` to `child`, waits for it (30 s at most), and reads the
/// rest of its output.
fn signal_and_wait(
    mut child: std::process::Child,
    mut stdout: impl std::io::Read,
    signal: &str,
) -> Run {
    use std::io::Read;
    send_signal(child.id(), signal);
    // Bounded: a tessera that ignored Ctrl-C would hang the suite.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("tessera is waited for") {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(30) {
            child.kill().expect("tessera is killed");
            panic!("tessera still runs 30 s after SIG{signal}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("stdout");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: rest,
        stderr,
    }
}

/// The pixel hash of each summary line a range printed, in order.
pub fn frame_hashes(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.split("blake3 ").nth(1))
        .map(str::to_string)
        .collect()
}

/// `tessera render scene.toml --frames 1-3 -o f_{frame}.png` in `dir`.
pub fn render_frames_one_to_three(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "render",
        "scene.toml",
        "--frames",
        "1-3",
        "-o",
        "f_{frame}.png",
    ];
    args.extend_from_slice(extra);
    tessera_in(dir, &args)
}
