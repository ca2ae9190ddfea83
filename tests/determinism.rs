//! The guarantee table of docs/determinism.md, cell by cell: every policy x
//! every kind of node x threads 1, 2, 4, 8 x 2 runs (each run its own
//! process, through `tessera compare`). Cells promised identical must be;
//! cells documented to differ must be seen to differ, so a policy that
//! silently serialised everything would fail here too.

use crate::util::{root, tessera, tessera_in};
use std::path::Path;

/// What docs/determinism.md promises for one node kind under one policy.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Promise {
    /// Bit-identical at every thread count and run.
    Identical,
    /// Identical across runs at one thread; differs at some thread count above one.
    DiffersAcrossThreads,
}

use Promise::{DiffersAcrossThreads as Differs, Identical as Same};

const POLICIES: [&str; 4] = ["free", "exclusive", "ordered", "isolated"];

/// (class in tests/python/kinds.py, promise under free, exclusive, ordered, isolated)
const TABLE: [(&str, [Promise; 4]); 6] = [
    ("Pure", [Same, Same, Same, Same]),
    ("Counter", [Differs, Differs, Same, Same]),
    ("ReadModifyWrite", [Differs, Differs, Same, Same]),
    ("GlobalRandom", [Differs, Differs, Same, Differs]),
    ("CtxRandom", [Same, Same, Same, Same]),
    ("ModuleGlobal", [Differs, Differs, Same, Differs]),
];

/// A 48 x 48 scene (36 tiles of 8 x 8) whose output is node `n` of `class`.
pub fn kind_scene(dir: &Path, class: &str, output: &str) -> String {
    let scripts = root().join("tests/python");
    let scene = format!(
        "[image]\nwidth = 48\nheight = 48\nseed = 5\n\n[python]\npaths = [{:?}]\n\n\
         [nodes.n]\ntype = \"python\"\nscript = \"kinds.py\"\nclass = \"{class}\"\n\n[output]\ncolor = \"@n.{output}\"\n",
        scripts.display().to_string()
    );
    let name = format!("{class}.toml");
    std::fs::write(dir.join(&name), scene).unwrap();
    name
}

#[test]
fn every_policy_keeps_its_promise_for_every_kind_of_node() {
    check_the_table(&[], "1,2,4,8");
}

/// The same table holds with Python nodes in worker processes: nodes that
/// keep state under `ordered` stay in the render process, and a pure or
/// isolated node gives the same pixels in any process.
#[test]
fn every_policy_keeps_its_promise_in_worker_processes() {
    check_the_table(&["--python-workers", "processes"], "1,2,3");
}

