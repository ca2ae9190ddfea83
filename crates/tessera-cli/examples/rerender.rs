//! Renders a scene of native nodes N times in one process, at one thread,
//! and prints the best, first-quartile and median render times in
//! milliseconds: finer-grained than the `tessera render` summary line
//! (milliseconds, one render per process), for comparing two builds of a
//! render change. docs/performance.md quotes it.
//!
//!     cargo run --release -p tessera-cli --example rerender -- scripts/bench/pattern.toml 40
//!
//! (Repeated renders in one process reuse freed heap for the framebuffer,
//! which glibc then zeroes with memset instead of the kernel on first touch.)
use anyhow::{Context, bail};
use std::path::Path;
use std::sync::atomic::AtomicBool;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [scene_path, runs] = args.as_slice() else {
        bail!("usage: rerender SCENE.toml RUNS");
    };
    let runs: usize = runs.parse().context("RUNS must be a whole number")?;
    if runs == 0 {
        bail!("RUNS must be at least 1");
    }
    let path = Path::new(scene_path);
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {scene_path}"))?;
    let scene = tessera_scene::parse_scene(&text)
        .map_err(|_| anyhow::anyhow!("{scene_path} does not parse: see `tessera check`"))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let plan = tessera_graph::compile(&scene, &tessera_nodes::registry(), base)
        .map_err(|_| anyhow::anyhow!("{scene_path} does not compile: see `tessera check`"))?;
    let options = tessera_render::RenderOptions {
        threads: 1,
        ..Default::default()
    };
    let mut milliseconds = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (rendered, _) = tessera_render::render_to_memory(
            &plan,
            &options,
            &AtomicBool::new(false),
            &mut |_| {},
        )?;
        milliseconds.push(rendered.seconds * 1000.0);
    }
    milliseconds.sort_by(f64::total_cmp);
    println!(
        "best {:.2} ms, p25 {:.2} ms, median {:.2} ms ({runs} renders)",
        milliseconds[0],
        milliseconds[runs / 4],
        milliseconds[runs / 2]
    );
    Ok(())
}
