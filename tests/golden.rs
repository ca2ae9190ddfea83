//! Every scene renders identically at any thread count and tile size, and
//! matches its committed reference image.
//!
//! Tolerance: each 8-bit channel may differ from the reference by at most 1
//! (1/255), for floating-point differences between platforms' maths
//! libraries. A missing reference is written and the test fails until it is
//! committed.

use crate::util::{all_scenes, render, root};

const TOLERANCE: i32 = 1;

const THREADS: [&str; 3] = ["1", "2", "4"];
const TILES: [&str; 2] = ["16", "64"];

#[test]
fn every_scene_gives_one_hash_at_any_thread_count_and_tile_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for scene in all_scenes() {
        let hashes: Vec<Vec<String>> = TILES
            .iter()
            .map(|tile| {
                THREADS
                    .iter()
                    .map(|threads| {
                        let out = dir.path().join("out.png");
                        render(&scene, &out, &["--threads", threads, "--tile", tile])
                            .expect_code(0)
                            .pixel_hash()
                    })
                    .collect()
            })
            .collect();
        let same_per_tile = hashes.iter().all(|h| h.iter().all(|x| x == &h[0]));
        let same_across_tiles = hashes.iter().all(|h| h[0] == hashes[0][0]);
        if !same_per_tile || !same_across_tiles {
            failures.push(format!(
                "{scene}: by tile size {TILES:?}, threads {THREADS:?}: {hashes:?}"
            ));
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
