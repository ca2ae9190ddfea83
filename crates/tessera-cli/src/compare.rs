//! `tessera compare`: renders a scene under each policy, at each thread
//! count, several times, and reports which renders differ and by how much.
//!
//! Every render is its own `tessera render` process, so each run starts
//! with a fresh interpreter, exactly as separate invocations would. Each
//! has its own process group: Ctrl-C, SIGTERM, SIGHUP and `--timeout`
//! reach `compare`, which passes the stop on to the render running and
//! reports it once that render has stopped (and cleaned up after itself).

use crate::commands::{load_source, parse_policy, parse_seconds, read, scene_input};
use crate::failure::{EXIT_BAD_SCENE, EXIT_IO, EXIT_TIMEOUT, Failure};
use crate::terminal;
use clap::Args;
use serde::Serialize;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_output::{Framebuffer, read_image, write_image};
use tessera_process::{JobChildren, StopSignal};
use tessera_python::{Policy, PythonRuntime, PythonWorkers, RunOptions, ScriptAccess};
use tessera_session::Reading;

/// Exit code when some render of a policy differs from that policy's first.
pub const EXIT_DIFFERENT: u8 = 1;

#[derive(Args)]
pub struct CompareArgs {
    /// The scene file: TOML, or a MaterialX document (.mtlx).
    scene: PathBuf,
    /// Thread counts to render at, comma-separated (0: every core).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8", value_parser = crate::commands::parse_threads, allow_negative_numbers = true)]
    threads: Vec<usize>,
    /// Policies to compare, comma-separated, or `all`. Default: the scene's
    /// own, as `render` uses them (each node's `policy`, else its [python]
    /// policy, else ordered).
    #[arg(long, value_delimiter = ',', value_name = "POLICY")]
    python_policy: Vec<String>,
    /// Renders per policy and thread count.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100), allow_negative_numbers = true)]
    runs: u32,
    /// Python's switch interval in seconds for every render.
    #[arg(long, value_name = "SECONDS", value_parser = crate::commands::parse_switch_interval, allow_negative_numbers = true)]
    switch_interval: Option<f64>,
    /// Refuse to import or run any Python script (docs/security.md).
    #[arg(long)]
    no_python: bool,
    /// Where Python nodes run in every render: threads or processes.
    #[arg(long, value_name = "WHERE", value_parser = crate::commands::parse_workers)]
    python_workers: Option<PythonWorkers>,
    /// Tile edge in pixels for every render.
    #[arg(long = "tile", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096), allow_negative_numbers = true)]
    tile: u32,
    /// Write a heat map of where the first differing render differs from its
    /// policy's first render (black: identical; red to yellow: larger).
    #[arg(long, value_name = "PNG")]
    diff: Option<PathBuf>,
    /// Print the table as JSON.
    #[arg(long)]
    json: bool,
    /// Stop the comparison (exit code 124) after this many seconds in all,
    /// stopping the render it is running.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
    timeout: Option<f64>,
}

/// One render of the comparison.
#[derive(Serialize)]
struct Row {
    policy: String,
    threads: usize,
    run: u32,
    blake3: String,
    /// Whether every pixel equals the policy's first render, bit for bit.
    identical: bool,
    differing_pixels: usize,
    max_channel_difference: f32,
    seconds: f64,
}

#[derive(Serialize)]
struct Report {
    scene: String,
    tile: u32,
    /// Where Python nodes ran: `--python-workers`, else the scene's
    /// `[python] workers`, else threads.
    python_workers: &'static str,
    /// Seconds: `--switch-interval`, else the scene's; None: Python's own.
    switch_interval: Option<f64>,
    /// Whether every policy's renders were identical to its first.
    all_identical: bool,
    rows: Vec<Row>,
}

