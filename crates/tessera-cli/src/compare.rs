//! `tessera compare`: renders a scene under each policy, at each thread
//! count, several times, and reports which renders differ and by how much.
//!
//! Every render is its own `tessera render` process, so each run starts
//! with a fresh interpreter, exactly as separate invocations would.

use crate::commands::{load, parse_policy, parse_seconds};
use crate::failure::{EXIT_BAD_SCENE, EXIT_IO, Failure};
use crate::terminal;
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tessera_output::{Framebuffer, read_image, write_image};
use tessera_python::{Policy, PythonRuntime, PythonWorkers, RunOptions, ScriptAccess};
use tessera_session::{Loaded, Reading};

/// Exit code when some render of a policy differs from that policy's first.
pub const EXIT_DIFFERENT: u8 = 1;

#[derive(Args)]
pub struct CompareArgs {
    /// The scene file: TOML, or a MaterialX document (.mtlx).
    scene: PathBuf,
    /// Thread counts to render at, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8", value_parser = crate::commands::parse_threads)]
    threads: Vec<usize>,
    /// Policies to compare, comma-separated, or `all`. Default: the scene's
    /// own (its [python] policy, else ordered).
    #[arg(long, value_delimiter = ',', value_name = "POLICY")]
    python_policy: Vec<String>,
    /// Renders per policy and thread count.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: u32,
    /// Python's switch interval in seconds for every render.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    switch_interval: Option<f64>,
    /// Refuse to import or run any Python script (docs/security.md).
    #[arg(long)]
    no_python: bool,
    /// Where Python nodes run in every render: threads or processes.
    #[arg(long, value_name = "WHERE", value_parser = crate::commands::parse_workers)]
    python_workers: Option<PythonWorkers>,
    /// Tile edge in pixels for every render.
    #[arg(long = "tile", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    tile: u32,
    /// Write a heat map of where the first differing render differs from its
    /// policy's first render (black: identical; red to yellow: larger).
    #[arg(long, value_name = "PNG")]
    diff: Option<PathBuf>,
    /// Print the table as JSON.
    #[arg(long)]
    json: bool,
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
    switch_interval: Option<f64>,
    /// Whether every policy's renders were identical to its first.
    all_identical: bool,
    rows: Vec<Row>,
}

pub fn compare(args: &CompareArgs) -> Result<(), Failure> {
    // A bad scene is reported once, here, with its location (exit code 2).
    let Loaded { python, .. } = load(
        &args.scene,
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
    let policies = policies(&args.python_policy, python.policy)?;
    if args.threads.contains(&0) {
        return Err(Failure::new(
            EXIT_BAD_SCENE,
            "error: --threads takes counts of at least 1",
        ));
    }
    let work = tempfile::tempdir().map_err(|e| Failure::from_error(EXIT_IO, e.into()))?;
    let mut rows = Vec::new();
    let mut heat_map_written = false;
    for policy in &policies {
        let mut reference: Option<Framebuffer> = None;
        for &threads in &args.threads {
            for run in 1..=args.runs {
                let out = work.path().join(format!("{policy}-{threads}-{run}.exr"));
                let (blake3, seconds) = render_once(args, *policy, threads, &out)?;
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
                    policy: policy.to_string(),
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
    let report = Report {
        scene: args.scene.display().to_string(),
        tile: args.tile,
        switch_interval: args.switch_interval,
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

fn policies(requested: &[String], scene_policy: Option<Policy>) -> Result<Vec<Policy>, Failure> {
    if requested.is_empty() {
        return Ok(vec![scene_policy.unwrap_or(Policy::DEFAULT)]);
    }
    if requested.iter().any(|p| p == "all") {
        return Ok(Policy::ALL.to_vec());
    }
    requested
        .iter()
        .map(|name| {
            parse_policy(name).map_err(|e| {
                Failure::new(
                    EXIT_BAD_SCENE,
                    format!("error: --python-policy {name}: {e}"),
                )
            })
        })
        .collect()
}

/// Renders once in a child `tessera render`; its pixel hash and wall time.
fn render_once(
    args: &CompareArgs,
    policy: Policy,
    threads: usize,
    out: &Path,
) -> Result<(String, f64), Failure> {
    let exe = std::env::current_exe().map_err(|e| Failure::from_error(EXIT_IO, e.into()))?;
    let mut command = Command::new(exe);
    command
        .arg("render")
        .arg(&args.scene)
        .arg("-o")
        .arg(out)
        .args(["--threads", &threads.to_string()])
        .args(["--tile", &args.tile.to_string()])
        .args(["--python-policy", policy.name()]);
    if let Some(interval) = args.switch_interval {
        command.args(["--switch-interval", &interval.to_string()]);
    }
    if args.no_python {
        command.arg("--no-python");
    }
    if let Some(workers) = args.python_workers {
        command.args(["--python-workers", workers.name()]);
    }
    let started = Instant::now();
    let output = command
        .output()
        .map_err(|e| Failure::from_error(EXIT_IO, e.into()))?;
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let code = output
            .status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(EXIT_IO);
        return Err(Failure::new(
            code,
            format!(
                "{}\nerror: the render under policy {policy} at {threads} threads failed; reproduce it with:\n  \
                 tessera render {} -o out.exr --threads {threads} --python-policy {policy}",
                String::from_utf8_lossy(&output.stderr).trim_end(),
                args.scene.display()
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
fn table(report: &Report, policies: &[Policy]) -> String {
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