/// Renders every cell of [`TABLE`] through `tessera compare` with `extra`
/// arguments, at each of `threads`, twice.
fn check_the_table(extra: &[&str], threads: &str) {
    let thread_counts = threads.split(',').count();
    let dir = tempfile::tempdir().unwrap();
    let mut broken = Vec::new();
    for (class, promises) in TABLE {
        let scene = kind_scene(dir.path(), class, "out");
        let mut args = vec![
            "compare",
            &scene,
            "--threads",
            threads,
            "--python-policy",
            "all",
            "--runs",
            "2",
            "--tile",
            "8",
            "--json",
        ];
        args.extend_from_slice(extra);
        let run = tessera_in(dir.path(), &args);
        assert!(
            run.code == 0 || run.code == 1,
            "{class}: {}\n{}",
            run.code,
            run.stderr
        );
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "compare --json prints JSON ({e}); exit {}:\n{}",
                run.code, run.stderr
            )
        });
        for (policy, promise) in POLICIES.iter().zip(promises) {
            let rows: Vec<&serde_json::Value> = report["rows"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["policy"] == *policy)
                .collect();
            assert_eq!(
                rows.len(),
                2 * thread_counts,
                "{class} {policy}: each thread count twice"
            );
            let identical = |r: &&serde_json::Value| r["identical"] == true;
            let one_thread_same = rows.iter().filter(|r| r["threads"] == 1).all(identical);
            let all_same = rows.iter().all(identical);
            let observed = if all_same { Same } else { Differs };
            if !one_thread_same || observed != promise {
                broken.push(format!(
                    "{class} under {policy}: promised {promise:?}, observed {observed:?} (one thread stable: {one_thread_same})"
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "docs/determinism.md is wrong:\n{}",
        broken.join("\n")
    );
}

/// A scene of three nodes keeping state (a counter on `self`, Python's
/// global `random`, a module global), one of them read through a blur so
/// that it is also called beyond the image's edges.
fn stateful_scene(dir: &Path) -> &'static str {
    let scripts = root().join("tests/python");
    let node = |id: &str, class: &str| {
        format!("[nodes.{id}]\ntype = \"python\"\nscript = \"kinds.py\"\nclass = \"{class}\"\n\n")
    };
    let scene = format!(
        "[image]\nwidth = 48\nheight = 40\n\n[python]\npaths = [{:?}]\n\n{}{}{}\
         [nodes.soft]\ntype = \"blur\"\nin = \"@count\"\nradius = 3\n\n\
         [nodes.both]\ntype = \"mix\"\nfg = \"@soft\"\nbg = \"@dice\"\nmix = \"@calls\"\n\n\
         [output]\ncolor = \"@both\"\n",
        scripts.display().to_string(),
        node("count", "Counter"),
        node("dice", "GlobalRandom"),
        node("calls", "ModuleGlobal"),
    );
    std::fs::write(dir.join("stateful.toml"), scene).unwrap();
    "stateful.toml"
}

#[test]
fn ordered_gives_one_hash_for_nodes_keeping_state_at_any_tile_size_and_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let scene = stateful_scene(dir.path());
    let mut hashes = std::collections::BTreeMap::new();
    for tile in ["8", "16", "32", "64", "256"] {
        for threads in ["1", "2", "4", "8"] {
            // The default policy is ordered; each render is its own process.
            let args = [
                "render",
                scene,
                "-o",
                "o.png",
                "--tile",
                tile,
                "--threads",
                threads,
            ];
            let hash = tessera_in(dir.path(), &args).expect_code(0).pixel_hash();
            hashes
                .entry(hash)
                .or_insert_with(Vec::new)
                .push(format!("tile {tile} x {threads} threads"));
        }
    }
    assert_eq!(hashes.len(), 1, "renders by hash: {hashes:#?}");
}

#[test]
fn ordered_numbers_the_calls_of_a_node_keeping_state_row_by_row_from_the_top_left() {
    // What docs/determinism.md says a counter sees, whatever the tiles.
    let dir = tempfile::tempdir().unwrap();
    let scene = kind_scene(dir.path(), "ReadModifyWrite", "count");
    let args = [
        "render",
        &scene,
        "-o",
        "count.exr",
        "--tile",
        "16",
        "--threads",
        "4",
    ];
    tessera_in(dir.path(), &args).expect_code(0);
    let image = image::open(dir.path().join("count.exr"))
        .unwrap()
        .into_rgba32f();
    let misplaced: Vec<(u32, u32, f32)> = (image.enumerate_pixels())
        .filter(|(x, y, p)| p.0[0] != (y * 48 + x + 1) as f32)
        .map(|(x, y, p)| (x, y, p.0[0]))
        .take(5)
        .collect();
    assert!(misplaced.is_empty(), "(x, y, count): {misplaced:?}");
}