pub fn compare(args: &CompareArgs) -> Result<(), Failure> {
    // From the start: loading runs the scene's Python (its imports).
    let stopping = Stopping::install(args.timeout);
    // A bad scene is reported once, here, with its location (exit code 2).
    let source = read(&args.scene)?;
    let input = scene_input(&source);
    let loaded = load_source(
        &source,
        &Reading::default(),
        RunOptions {
            scripts: if args.no_python {
                ScriptAccess::Refuse
            } else {
                ScriptAccess::Run
            },
            ..RunOptions::default()
        },
        &PythonRuntime::default(),
    )?;
    let policies = policies(&args.python_policy)?;
    // One render per policy compares nothing, and would pass.
    if args.threads.len() * (args.runs as usize) < 2 {
        return Err(Failure::new(
            EXIT_BAD_SCENE,
            "error: one render per policy compares nothing: give --threads two counts or more, or --runs 2 or more",
        ));
    }
    // 0 is every core, as `render -j 0` has it; the rows name the count.
    let thread_counts: Vec<usize> = (args.threads.iter())
        .map(|&threads| tessera_render::worker_count(threads))
        .collect();
    stopping.loaded();
    let work = tempfile::tempdir().map_err(|e| Failure::from_error(EXIT_IO, e.into()))?;
    let renders = policies.len() * thread_counts.len() * args.runs as usize;
    // A stop seen between renders, or after the last.
    let stopped_after = |done: usize| {
        (stopping.stopped()).map(|(code, why)| {
            Failure::new(
                code,
                format!("error: {why}, after {done} of {renders} renders"),
            )
        })
    };
    let mut rows = Vec::new();
    let mut heat_map_written = false;
    for policy in &policies {
        let mut reference: Option<Framebuffer> = None;
        for &threads in &thread_counts {
            for run in 1..=args.runs {
                if let Some(failure) = stopped_after(rows.len()) {
                    return Err(failure);
                }
                let name = format!("{}-{threads}-{run}", policy.name());
                let out = work.path().join(format!("{name}.exr"));
                let render = RenderOnce {
                    args,
                    input: input.clone(),
                    policy: *policy,
                    threads,
                    out: &out,
                    log: &work.path().join(name),
                };
                let (blake3, seconds) = render.run(&stopping).map_err(|failure| match stopping
                    .stopped()
                {
                    Some((code, why)) => Failure::new(
                        code,
                        format!(
                            "error: {why}, during the render under {} at {} \
                             (run {run} of {}), after {} of {renders} renders",
                            policy.phrase(),
                            threads_phrase(threads),
                            args.runs,
                            rows.len()
                        ),
                    ),
                    None => failure,
                })?;
                let image = read_image(&out).map_err(|e| Failure::from_error(EXIT_IO, e.into()))?;
                let (differing_pixels, max_channel_difference) = match &reference {
                    Some(reference) => difference(reference, &image),
                    None => (0, 0.0),
                };
                if differing_pixels > 0
                    && !heat_map_written
                    && let Some(path) = &args.diff
                {
                    write_heat_map(
                        reference.as_ref().expect("a difference needs a reference"),
                        &image,
                        path,
                    )?;
                    heat_map_written = true;
                }
                rows.push(Row {
                    policy: policy.name().to_string(),
                    threads,
                    run,
                    blake3,
                    identical: differing_pixels == 0,
                    differing_pixels,
                    max_channel_difference,
                    seconds,
                });
                reference.get_or_insert(image);
            }
        }
    }
    if let Some(failure) = stopped_after(rows.len()) {
        return Err(failure);
    }
    // Said, so that an older heat map there is not taken for this one.
    if let Some(path) = args.diff.as_ref().filter(|_| !heat_map_written) {
        terminal::error_line(&format!(
            "note: no render differed from its policy's first: no heat map written to {}",
            path.display()
        ));
    }
    let report = Report {
        scene: args.scene.display().to_string(),
        tile: args.tile,
        python_workers: (args.python_workers.or(loaded.python.workers))
            .unwrap_or_default()
            .name(),
        switch_interval: args.switch_interval.or(loaded.python.switch_interval),
        all_identical: rows.iter().all(|r| r.identical),
        rows,
    };
    let text = if args.json {
        serde_json::to_string_pretty(&report).expect("the report serialises") + "\n"
    } else {
        table(&report, &policies)
    };
    terminal::write(&text)?;
    if report.all_identical {
        Ok(())
    } else {
        Err(Failure::new(EXIT_DIFFERENT, ""))
    }
}

