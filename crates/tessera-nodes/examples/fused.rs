//! The limits for the native benchmarks: a benchmark scene's graph
//! hand-fused into one loop over the same functions, one thread, no tiles,
//! no buffers between nodes. Prints the best of N wall times.
//!
//!     cargo run --release -p tessera-nodes --example fused -- GRAPH [SIZE] [RUNS]
//!
//! GRAPH is `native` (scripts/bench/native.toml) or `pattern`
//! (scripts/bench/pattern.toml). Each loop computes its scene's pixels bit
//! for bit: hashed as `tessera render` hashes them, they give its pixel hash.

use glam::Vec2;
use std::time::Instant;
use tessera_nodes::float::floor;
use tessera_nodes::noise::{WorleyMetric, fractal2, worley2};

/// The texture coordinate of pixel (x, y)'s centre, as Tessera computes it.
fn texcoord(x: u32, y: u32, size: u32) -> Vec2 {
    Vec2::new(
        (x as f32 + 0.5) / size as f32,
        1.0 - (y as f32 + 0.5) / size as f32,
    )
}

/// Domain-warped fractal noise and Worley noise, blended and ramped.
fn native(uv: Vec2) -> [f32; 4] {
    let coords = uv * 4.0;
    let warp = 0.6 * fractal2(coords, 4, 2.0, 0.5);
    let veins = fractal2(coords + Vec2::splat(warp), 5, 2.0, 0.5);
    let cells = worley2(coords, 1.0, WorleyMetric::Euclidean);
    let both = cells * 0.5 + veins * 0.5;
    // colorramp's default: black at 0 to white at 1, clamped.
    let tone = both.clamp(0.0, 1.0);
    [tone, tone, tone, 1.0]
}

/// A checkerboard and a vertical ramp, mixed by a smoothstep of a
/// horizontal ramp, times that ramp: each step as the node computes it.
fn pattern(uv: Vec2) -> [f32; 4] {
    let lerp = |a: f32, b: f32, t: f32| a * (1.0 - t) + b * t;
    let cell = floor(uv.x * 16.0) + floor(uv.y * 16.0);
    let odd = cell - 2.0 * floor(cell / 2.0);
    let board = [
        lerp(0.9, 0.1, odd),
        lerp(0.85, 0.15, odd),
        lerp(0.7, 0.3, odd),
    ];
    let across = lerp(0.0, 1.0, uv.x.clamp(0.0, 1.0));
    let t = uv.y.clamp(0.0, 1.0);
    let up = [lerp(0.8, 0.1, t), lerp(0.3, 0.3, t), lerp(0.1, 0.8, t)];
    let (low, high) = (0.3f32, 0.7f32);
    let band = if across >= high {
        1.0
    } else if across <= low {
        0.0
    } else {
        let s = (across - low) / (high - low);
        s * s * (3.0 - 2.0 * s)
    };
    let lit = std::array::from_fn::<f32, 3, _>(|c| lerp(up[c], board[c], band) * across);
    [lit[0], lit[1], lit[2], 1.0]
}

fn render(graph: fn(Vec2) -> [f32; 4], size: u32) -> Vec<f32> {
    let mut pixels = Vec::with_capacity(size as usize * size as usize * 4);
    for y in 0..size {
        for x in 0..size {
            pixels.extend_from_slice(&graph(texcoord(x, y, size)));
        }
    }
    pixels
}

fn main() {
    let mut args = std::env::args().skip(1);
    let graph = match args.next().as_deref() {
        Some("native") => native,
        Some("pattern") => pattern,
        _ => {
            eprintln!("usage: fused native|pattern [SIZE] [RUNS]");
            std::process::exit(2);
        }
    };
    let size = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let runs = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let started = Instant::now();
        let pixels = render(graph, size);
        best = best.min(started.elapsed().as_secs_f64());
        std::hint::black_box(pixels);
    }
    println!("{best:.4}");
}
