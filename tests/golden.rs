//! Every scene renders identically at any thread count and tile size, and
//! matches its committed reference image.
//!
//! Tolerance: each 8-bit channel may differ from the reference by at most 1
//! (1/255), for floating-point differences between platforms' maths
//! libraries. A missing reference is written and the test fails until it is
//! committed.

use crate::util::{all_scenes, render, root};

const TOLERANCE: i32 = 1;

/// (threads, tile) combinations that must all give one hash per scene.
const CONFIGURATIONS: [(&str, &str); 6] = [
    ("1", "16"),
    ("1", "64"),
    ("2", "16"),
    ("2", "64"),
    ("4", "16"),
    ("4", "64"),
];

#[test]
fn every_scene_gives_one_hash_at_any_thread_count_and_tile_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for scene in all_scenes() {
        let hashes: Vec<String> = CONFIGURATIONS
            .iter()
            .map(|(threads, tile)| {
                let out = dir.path().join("out.png");
                render(&scene, &out, &["--threads", threads, "--tile", tile])
                    .expect_code(0)
                    .pixel_hash()
            })
            .collect();
        if hashes.iter().any(|h| h != &hashes[0]) {
            failures.push(format!("{scene}: {hashes:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "hashes differ:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_scene_matches_its_reference_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for scene in all_scenes() {
        let out = dir.path().join("out.png");
        render(&scene, &out, &[]).expect_code(0);
        let reference = root()
            .join("tests/golden")
            .join(scene.replace('/', "__").replace(".toml", ".png"));
        if !reference.exists() {
            std::fs::copy(&out, &reference).unwrap();
            failures.push(format!(
                "{scene}: no reference; wrote {}; commit it",
                reference.display()
            ));
            continue;
        }
        let actual = image::open(&out).unwrap().to_rgba8();
        let expected = image::open(&reference).unwrap().to_rgba8();
        if actual.dimensions() != expected.dimensions() {
            failures.push(format!(
                "{scene}: size {:?}, reference {:?}",
                actual.dimensions(),
                expected.dimensions()
            ));
            continue;
        }
        let worst = actual
            .pixels()
            .zip(expected.pixels())
            .enumerate()
            .map(|(i, (a, e))| {
                let diff =
                    a.0.iter()
                        .zip(e.0)
                        .map(|(&a, e)| (a as i32 - e as i32).abs())
                        .max()
                        .unwrap();
                (diff, i)
            })
            .max()
            .unwrap();
        if worst.0 > TOLERANCE {
            let width = actual.width() as usize;
            failures.push(format!(
                "{scene}: pixel ({}, {}) differs by {} (tolerance {TOLERANCE}); delete {} and rerun to accept the new image",
                worst.1 % width,
                worst.1 / width,
                worst.0,
                reference.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