/// Renders `scene` in this test's own process, through the library crates
/// as the Python package and `--frames` will, with a runtime of its own;
/// returns the pixel hash `tessera render` prints.
fn render_in_this_process(scene: &Path, policy: &str, threads: usize) -> String {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use tessera_python::{Policy, PythonRuntime, RenderSetup, RunOptions};
    let text = std::fs::read_to_string(scene).unwrap();
    let description = tessera_scene::parse_scene(&text).unwrap();
    let base = scene.parent().unwrap();
    let settings = tessera_python::python_settings(description.python.as_ref(), base).unwrap();
    let runtime = PythonRuntime::default();
    let options = RunOptions {
        policy: Policy::parse(policy),
        ..RunOptions::default()
    };
    let mut registry = tessera_nodes::registry();
    let python = tessera_python::python_kind(settings, options, runtime.clone());
    registry.register(python).unwrap();
    let plan = tessera_graph::compile(&description, &registry, base).unwrap();
    let session = runtime
        .begin_render(RenderSetup {
            seed: plan.image.seed,
            switch_interval: None,
            threads,
            processes: None,
            cancel: Arc::new(AtomicBool::new(false)),
        })
        .unwrap();
    let options = tessera_render::RenderOptions {
        threads,
        tile_size: 8,
        hooks: Some(session),
        ..Default::default()
    };
    let (rendered, pixels) =
        tessera_render::render_to_memory(&plan, &options, &AtomicBool::new(false), &mut |_| {})
            .unwrap();
    tessera_output::pixel_hash(&tessera_output::Framebuffer {
        width: rendered.width,
        height: rendered.height,
        layout: rendered.layout,
        pixels,
    })
}

#[test]
fn two_renders_in_one_process_give_the_pixels_of_two_processes() {
    // Two scenes keeping state in the same script's module global, under
    // different policies and thread counts: the second render must inherit
    // nothing from the first (its runtime, its session, the script's module,
    // Python's `random`), as if each had a process of its own.
    let dir = tempfile::tempdir().unwrap();
    let first = kind_scene(dir.path(), "ModuleGlobal", "out");
    let second = stateful_scene(dir.path());
    let renders = [(first.as_str(), "isolated", 1), (second, "ordered", 3)];
    let in_processes: Vec<String> = (renders.iter())
        .map(|(scene, policy, threads)| {
            let threads = threads.to_string();
            let args = [
                "render",
                scene,
                "-o",
                // In the working space, as render_in_this_process writes.
                "o.exr",
                "--tile",
                "8",
                "--threads",
                &threads,
                "--python-policy",
                policy,
            ];
            tessera_in(dir.path(), &args).expect_code(0).pixel_hash()
        })
        .collect();
    let in_one_process: Vec<String> = (renders.iter())
        .map(|(scene, policy, threads)| {
            render_in_this_process(&dir.path().join(scene), policy, *threads)
        })
        .collect();
    assert_eq!(in_one_process, in_processes);
}

#[test]
fn free_with_a_tiny_switch_interval_differs_and_compare_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let scene = kind_scene(dir.path(), "ReadModifyWrite", "out");
    let run = tessera_in(
        dir.path(),
        &[
            "compare",
            &scene,
            "--threads",
            "1,2",
            "--python-policy",
            "free",
            "--runs",
            "2",
            "--tile",
            "8",
            "--switch-interval",
            "0.000001",
            "--diff",
            "diff.png",
        ],
    );
    run.expect_code(1);
    let summary = run.stdout.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("free: ") && summary.ends_with("renders differ from the first"),
        "{}",
        run.stdout
    );
    let differing: Vec<usize> = run
        .stdout
        .lines()
        .filter(|l| l.contains(" NO "))
        .map(|l| l.split_whitespace().nth(5).unwrap().parse().unwrap())
        .collect();
    assert!(
        !differing.is_empty() && differing.iter().all(|&n| n > 0),
        "{}",
        run.stdout
    );
    assert!(dir.path().join("diff.png").is_file(), "no heat map written");
}

