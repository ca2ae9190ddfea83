//! The limit for the native benchmark: `scripts/bench/native.toml`'s graph
//! hand-fused into one loop over the same noise functions, one thread, no
//! tiles, no buffers between nodes. Prints the best of N wall times.
//!
//!     cargo run --release -p tessera-nodes --example fused_native [SIZE] [RUNS]

use glam::Vec2;
use std::time::Instant;
use tessera_nodes::noise::{WorleyMetric, fractal2, worley2};

fn render(size: u32) -> Vec<f32> {
    let mut pixels = Vec::with_capacity(size as usize * size as usize * 4);
    for y in 0..size {
        for x in 0..size {
            let uv = Vec2::new(
                (x as f32 + 0.5) / size as f32,
                1.0 - (y as f32 + 0.5) / size as f32,
            );
            let coords = uv * 4.0;
            let warp = 0.6 * fractal2(coords, 4, 2.0, 0.5);
            let veins = fractal2(coords + Vec2::splat(warp), 5, 2.0, 0.5);
            let cells = worley2(coords, 1.0, WorleyMetric::Euclidean);
            let both = cells * 0.5 + veins * 0.5;
            // colorramp's default: black at 0 to white at 1, clamped.
            let tone = both.clamp(0.0, 1.0);
            pixels.extend_from_slice(&[tone, tone, tone, 1.0]);
        }
    }
    pixels
}

fn main() {
    let mut args = std::env::args().skip(1);
    let size = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let runs = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let started = Instant::now();
        let pixels = render(size);
        best = best.min(started.elapsed().as_secs_f64());
        std::hint::black_box(pixels);
    }
    println!("{best:.4}");
}