/// The policies a comparison renders under.
#[derive(Clone, Copy, PartialEq)]
enum Under {
    /// The scene's own, as `render` uses them: each node's `policy`, else
    /// the scene's [python] policy, else ordered. (Passing the scene's
    /// policy as `--python-policy` would override the nodes' own.)
    Scene,
    /// `--python-policy`, over every node's own.
    Policy(Policy),
}

impl Under {
    /// As the table and the JSON name it.
    fn name(self) -> &'static str {
        match self {
            Under::Scene => "scene",
            Under::Policy(policy) => policy.name(),
        }
    }

    /// As messages name it: "the render under {}".
    fn phrase(self) -> String {
        match self {
            Under::Scene => self.to_string(),
            Under::Policy(policy) => format!("policy {policy}"),
        }
    }
}

/// As the summary names it: `ordered`, `the scene's own policies`.
impl std::fmt::Display for Under {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Under::Scene => write!(f, "the scene's own policies"),
            Under::Policy(policy) => write!(f, "{policy}"),
        }
    }
}

fn policies(requested: &[String]) -> Result<Vec<Under>, Failure> {
    if requested.is_empty() {
        return Ok(vec![Under::Scene]);
    }
    if requested.iter().any(|p| p == "all") {
        return Ok(Policy::ALL.map(Under::Policy).to_vec());
    }
    requested
        .iter()
        .map(|name| {
            parse_policy(name).map(Under::Policy).map_err(|e| {
                Failure::new(
                    EXIT_BAD_SCENE,
                    format!("error: --python-policy {name}: {e}"),
                )
            })
        })
        .collect()
}

/// What stops the comparison: Ctrl-C, SIGTERM, SIGHUP or `--timeout`,
/// passed on to the render child running (shared with the signal handler's
/// thread and the deadline's).
struct Stopping {
    /// The render child running, until it has exited (and before it is
    /// waited for, so that its pid is still its own).
    child: Mutex<Option<u32>>,
    /// The stop's exit code (130, 143, 129; 124 for `--timeout`), 0 if none.
    code: AtomicU8,
    /// The scene is being loaded, in this process: a stop then ends it
    /// (holding the lock, so that loading cannot end meanwhile).
    loading: Mutex<bool>,
    timeout: Option<f64>,
    /// The render child too, for the terminal's job control.
    job_children: Arc<JobChildren>,
}

impl Stopping {
    fn install(timeout: Option<f64>) -> Arc<Stopping> {
        let stopping = Arc::new(Stopping {
            child: Mutex::default(),
            code: AtomicU8::new(0),
            loading: Mutex::new(true),
            timeout,
            job_children: JobChildren::new(1),
        });
        let handler = stopping.clone();
        // Without the handler, a signal ends compare at once, as before.
        let _ = tessera_process::on_stop_signals(&StopSignal::ALL, move |stop| {
            handler.stop(stop.exit_code(), stop);
        });
        // The render runs in a group of its own: Ctrl-Z stops it, then
        // this process; `fg` continues both.
        let _ = tessera_process::pass_on_job_control(stopping.job_children.clone());
        if let Some(seconds) = timeout {
            let deadline = stopping.clone();
            let _ = std::thread::Builder::new()
                .name("tessera-timeout".into())
                .spawn(move || {
                    std::thread::sleep(Duration::from_secs_f64(seconds));
                    deadline.stop(EXIT_TIMEOUT, StopSignal::Terminate);
                });
        }
        stopping
    }

    /// Records the first stop and passes `signal` on to the render running
    /// (a second Ctrl-C makes it exit at once, as it would alone). While
    /// the scene loads (its imports may loop, or wait in C), this process
    /// exits: it has no render or folder of its own yet.
    fn stop(&self, code: u8, signal: StopSignal) {
        let _ = (self.code).compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
        let loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        if *loading {
            let (code, why) = self.stopped().unwrap_or((code, String::new()));
            terminal::error_line(&format!(
                "error: {why}, while loading the scene (reading it, or its Python scripts \
                 importing or setting up)"
            ));
            std::process::exit(i32::from(code));
        }
        drop(loading);
        if let Some(pid) = *self.child.lock().unwrap_or_else(|e| e.into_inner()) {
            tessera_process::send_stop(pid, signal);
        }
    }