#[test]
fn compare_without_a_policy_renders_under_the_nodes_own_policies() {
    // It passed the scene's [python] policy (free) as --python-policy,
    // which overrides a node's own (ordered here): a counter the scene
    // makes deterministic was compared under free, and reported differing.
    let dir = tempfile::tempdir().unwrap();
    let scene = kind_scene(dir.path(), "Counter", "out");
    let path = dir.path().join(&scene);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace("[python]\n", "[python]\npolicy = \"free\"\n")
        .replace(
            "class = \"Counter\"\n",
            "class = \"Counter\"\npolicy = \"ordered\"\n",
        );
    std::fs::write(&path, text).unwrap();
    let args = [
        "compare",
        &scene,
        "--threads",
        "1,2",
        "--runs",
        "2",
        "--tile",
        "8",
    ];
    let run = tessera_in(dir.path(), &args);
    run.expect_code(0);
    assert!(
        run.stdout
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with("scene ")
            && run
                .stdout
                .ends_with("the scene's own policies: all 4 renders identical\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn exclusive_loses_no_update_whatever_the_switch_interval() {
    let dir = tempfile::tempdir().unwrap();
    let scene = kind_scene(dir.path(), "ReadModifyWrite", "count");
    let run = tessera_in(
        dir.path(),
        &[
            "render",
            &scene,
            "-o",
            "count.exr",
            "--threads",
            "4",
            "--tile",
            "8",
            "--python-policy",
            "exclusive",
            "--switch-interval",
            "0.000001",
        ],
    );
    run.expect_code(0);
    let image = image::open(dir.path().join("count.exr"))
        .unwrap()
        .into_rgba32f();
    let last_count = image.pixels().map(|p| p.0[0]).fold(0.0f32, f32::max);
    assert_eq!(
        last_count,
        (48 * 48) as f32,
        "calls: 2304, final count: {last_count}"
    );
}

#[test]
fn ordered_runs_a_pure_nodes_tile_under_one_gil_hold() {
    // Pure nodes run on every render thread under `ordered`, each taking
    // the GIL once per tile: with a switch interval far longer than a tile,
    // no other tile's calls can come between a tile's calls, so 36 tiles
    // make exactly 36 runs. (Taken per call, the GIL went back and forth
    // between the threads, a hand-off per call.)
    let dir = tempfile::tempdir().unwrap();
    let scene = kind_scene(dir.path(), "TileRuns", "out");
    let run = tessera_in(
        dir.path(),
        &[
            "render",
            &scene,
            "-o",
            "runs.exr",
            "--threads",
            "4",
            "--tile",
            "8",
            "--python-policy",
            "ordered",
            "--switch-interval",
            "10",
        ],
    );
    run.expect_code(0);
    let image = image::open(dir.path().join("runs.exr"))
        .unwrap()
        .into_rgba32f();
    let runs = image.pixels().map(|p| p.0[0]).fold(0.0f32, f32::max);
    assert_eq!(runs, 36.0, "36 tiles made {runs} runs of calls");
}

#[test]
fn a_node_policy_is_overridden_by_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let scene = kind_scene(dir.path(), "Counter", "out");
    let text = std::fs::read_to_string(dir.path().join(&scene)).unwrap();
    std::fs::write(
        dir.path().join(&scene),
        text.replace(
            "class = \"Counter\"",
            "class = \"Counter\"\npolicy = \"isolated\"",
        ),
    )
    .unwrap();
    let hash = |extra: &[&str]| {
        let mut args = vec![
            "render",
            scene.as_str(),
            "-o",
            "o.png",
            "--tile",
            "8",
            "--threads",
            "1",
        ];
        args.extend_from_slice(extra);
        tessera_in(dir.path(), &args).expect_code(0).pixel_hash()
    };
    // isolated restarts the count in every tile; ordered counts on.
    assert_ne!(hash(&[]), hash(&["--python-policy", "ordered"]));
    assert_eq!(hash(&[]), hash(&["--python-policy", "isolated"]));
}

#[test]
fn a_bad_policy_is_a_located_scene_error() {
    let dir = tempfile::tempdir().unwrap();
    let scene = kind_scene(dir.path(), "Pure", "out");
    let text = std::fs::read_to_string(dir.path().join(&scene)).unwrap();
    std::fs::write(
        dir.path().join(&scene),
        text.replace("[python]\n", "[python]\npolicy = \"orderd\"\n"),
    )
    .unwrap();
    let run = tessera_in(dir.path(), &["check", &scene]);
    run.expect_code(2);
    assert!(
        run.stderr.starts_with(
            "error: [python] policy must be one of free, exclusive, ordered, isolated, found \"orderd\"\n"
        ),
        "{}",
        run.stderr
    );
    let bad_flag = tessera(&[
        "render",
        "scenes/python_ripples.toml",
        "--python-policy",
        "fastest",
    ]);
    bad_flag.expect_code(2);
    assert!(
        bad_flag
            .stderr
            .contains("not a policy; use one of free, exclusive, ordered, isolated"),
        "{}",
        bad_flag.stderr
    );
}

/// The linear RGBA pixels of an EXR, row by row, and its width.
fn exr_pixels(path: &Path) -> (u32, Vec<[f32; 4]>) {
    let image = image::open(path).unwrap().to_rgba32f();
    (image.width(), image.pixels().map(|p| p.0).collect())
}

#[test]
fn a_region_gives_the_pixels_of_the_whole_image() {
    // Native nodes (showcase), a pure Python node, ctx.random(), a node
    // keeping state under `ordered` (evaluated over the whole image even for
    // a region), numpy's evaluate_tile; regions not on tile boundaries.
    let scenes = [
        "scenes/showcase.toml",
        "scenes/python_ripples.toml",
        "scenes/python_sparkle.toml",
        "scenes/python_counter.toml",
        "scenes/python_tile.toml",
    ];
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full.exr"), dir.path().join("part.exr"));
    for scene in scenes {
        let full_run = tessera(&["render", scene, "-o", full.to_str().unwrap(), "-j", "2"]);
        full_run.expect_code(0);
        let (width, pixels) = exr_pixels(&full);
        for (region, extra) in [
            ((10, 7, 33, 21), ["-j", "1", "--tile", "16"]),
            ((0, 5, 17, 9), ["-j", "3", "--tile", "8"]),
        ] {
            let (x, y, w, h) = region;
            let text = format!("{x},{y},{w},{h}");
            let mut args = vec![
                "render",
                scene,
                "-o",
                part.to_str().unwrap(),
                "--region",
                &text,
            ];
            args.extend(extra);
            tessera(&args).expect_code(0);
            let (part_width, part_pixels) = exr_pixels(&part);
            assert_eq!(
                (part_width, part_pixels.len()),
                (w, (w * h) as usize),
                "{scene}"
            );
            for row in 0..h {
                let start = ((y + row) * width + x) as usize;
                assert_eq!(
                    part_pixels[(row * w) as usize..][..w as usize],
                    pixels[start..][..w as usize],
                    "{scene} region {text}, row {row}"
                );
            }
        }
    }
    // Python nodes in worker processes, too.
    let scene = "scenes/python_ripples.toml";
    tessera(&["render", scene, "-o", full.to_str().unwrap()]).expect_code(0);
    let args = [
        "render",
        scene,
        "-o",
        part.to_str().unwrap(),
        "--region",
        "3,4,20,10",
    ];
    let mut in_workers = args.to_vec();
    in_workers.extend(["--python-workers", "processes", "-j", "2"]);
    tessera(&args).expect_code(0);
    let in_process = exr_pixels(&part);
    tessera(&in_workers).expect_code(0);
    assert_eq!(exr_pixels(&part), in_process);
}

#[test]
fn a_region_outside_the_image_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let out = out.to_str().unwrap();
    tessera(&["render", "scenes/showcase.toml", "-o", out, "--region", "600,0,100,10"])
        .expect_code(2)
        .expect_stderr_start(
            "error: the region 600,0,100,10 (x, y, width, height) is not a non-empty part of the 640 x 360 image\n",
        );
    // x + width beyond 32 bits is outside too, not a wrapped-around region.
    tessera(&[
        "render",
        "scenes/showcase.toml",
        "-o",
        out,
        "--region",
        "2147483647,0,10,10",
    ])
    .expect_code(2)
    .expect_stderr_start("error: the region 2147483647,0,10,10 (x, y, width, height) is not");
    assert!(!dir.path().join("out.png").exists());
}

#[test]
fn what_setup_and_a_module_draw_from_random_is_the_same_every_run_and_frame() {
    // `random` was seeded before each render, but not before the scene's
    // scripts imported and its nodes set up: a table drawn there differed
    // from run to run at one thread, and the first frame of a range from
    // the same frame rendered alone.
    let dir = tempfile::tempdir().unwrap();
    crate::util::write_python_node_scene(
        dir.path(),
        "import random\nimport tessera\nTABLE = random.random()\n\n\nclass N(tessera.Node):\n    \
         outputs = {\"out\": tessera.Float()}\n\n    def setup(self):\n        self.offset = random.random()\n\n    \
         def __call__(self, ctx):\n        return (TABLE + self.offset + 0.001 * ctx.x) % 1.0\n",
        (16, 16),
        "",
    );
    let hash = |args: &[&str]| {
        let mut all = vec![
            "render",
            "scene.toml",
            "-o",
            "f_{frame}.exr",
            "--threads",
            "1",
        ];
        all.extend_from_slice(args);
        let run = tessera_in(dir.path(), &all);
        run.expect_code(0);
        crate::util::frame_hashes(&run.stdout)
    };
    let alone = hash(&["--frame", "1"]);
    assert_eq!(alone.len(), 1);
    for _ in 0..2 {
        assert_eq!(hash(&["--frame", "1"]), alone);
    }
    // The node's pixels do not change with the frame.
    assert_eq!(
        hash(&["--frames", "0-2"]),
        [&alone[..], &alone[..], &alone[..]].concat()
    );
    assert_eq!(
        hash(&["--frames", "0-1", "--python-workers", "processes"]),
        [&alone[..], &alone[..]].concat()
    );
}