    /// The scene is loaded: a stop now waits for the render it stops.
    fn loaded(&self) {
        *self.loading.lock().unwrap_or_else(|e| e.into_inner()) = false;
    }

    /// Registers the render child that runs now, and passes on a stop that
    /// came before it did.
    fn running(&self, child: Option<u32>) {
        let mut running = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ended) = *running {
            self.job_children.remove(ended);
        }
        if let Some(started) = child {
            self.job_children.add(started);
        }
        *running = child;
        let code = self.code.load(Ordering::SeqCst);
        if let (Some(pid), true) = (child, code != 0) {
            let stop = StopSignal::from_exit_code(code).unwrap_or(StopSignal::Terminate);
            tessera_process::send_stop(pid, stop);
        }
    }

    /// Why the comparison was stopped, if it was: its exit code and what to
    /// say.
    fn stopped(&self) -> Option<(u8, String)> {
        match self.code.load(Ordering::SeqCst) {
            0 => None,
            EXIT_TIMEOUT => Some((
                EXIT_TIMEOUT,
                format!(
                    "stopped after --timeout {} s",
                    self.timeout.unwrap_or_default()
                ),
            )),
            code => StopSignal::from_exit_code(code).map(|stop| (code, stop.describe().into())),
        }
    }
}

/// One render of the comparison, in a child `tessera render`.
struct RenderOnce<'a> {
    args: &'a CompareArgs,
    /// The scene's text, when it came on compare's standard input.
    input: Option<Arc<str>>,
    policy: Under,
    threads: usize,
    /// The image to write.
    out: &'a Path,
    /// The path its standard output and error are written beside (with
    /// `.out` and `.err` added).
    log: &'a Path,
}

impl RenderOnce<'_> {
    /// The render's options after its scene and output: each that shapes
    /// its pixels or its failure, for the child and for the message that
    /// says how to reproduce a failure.
    fn options(&self) -> Vec<String> {
        let args = self.args;
        let mut options = vec![
            "--threads".to_string(),
            self.threads.to_string(),
            "--tile".into(),
            args.tile.to_string(),
        ];
        if let Under::Policy(policy) = self.policy {
            options.extend(["--python-policy".into(), policy.name().into()]);
        }
        if let Some(interval) = args.switch_interval {
            options.extend(["--switch-interval".into(), interval.to_string()]);
        }
        if args.no_python {
            options.push("--no-python".into());
        }
        if let Some(workers) = args.python_workers {
            options.extend(["--python-workers".into(), workers.name().into()]);
        }
        options
    }

    /// Renders; its pixel hash and wall time.
    fn run(&self, stopping: &Stopping) -> Result<(String, f64), Failure> {
        let (args, policy, threads) = (self.args, self.policy, self.threads);
        let io = |e: std::io::Error| {
            Failure::new(
                EXIT_IO,
                format!(
                    "error: the render under {} at {}: {e}",
                    policy.phrase(),
                    threads_phrase(threads)
                ),
            )
        };
        let exe = std::env::current_exe().map_err(io)?;
        let (stdout_path, stderr_path) = (
            self.log.with_extension("out"),
            self.log.with_extension("err"),
        );
        let mut command = Command::new(exe);
        command
            .arg("render")
            .arg(&args.scene)
            .arg("-o")
            .arg(self.out)
            .args(self.options())
            .stdin(match self.input {
                Some(_) => Stdio::piped(),
                None => Stdio::null(),
            })
            .stdout(File::create(&stdout_path).map_err(io)?)
            .stderr(File::create(&stderr_path).map_err(io)?);
        // Its own group, so that a stop reaches it from compare alone, once;
        // stopped should compare be killed outright.
        tessera_process::own_group_stopped_with_parent(&mut command);
        let started = Instant::now();
        let mut child = command.spawn().map_err(io)?;
        if let Some(input) = &self.input {
            tessera_process::feed_input(&mut child, input.clone());
        }
        stopping.running(Some(child.id()));
        tessera_process::await_exit(&child);
        stopping.running(None);
        let status = child.wait().map_err(io)?;
        let seconds = started.elapsed().as_secs_f64();
        // A node may print bytes that are not UTF-8.
        let stdout =
            String::from_utf8_lossy(&std::fs::read(&stdout_path).map_err(io)?).into_owned();
        if !status.success() {
            let stderr = std::fs::read(&stderr_path).map_err(io)?;
            let code = status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(EXIT_IO);
            return Err(Failure::new(
                code,
                format!(
                    "{}\nerror: the render under {} at {} failed; reproduce it with:\n  \
                     tessera render {} -o out.exr {}",
                    String::from_utf8_lossy(&stderr).trim_end(),
                    policy.phrase(),
                    threads_phrase(threads),
                    args.scene.display(),
                    self.options().join(" ")
                ),
            ));
        }
        let blake3 = stdout
            .rsplit("blake3 ")
            .next()
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        Ok((blake3, seconds))
    }
}