#[test]
fn compare_of_one_render_per_policy_is_refused_not_passed() {
    // It printed "all 1 renders identical" and exited 0, comparing nothing.
    let run = tessera(&[
        "compare",
        "scenes/nodes/absval.toml",
        "--threads",
        "1",
        "--runs",
        "1",
    ]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "error: one render per policy compares nothing: give --threads two counts or more, or --runs 2 or more\n"
    );
}

#[test]
fn compare_says_when_it_writes_no_heat_map() {
    // It wrote nothing and said nothing: an older diff.png there read as
    // this comparison's.
    let dir = tempfile::tempdir().unwrap();
    let scene = root().join("scenes/nodes/absval.toml");
    let args = [
        "compare",
        scene.to_str().unwrap(),
        "--threads",
        "1,2",
        "--runs",
        "1",
        "--diff",
        "diff.png",
    ];
    let run = tessera_in(dir.path(), &args);
    run.expect_code(0);
    assert_eq!(
        run.stderr,
        "note: no render differed from its policy's first: no heat map written to diff.png\n"
    );
    assert!(!dir.path().join("diff.png").exists());
}

#[test]
fn compare_at_zero_threads_renders_at_every_core_and_its_json_says_where_python_ran() {
    // `--threads 0` was refused, where `render -j 0` is every core; the
    // JSON did not say whether Python ran in worker processes, nor the
    // scene's own switch interval.
    let dir = tempfile::tempdir().unwrap();
    let scene = kind_scene(dir.path(), "Pure", "out");
    let path = dir.path().join(&scene);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "[python]\n",
        "[python]\nworkers = \"processes\"\nswitch_interval = 0.002\n",
    );
    std::fs::write(&path, text).unwrap();
    let run = crate::util::run_command(
        crate::util::tessera_command(dir.path())
            .args([
                "compare",
                &scene,
                "--threads",
                "0,1",
                "--runs",
                "1",
                "--json",
            ])
            .env("RAYON_NUM_THREADS", "3"),
    );
    run.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let threads: Vec<&serde_json::Value> = (report["rows"].as_array().unwrap().iter())
        .map(|row| &row["threads"])
        .collect();
    assert_eq!(threads, [3, 1], "{}", run.stdout);
    assert_eq!(report["python_workers"], "processes");
    assert_eq!(report["switch_interval"], 0.002);
    let run = tessera_in(
        dir.path(),
        &[
            "compare",
            &scene,
            "--threads",
            "1,2",
            "--python-workers",
            "threads",
            "--json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["python_workers"], "threads");
}