/// "1 thread", "4 threads".
fn threads_phrase(threads: usize) -> String {
    match threads {
        1 => "1 thread".into(),
        _ => format!("{threads} threads"),
    }
}

/// Pixels whose channels are not all bit-identical, and the largest
/// channel difference.
fn difference(a: &Framebuffer, b: &Framebuffer) -> (usize, f32) {
    let mut pixels = 0;
    let mut largest = 0.0f32;
    for (pa, pb) in a.pixels.chunks_exact(4).zip(b.pixels.chunks_exact(4)) {
        if pa.iter().zip(pb).any(|(x, y)| x.to_bits() != y.to_bits()) {
            pixels += 1;
            for (x, y) in pa.iter().zip(pb) {
                largest = largest.max((x - y).abs());
            }
        }
    }
    (pixels, largest)
}

/// Black where identical; red to yellow with the size of the difference
/// (relative to the largest).
fn write_heat_map(
    reference: &Framebuffer,
    image: &Framebuffer,
    path: &Path,
) -> Result<(), Failure> {
    let (_, largest) = difference(reference, image);
    let mut heat = Framebuffer::new(reference.width, reference.height);
    for ((out, pa), pb) in heat
        .pixels
        .chunks_exact_mut(4)
        .zip(reference.pixels.chunks_exact(4))
        .zip(image.pixels.chunks_exact(4))
    {
        let diff = pa
            .iter()
            .zip(pb)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        let differs = pa.iter().zip(pb).any(|(x, y)| x.to_bits() != y.to_bits());
        let t = if largest > 0.0 { diff / largest } else { 0.0 };
        let (r, g) = if differs {
            (0.5 + 0.5 * t, t)
        } else {
            (0.0, 0.0)
        };
        out.copy_from_slice(&[r, g, 0.0, 1.0]);
    }
    write_image(&heat, path, None).map_err(|e| Failure::from_error(EXIT_IO, e.into()))?;
    Ok(())
}

/// The report as the table `compare` prints.
fn table(report: &Report, policies: &[Under]) -> String {
    let mut text = format!(
        "{:<10} {:>7} {:>4}  {:<12}  {:<9} {:>10} {:>12} {:>9}\n",
        "policy", "threads", "run", "blake3", "identical", "pixels", "max diff", "time"
    );
    for row in &report.rows {
        let first = report
            .rows
            .iter()
            .find(|r| r.policy == row.policy)
            .expect("the row itself");
        let identical = if std::ptr::eq(first, row) {
            "reference"
        } else if row.identical {
            "yes"
        } else {
            "NO"
        };
        text += &format!(
            "{:<10} {:>7} {:>4}  {:<12}  {:<9} {:>10} {:>12} {:>8.2}s\n",
            row.policy,
            row.threads,
            row.run,
            &row.blake3[..row.blake3.len().min(12)],
            identical,
            row.differing_pixels,
            format!("{:.3e}", row.max_channel_difference),
            row.seconds
        );
    }
    for policy in policies {
        let rows: Vec<&Row> = report
            .rows
            .iter()
            .filter(|r| r.policy == policy.name())
            .collect();
        let differing = rows.iter().filter(|r| !r.identical).count();
        text += &match differing {
            0 => format!("{policy}: all {} renders identical\n", rows.len()),
            _ => format!(
                "{policy}: {differing} of {} renders differ from the first\n",
                rows.len()
            ),
        };
    }
    text
}
