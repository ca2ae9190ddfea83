//! The subcommands.

use crate::cancel::Stop;
use crate::failure::{EXIT_BAD_SCENE, EXIT_IO, EXIT_NODE_FAILED, Failure};
use crate::supervise::{GRACE, Supervisor, Work, supervise};
use crate::terminal;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::{ColorSpace, Rect, counted, display_path};
use tessera_graph::Plan;
use tessera_output::{Depth, ExrCompression, ImageTarget};
use tessera_process::Launch;
use tessera_python::{
    OnError, Policy, PythonError, PythonRuntime, PythonSettings, PythonWorkers, RunOptions,
    SWITCH_INTERVAL_EXPECTED, SWITCH_INTERVALS, ScriptAccess, WorkerConnection,
};
use tessera_render::{NodeFailure, RenderError};
use tessera_scene::SceneSource;
use tessera_session::{FrameError, FrameRequest, LoadError, Loaded, Reading};

#[derive(Args)]
pub struct RenderArgs {
    /// The scene file: TOML, or a MaterialX document (.mtlx).
    scene: PathBuf,
    /// The folder the command started in, before any node ran: output
    /// paths and worker processes are anchored to it, wherever a node moves
    /// the process (`os.chdir`).
    #[arg(skip = std::env::current_dir().unwrap_or_default())]
    start_dir: PathBuf,
    /// The image to write; the format follows the extension (png, exr, jpg).
    /// `{frame}` or `{frame:04}` is replaced by the frame number.
    /// Default: the scene's name with .png, in the current directory.
    #[arg(short = 'o', long = "out", value_name = "IMAGE")]
    output: Option<String>,
    #[command(flatten)]
    reading: ReadingArgs,
    /// Render threads (default: every core).
    #[arg(short = 'j', long, default_value_t = 0, hide_default_value = true, value_parser = parse_threads, allow_negative_numbers = true)]
    threads: usize,
    /// Tile edge in pixels. Does not change the pixels, only the speed (but
    /// for Python nodes keeping state under the `isolated` policy, which
    /// restarts them with each tile).
    #[arg(long = "tile", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096), allow_negative_numbers = true)]
    tile: u32,
    /// The frame number (nodes see time = frame / fps).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    frame: i64,
    /// Render the frames FIRST to LAST, in order, in this one process: the
    /// scene is loaded once, each frame written as soon as it is done, each
    /// the image `--frame N` gives. The output must contain `{frame}` or
    /// `{frame:04}`.
    #[arg(long, value_name = "FIRST-LAST", value_parser = parse_frames, conflicts_with = "frame", allow_hyphen_values = true)]
    frames: Option<FrameRange>,
    /// Render only these pixels of the image: X,Y,WIDTH,HEIGHT, from the top
    /// left. Each is the pixel the whole image's render gives
    /// (docs/determinism.md); the image written is the region's size.
    #[arg(long, value_name = "X,Y,W,H", value_parser = parse_region, allow_hyphen_values = true)]
    region: Option<Rect>,
    /// Bits per channel: 8 or 16 for PNG; 32 (float, the default) or 16 (half
    /// float; also `half`) for EXR.
    #[arg(long, allow_negative_numbers = true)]
    depth: Option<Depth>,
    /// The colour space the image is written in, by MaterialX's names
    /// (docs/colour.md): wins over the scene's `[output] colorspace`.
    /// Default: srgb_texture for PNG and JPEG, lin_rec709 for EXR.
    #[arg(long, value_parser = parse_colorspace)]
    colorspace: Option<ColorSpace>,
    /// How an EXR's scan lines are compressed (lossless): none (fastest,
    /// largest), rle (the default: small where areas are flat) or zip
    /// (smallest, slowest). Compression runs on every core while the image
    /// renders, unless --threads is 1.
    #[arg(long, value_name = "none|rle|zip")]
    exr_compression: Option<ExrCompression>,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    /// What a failing Python call does: stop the render (exit code 3), or
    /// paint the sample magenta, count it and go on.
    #[arg(long, value_enum, default_value_t = OnErrorArg::Stop)]
    on_error: OnErrorArg,
    /// How Python nodes' calls are scheduled, for every Python node (wins
    /// over `[python] policy` and a node's `policy`): free, exclusive,
    /// ordered (the default) or isolated. See docs/determinism.md.
    #[arg(long, value_name = "POLICY", value_parser = parse_policy)]
    python_policy: Option<Policy>,
    /// Python's switch interval in seconds (`sys.setswitchinterval`) for the
    /// render; wins over `[python] switch_interval`. Default: Python's own.
    #[arg(long, value_name = "SECONDS", value_parser = parse_switch_interval, allow_negative_numbers = true)]
    switch_interval: Option<f64>,
    /// Where Python nodes run: `threads` of this process (one interpreter,
    /// whose GIL they share), or `processes`, one worker process with its
    /// own interpreter per render thread, so Python work uses every core
    /// (nodes that keep state under `ordered` stay in this process). Wins
    /// over `[python] workers`. Default: threads. See docs/python-nodes.md.
    #[arg(long, value_name = "WHERE", value_parser = parse_workers)]
    python_workers: Option<PythonWorkers>,
    /// How Python nodes with both methods are called: `auto` uses
    /// `evaluate_tile` (numpy, once per tile), `per-sample` forces `__call__`
    /// (to check one against the other).
    #[arg(long, value_enum, default_value_t = PythonMode::Auto)]
    python_mode: PythonMode,
    /// Stop the render (exit code 124, no image written) after this many
    /// seconds, interrupting Python code that is running.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_negative_numbers = true)]
    timeout: Option<f64>,
    /// Render in this process instead of a supervised child (for
    /// profiling): a node that ends or crashes its process then ends
    /// tessera with it, and --timeout cannot stop a node that ignores it.
    #[arg(long)]
    no_supervise: bool,
    /// Refuse to import or run any Python script: a scene with Python
    /// nodes is an error (exit 2). See docs/security.md.
    #[arg(long)]
    no_python: bool,
}

#[derive(Args)]
pub struct CheckArgs {
    /// The scene file: TOML, or a MaterialX document (.mtlx).
    scene: PathBuf,
    #[command(flatten)]
    reading: ReadingArgs,
    /// Stop (exit code 124) when importing the scene's Python scripts and
    /// running their setup() take longer than this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value_t = 60.0, allow_negative_numbers = true)]
    timeout: f64,
    /// Check in this process instead of a supervised child.
    #[arg(long)]
    no_supervise: bool,
    /// Run no Python: read each Python node's class and sockets from its
    /// script's source (Python's `ast`, nothing executed) and check the
    /// graph with them, saying what could not be verified.
    #[arg(long)]
    no_python: bool,
}

/// How a scene file is read: a MaterialX document's output, and the size.
#[derive(Args, Clone, Default)]
pub struct ReadingArgs {
    /// A MaterialX document's output to render: GRAPH/OUTPUT (a node
    /// graph's), or a top-level output's name. Default: the first node
    /// graph's first output (`check`: every output).
    #[arg(long = "output", value_name = "GRAPH/OUTPUT")]
    document_output: Option<String>,
    /// The image's size, WIDTHxHEIGHT, over the scene's [image] (a
    /// MaterialX document's default: 1024x1024).
    #[arg(long, value_name = "WxH", value_parser = parse_size, allow_hyphen_values = true)]
    size: Option<(u32, u32)>,
    /// Samples per pixel (1 to 4096), over the scene's [image] (default 1:
    /// each pixel's centre).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096), allow_negative_numbers = true)]
    samples: Option<u32>,
    /// The seed of every random value (the samples' places, ctx.random()),
    /// over the scene's [image] (default 0).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    seed: Option<u32>,
}

impl ReadingArgs {
    fn reading(&self) -> Reading {
        Reading {
            output: self.document_output.clone(),
            size: self.size,
            samples: self.samples,
            seed: self.seed,
        }
    }
}

/// `WIDTHxHEIGHT`, each 1 to 65536.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{text:?} is not a size: write WIDTHxHEIGHT, such as 1024x768");
    let (width, height) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    // As a scene's [image] width and height allow.
    const LARGEST: u64 = 1 << 20;
    let side = |s: &str| match s.trim().parse::<u64>() {
        Ok(n) if (1..=LARGEST).contains(&n) => Ok(n as u32),
        Ok(_) => Err(format!("{text:?}: each side must be 1 to {LARGEST}")),
        // Digits too many for any number are a size too large all the same.
        Err(_) if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("{text:?}: each side must be 1 to {LARGEST}"))
        }
        Err(_) => Err(bad()),
    };
    Ok((side(width)?, side(height)?))
}

pub fn parse_policy(text: &str) -> Result<Policy, String> {
    Policy::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Policy::ALL.iter().map(|p| p.name()).collect();
        format!("not a policy; use one of {}", names.join(", "))
    })
}

pub fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n <= tessera_render::MAX_THREADS => Ok(n),
        _ => Err(format!(
            "must be a number of threads from 0 (every core) to {}",
            tessera_render::MAX_THREADS
        )),
    }
}

pub fn parse_workers(text: &str) -> Result<PythonWorkers, String> {
    PythonWorkers::parse(text).ok_or_else(|| "use threads or processes".to_string())
}

/// The longest a number of seconds may be: about 31 years, far inside
/// what a `Duration` (and a deadline after it) holds.
const MAX_SECONDS: f64 = 1e9;

/// `--switch-interval`: seconds Python can keep (see [`SWITCH_INTERVALS`]).
pub fn parse_switch_interval(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if SWITCH_INTERVALS.contains(&s) => Ok(s),
        _ => Err(format!("must be {SWITCH_INTERVAL_EXPECTED}, such as 0.005")),
    }
}

pub fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= MAX_SECONDS => Ok(s),
        _ => Err(format!(
            "must be a positive number of seconds up to {MAX_SECONDS:e}, such as 0.005"
        )),
    }
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum PythonMode {
    Auto,
    PerSample,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OnErrorArg {
    Stop,
    Color,
}

impl From<OnErrorArg> for OnError {
    fn from(arg: OnErrorArg) -> OnError {
        match arg {
            OnErrorArg::Stop => OnError::Stop,
            OnErrorArg::Color => OnError::Color,
        }
    }
}

/// Reads and compiles a scene (importing its Python scripts, whose nodes
/// belong to `runtime`); a bad scene is exit code 2.
pub fn load(
    path: &Path,
    reading: &Reading,
    options: RunOptions,
    runtime: &PythonRuntime,
) -> Result<Loaded, Failure> {
    load_source(&read(path)?, reading, options, runtime)
}

/// Reads the scene file (or standard input) at `path`.
pub fn read(path: &Path) -> Result<SceneSource, Failure> {
    tessera_session::read_scene(path).map_err(load_failure)
}

/// Loads a scene already read.
pub fn load_source(
    source: &SceneSource,
    reading: &Reading,
    options: RunOptions,
    runtime: &PythonRuntime,
) -> Result<Loaded, Failure> {
    tessera_session::load(source, reading, options, runtime).map_err(load_failure)
}

pub fn load_failure(error: LoadError) -> Failure {
    match error {
        LoadError::Read { .. } => Failure::new(EXIT_BAD_SCENE, format!("error: {error}")),
        LoadError::Scene { .. } => Failure::new(EXIT_BAD_SCENE, error.to_string()),
    }
}

/// What the processes a command starts read as the scene when it came on
/// this process's standard input, which only this process can read: its
/// text, passed on to theirs.
pub fn scene_input(source: &SceneSource) -> Option<Arc<str>> {
    tessera_scene::is_standard_input(&source.path).then(|| Arc::from(source.text.as_str()))
}

pub fn check(args: &CheckArgs) -> Result<(), Failure> {
    if let Some(supervisor) = Supervisor::inherited() {
        return supervisor.exiting(check_here(args));
    }
    if args.no_supervise {
        return check_here(args);
    }
    supervise(
        Work::Check,
        &args.scene,
        Some(Duration::from_secs_f64(args.timeout)),
        args.timeout,
        true,
    )
}

fn check_here(args: &CheckArgs) -> Result<(), Failure> {
    let scene = &args.scene;
    let options = RunOptions {
        scripts: if args.no_python {
            ScriptAccess::ReadOnly
        } else {
            ScriptAccess::Run
        },
        ..RunOptions::default()
    };
    // A MaterialX document is checked output by output, unless one is named.
    let outputs = match (
        &args.reading.document_output,
        tessera_session::is_materialx(scene),
    ) {
        (None, true) => materialx_outputs(scene),
        _ => Vec::new(),
    };
    if outputs.len() > 1 {
        let mut failed = 0;
        for output in &outputs {
            let reading = Reading {
                output: Some(output.clone()),
                ..args.reading.reading()
            };
            match load(scene, &reading, options, &PythonRuntime::default()) {
                Ok(loaded) => {
                    report_checked(args, &format!("{} {output}", scene.display()), &loaded)?
                }
                Err(failure) => {
                    failed += 1;
                    terminal::error_line(&format!("{} (output {output})", failure.message));
                }
            }
        }
        return match failed {
            0 => Ok(()),
            _ => Err(Failure::new(
                EXIT_BAD_SCENE,
                format!("{failed} of the {} outputs have errors", outputs.len()),
            )),
        };
    }
    let loaded = load(
        scene,
        &args.reading.reading(),
        options,
        &PythonRuntime::default(),
    )?;
    report_checked(args, &scene.display().to_string(), &loaded)
}

/// The outputs of the MaterialX document at `path`, as `--output` names
/// them; none when it cannot be read (loading it then says why).
fn materialx_outputs(path: &Path) -> Vec<String> {
    (std::fs::read_to_string(path).ok())
        .and_then(|text| tessera_materialx::output_names(&text).ok())
        .unwrap_or_default()
}

/// `check`'s line for a scene that compiled (and the notes of `--no-python`).
fn report_checked(args: &CheckArgs, what: &str, loaded: &Loaded) -> Result<(), Failure> {
    let plan = &loaded.plan;
    for node in &plan.nodes {
        if let (true, Some(report)) = (args.no_python, node.node.report()) {
            terminal::error_line(&format!("note: node `{}`: {report}", node.id));
        }
    }
    terminal::line(&format!(
        "{what}: ok ({} rendered, {}x{}, {})",
        counted(plan.nodes.len() as u64, "node"),
        plan.image.width,
        plan.image.height,
        counted(plan.image.samples.into(), "sample")
    ))
}

/// `--frames FIRST-LAST`: frames FIRST to LAST, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRange {
    first: i64,
    last: i64,
}

fn parse_frames(text: &str) -> Result<FrameRange, String> {
    // The `-` between the numbers, not a sign: FIRST may be negative.
    let cut = (text.char_indices().skip(1))
        .find(|&(_, c)| c == '-')
        .map(|(i, _)| i);
    let (first, last) = match cut {
        Some(cut) => (&text[..cut], &text[cut + 1..]),
        None => (text, text),
    };
    let number = |what: &str, text: &str| {
        text.trim().parse::<i64>().map_err(|_| {
            format!("{what} must be a frame number, not {text:?} (expected FIRST-LAST, as 1-240)")
        })
    };
    let range = FrameRange {
        first: number("FIRST", first)?,
        last: number("LAST", last)?,
    };
    if range.last < range.first {
        return Err(format!(
            "LAST ({}) is before FIRST ({})",
            range.last, range.first
        ));
    }
    Ok(range)
}

impl RenderArgs {
    /// Whether this process draws the progress bar on the terminal as it
    /// renders here (`--no-supervise`; a supervisor draws its child's).
    pub fn draws_bar_here(&self) -> bool {
        use std::io::IsTerminal;
        self.no_supervise && !self.quiet && std::io::stderr().is_terminal()
    }

    /// The frames to render, in order: `--frames`, else `--frame`.
    fn frame_numbers(&self) -> std::ops::RangeInclusive<i64> {
        match self.frames {
            Some(range) => range.first..=range.last,
            None => self.frame..=self.frame,
        }
    }
}

pub fn render(args: &RenderArgs) -> Result<(), Failure> {
    if let Some(mut supervisor) = Supervisor::inherited() {
        let result = render_here(args, Some(&mut supervisor));
        return supervisor.exiting(result);
    }
    if args.no_supervise {
        return render_here(args, None);
    }
    // The child stops itself at its --timeout, naming the node it stopped;
    // a child that does not is killed a moment later.
    let deadline = args.timeout.map(|s| Duration::from_secs_f64(s) + GRACE);
    let timeout = args.timeout.unwrap_or_default();
    if args.frames.is_some() {
        frame_targets(args)?;
        return supervise(Work::Frames, &args.scene, deadline, timeout, args.quiet);
    }
    let target = image_target(args, args.frame)?;
    supervise(
        Work::Render(&target),
        &args.scene,
        deadline,
        timeout,
        args.quiet,
    )
}

/// The image file of frame `frame`: format, depth and EXR compression
/// checked.
fn image_target(args: &RenderArgs, frame: i64) -> Result<ImageTarget, Failure> {
    let target = ImageTarget::new(&output_path(args, frame)?, args.depth).map(|mut target| {
        // One thread asked for: no pool of encoding threads either.
        target.parallel_encoding = tessera_render::worker_count(args.threads) > 1;
        target.anchored_in(&args.start_dir)
    });
    let target = match args.exr_compression {
        Some(compression) => target.and_then(|t| t.with_exr_compression(compression)),
        None => target,
    };
    target.map_err(|e| Failure::new(EXIT_IO, format!("error: {e}")))
}

/// Each frame's output, checked before anything renders: a range needs
/// `{frame}` in the output, so that frames do not overwrite each other.
fn frame_targets(args: &RenderArgs) -> Result<Vec<(i64, ImageTarget)>, Failure> {
    let frames = args.frame_numbers();
    if frames.start() != frames.end()
        && output_path(args, *frames.start())? == output_path(args, *frames.end())?
    {
        return Err(Failure::new(
            EXIT_BAD_SCENE,
            "error: --frames writes one image per frame: the output needs `{frame}` or `{frame:04}` in its name (as -o out/frame_{frame:04}.exr)",
        ));
    }
    frames
        .map(|frame| Ok((frame, image_target(args, frame)?)))
        .collect()
}

/// Renders in this process: a supervised child's work, or the whole
/// command under --no-supervise.
fn render_here(args: &RenderArgs, supervisor: Option<&mut Supervisor>) -> Result<(), Failure> {
    let stop = Stop::install(args.timeout);
    render_scene(args, &stop, supervisor).map_err(|failure| match stop.stopped() {
        // Stopped before rendering (a script's import looping forever, say).
        Some((code, why)) if failure.code != code => Failure::new(
            code,
            format!("error: {why}; no image written\n{}", failure.message),
        ),
        _ => failure,
    })
}

/// The failure of a cancelled command: why it stopped, and what was running.
fn stopped_failure(code: u8, why: &str, interrupted: Option<&NodeFailure>) -> Failure {
    let message = match interrupted {
        Some(f) => format!(
            "error: {why} while node `{}` ({}) was running {}; no image written\n  {}",
            f.node,
            f.type_name,
            f.place(),
            f.error.message
        ),
        None => format!("error: {why}; no image written"),
    };
    Failure::new(code, message)
}

fn parse_region(text: &str) -> Result<Rect, String> {
    let numbers: Vec<&str> = text.split(',').map(str::trim).collect();
    let [x, y, width, height] = numbers[..] else {
        return Err("expected X,Y,WIDTH,HEIGHT: four numbers separated by commas".into());
    };
    let number = |what: &str, text: &str| {
        text.parse::<u32>()
            .map_err(|_| format!("{what} must be a whole number of pixels, not {text:?}"))
    };
    let (x, y) = (number("X", x)?, number("Y", y)?);
    let (width, height) = (number("WIDTH", width)?, number("HEIGHT", height)?);
    if width == 0 || height == 0 {
        return Err("the region must be at least 1 x 1 pixels".into());
    }
    let to_i32 = |v: u32| i32::try_from(v).map_err(|_| format!("{v} is beyond any image"));
    Ok(Rect::new(to_i32(x)?, to_i32(y)?, width, height))
}

fn parse_colorspace(name: &str) -> Result<ColorSpace, String> {
    ColorSpace::parse(name).ok_or_else(|| {
        let names: Vec<&str> = ColorSpace::names().collect();
        format!("unknown colour space; use one of {}", names.join(", "))
    })
}

fn run_options(args: &RenderArgs) -> RunOptions {
    RunOptions {
        scripts: if args.no_python {
            ScriptAccess::Refuse
        } else {
            ScriptAccess::Run
        },
        on_error: args.on_error.into(),
        per_sample: args.python_mode == PythonMode::PerSample,
        policy: args.python_policy,
    }
}

/// How to start a Python worker process for this render: this program's
/// hidden `python-worker` command, with the options that decide how the
/// scene's Python nodes are built.
fn worker_launch(args: &RenderArgs, input: Option<Arc<str>>) -> Result<Launch, Failure> {
    use clap::ValueEnum;
    let program = std::env::current_exe().map_err(|e| Failure::from_error(EXIT_IO, e.into()))?;
    let name = |value: Option<clap::builder::PossibleValue>| {
        value.map(|v| v.get_name().to_string()).unwrap_or_default()
    };
    let mut launch = vec![
        "python-worker".into(),
        args.scene.clone().into_os_string(),
        "--on-error".into(),
        name(args.on_error.to_possible_value()).into(),
        "--python-mode".into(),
        name(args.python_mode.to_possible_value()).into(),
    ];
    if let Some(policy) = args.python_policy {
        launch.extend(["--python-policy".into(), policy.name().into()]);
    }
    // The worker loads the scene as the render did.
    if let Some(output) = &args.reading.document_output {
        launch.extend(["--output".into(), output.into()]);
    }
    if let Some((width, height)) = args.reading.size {
        launch.extend(["--size".into(), format!("{width}x{height}").into()]);
    }
    Ok(Launch {
        program,
        args: launch,
        env: Vec::new(),
        dir: Some(args.start_dir.clone()),
        input,
    })
}

/// Loads the scene once and renders each frame asked for, in order.
fn render_scene(
    args: &RenderArgs,
    stop: &Stop,
    mut supervisor: Option<&mut Supervisor>,
) -> Result<(), Failure> {
    let runtime = PythonRuntime::default();
    let source = read(&args.scene)?;
    let loaded = load_source(
        &source,
        &args.reading.reading(),
        run_options(args),
        &runtime,
    )?;
    let targets = frame_targets(args)?;
    for (_, target) in &targets {
        refuse_overwriting_inputs(&loaded.plan, target.path())?;
    }
    if args.python_workers.or(loaded.python.workers) == Some(PythonWorkers::Processes) {
        // The workers run in groups of their own: Ctrl-Z stops them, then
        // this process; `fg` continues them.
        let _ = tessera_process::pass_on_job_control(runtime.job_children());
    }
    let range = args.frames.is_some();
    let bar = progress_bar(args.quiet || supervisor.is_some());
    let count = targets.len();
    let input = scene_input(&source);
    for (done, (frame, target)) in targets.into_iter().enumerate() {
        let target = target.with_colorspace(args.colorspace.or(loaded.plan.output.colorspace));
        let frames = FramesDone { done, count, frame };
        let scene = SceneRender {
            args,
            input: input.clone(),
            stop,
            loaded: &loaded,
            runtime: &runtime,
            bar: &bar,
        };
        render_frame(scene, &target, frames, supervisor.as_deref_mut())
            // A failure in a range names its frame.
            .map_err(|failure| {
                if range {
                    failure.in_frame(frame)
                } else {
                    failure
                }
            })?;
    }
    bar.finish_and_clear();
    if let (true, Some(supervisor)) = (range, supervisor) {
        supervisor.finished(None);
    }
    Ok(())
}

/// Where a range stands: `done` of `count` frames written; `frame` next.
#[derive(Clone, Copy)]
struct FramesDone {
    done: usize,
    count: usize,
    frame: i64,
}

/// What every frame of a render command is rendered with.
struct SceneRender<'a> {
    args: &'a RenderArgs,
    /// The scene's text, when it came on standard input.
    input: Option<Arc<str>>,
    stop: &'a Stop,
    loaded: &'a Loaded,
    runtime: &'a PythonRuntime,
    bar: &'a ProgressBar,
}

fn render_frame(
    scene: SceneRender,
    target: &ImageTarget,
    frames: FramesDone,
    mut supervisor: Option<&mut Supervisor>,
) -> Result<(), Failure> {
    let SceneRender {
        args,
        input,
        stop,
        loaded,
        runtime,
        bar,
    } = scene;
    let Loaded { plan, python } = loaded;
    let output = target.path();
    let range = args.frames.is_some();
    let processes = match args.python_workers.or(python.workers).unwrap_or_default() {
        PythonWorkers::Processes => Some(worker_launch(args, input)?),
        PythonWorkers::Threads => None,
    };
    let request = FrameRequest {
        threads: tessera_render::worker_count(args.threads),
        tile_size: args.tile,
        frame: frames.frame,
        region: args.region,
        colorspace: target.colorspace,
        output_bytes: match args.region {
            Some(region) => target.encoding_bytes(region.width, region.height),
            None => target.encoding_bytes(plan.image.width, plan.image.height),
        },
        switch_interval: args.switch_interval,
        processes,
    };
    if range {
        bar.set_message(format!(
            "frame {} ({} of {}), ",
            frames.frame,
            frames.done + 1,
            frames.count
        ));
    }
    // Where the image goes: a temporary file beside the target, renamed
    // into place once complete; supervised, the parent's temporary file
    // (which the parent renames), or for a frame of a range one announced
    // to the parent.
    let destination = match &mut supervisor {
        Some(supervisor) if range => supervisor
            .frame_file(target, frames.frame)
            .map(Destination::Temporary),
        Some(supervisor) => supervisor.take_file().map(Destination::HandedOver),
        None => target.temporary().map(Destination::Temporary),
    };
    let mut destination = destination.map_err(|e| Failure::new(EXIT_IO, format!("error: {e}")))?;
    let (width, height) = match args.region {
        Some(region) => (region.width, region.height),
        None => (plan.image.width, plan.image.height),
    };
    // Over a range: the tiles of every frame.
    let cancel = stop.flag();
    let mut progress = |p: tessera_render::Progress| {
        let done = frames.done * p.tiles_total + p.tiles_done;
        let total = frames.count * p.tiles_total;
        match &mut supervisor {
            Some(supervisor) => supervisor.progress(
                done,
                total,
                range.then_some(frames.frame),
                p.tiles_done == p.tiles_total,
            ),
            None => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        }
    };
    // The rows are encoded (and hashed, unless `--quiet`, which prints no
    // hash) on this thread as the render threads finish them.
    let file = destination.file();
    let (rendered, encoded) = target.encode_rows(file, width, height, !args.quiet, |sink| {
        tessera_session::render_frame(loaded, runtime, request, cancel, &mut progress, sink)
    });
    // The message already carries the OS reason; no error chain to print.
    let write_failure =
        |e: tessera_output::OutputError| Failure::new(EXIT_IO, format!("error: {e}"));
    let rendered = match (rendered, &encoded) {
        (Ok(rendered), _) => rendered,
        // The file could not be written: the encoder says why.
        (Err(FrameError::Render(RenderError::SinkFailed)), Err(e)) => {
            return Err(Failure::new(EXIT_IO, format!("error: {e}")));
        }
        // Stopped while Python prepared the render (worker processes
        // loading the scene, nodes set up again for this frame): the stop
        // is what happened.
        (Err(FrameError::Python(e)), _) if let Some((code, why)) = stop.stopped() => {
            let why = format!(
                "{why}, while Python prepared the render (worker processes loading the scene, nodes setting up)"
            );
            let mut failure = stopped_failure(code, &why, None);
            // Where the interrupt found a script (its line), if it did.
            if let PythonError::Setup(message) = e {
                failure.message = format!("{}\n  {message}", failure.message);
            }
            return Err(failure);
        }
        // A node's new instance for this frame failing to set up: as at
        // the first frame, where it is a scene error.
        (Err(FrameError::Python(e @ PythonError::Setup(_))), _) => {
            return Err(Failure::new(EXIT_BAD_SCENE, format!("error: {e}")));
        }
        // As the render process ending at the same point would be.
        (Err(FrameError::Python(e @ PythonError::WorkerDied(_))), _) => {
            return Err(Failure::new(EXIT_NODE_FAILED, format!("error: {e}")));
        }
        (Err(FrameError::Python(e)), _) => {
            return Err(Failure::new(EXIT_IO, format!("error: {e}")));
        }
        (Err(FrameError::Render(e)), _) => return Err(render_failure(e, stop)),
    };
    let hash = encoded.map_err(write_failure)?;
    // A stop that came while the last rows were encoded: the image is
    // complete, but the user asked for none (the temporary file goes).
    if let Some((code, why)) = stop.stopped() {
        return Err(stopped_failure(code, &why, None));
    }
    if let Destination::Temporary(temporary) = destination {
        target.persist(temporary).map_err(write_failure)?;
    }
    if !args.quiet {
        for node in &plan.nodes {
            if let Some(report) = node.node.report() {
                terminal::error_line(&format!("warning: node `{}`: {report}", node.id));
            }
        }
        let lingering = runtime.lingering_threads();
        if !lingering.is_empty() {
            terminal::error_line(&format!(
                "warning: Python nodes left {} running, which Tessera does not wait for: {}",
                counted(lingering.len() as u64, "thread"),
                lingering.join("; ")
            ));
        }
    }
    let depth = target.depth;
    let summary = hash.map(|hash| {
        format!(
            "{}: {}x{}, {}, {}, tile {}, {:.3} s, {depth}, {}, blake3 {hash}",
            output.display(),
            rendered.width,
            rendered.height,
            counted(plan.image.samples.into(), "sample"),
            counted(rendered.threads as u64, "thread"),
            args.tile,
            rendered.seconds,
            target.colorspace,
        )
    });
    match supervisor {
        Some(supervisor) if args.frames.is_none() => supervisor.finished(summary),
        Some(supervisor) => supervisor.frame_written(summary),
        None => {
            if let Some(summary) = summary {
                bar.suspend(|| terminal::line(&summary))?;
            }
        }
    }
    Ok(())
}

/// The file a frame's image is encoded into.
enum Destination {
    /// Beside the target, renamed over it once complete.
    Temporary(tempfile::NamedTempFile),
    /// The supervising tessera's temporary file, which it renames.
    HandedOver(std::fs::File),
}

impl Destination {
    fn file(&mut self) -> &mut std::fs::File {
        match self {
            Destination::Temporary(temporary) => temporary.as_file_mut(),
            Destination::HandedOver(file) => file,
        }
    }
}

/// A render must not write its image over a file the scene reads.
fn refuse_overwriting_inputs(plan: &Plan, output: &Path) -> Result<(), Failure> {
    // The output need not exist yet: compare its folder, resolved, and name.
    let resolved = |path: &Path| {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Some(folder.canonicalize().ok()?.join(path.file_name()?))
    };
    // Through its symbolic links: the file they lead to is what is replaced.
    let replaced = tessera_output::through_links(output).unwrap_or_else(|_| output.to_path_buf());
    let Some(target) = resolved(&replaced) else {
        return Ok(());
    };
    for node in &plan.nodes {
        for file in node.node.files_read() {
            if resolved(&file).is_some_and(|read| read == target) {
                return Err(Failure::new(
                    EXIT_BAD_SCENE,
                    format!(
                        "error: the output {} is the file node `{}` reads ({}); it would be overwritten. Choose another output",
                        output.display(),
                        node.id,
                        display_path(&file)
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn output_path(args: &RenderArgs, frame: i64) -> Result<PathBuf, Failure> {
    let template = match &args.output {
        Some(template) => template.clone(),
        None => {
            let stem = args.scene.file_stem().unwrap_or_default().to_string_lossy();
            format!("{stem}.png")
        }
    };
    tessera_output::frame_path(&template, frame)
        .map(PathBuf::from)
        .context("bad --output")
        .map_err(|e| Failure::from_error(EXIT_BAD_SCENE, e))
}

pub fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    // indicatif draws on stderr, and draws nothing when it is not a terminal.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:40}] {msg}{pos}/{len} tiles, {elapsed} elapsed, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

fn render_failure(error: RenderError, stop: &Stop) -> Failure {
    if let Some((code, why)) = stop.stopped() {
        // A node failing after a cancel failed because of it (KeyboardInterrupt).
        let interrupted = match &error {
            RenderError::Cancelled { interrupted } => interrupted.as_deref(),
            RenderError::Node(failure) => Some(&**failure),
            _ => None,
        };
        return stopped_failure(code, &why, interrupted);
    }
    let code = match error {
        RenderError::Node(_) => EXIT_NODE_FAILED,
        RenderError::Cancelled { .. } => crate::failure::EXIT_INTERRUPTED,
        RenderError::ThreadPool { .. }
        | RenderError::BadTileSize
        | RenderError::OutOfMemory { .. }
        | RenderError::SinkFailed => EXIT_IO,
        // Predictable from the scene and the options.
        RenderError::NotEnoughMemory(_) | RenderError::BadRegion { .. } => EXIT_BAD_SCENE,
    };
    let mut message = format!("error: {error}");
    if let RenderError::Node(failure) = &error
        && let Some(detail) = &failure.error.detail
    {
        message.push('\n');
        message.push_str(detail);
    }
    Failure::new(code, message)
}

pub fn nodes(markdown: bool) -> Result<(), Failure> {
    let registry = tessera_session::registry(
        PythonSettings::default(),
        RunOptions::default(),
        PythonRuntime::default(),
    );
    let text = if markdown {
        crate::nodes_doc::markdown(&registry)
    } else {
        crate::nodes_doc::plain(&registry)
    };
    terminal::write(&text)
}

/// `tessera nodes --script`: the script is imported (its code runs) in a
/// supervised child, as `check` does, stopped after `timeout` seconds.
pub fn nodes_of_script(script: &Path, timeout: f64) -> Result<(), Failure> {
    if let Some(mut supervisor) = Supervisor::inherited() {
        // The listing goes to the parent, which prints it only if this
        // process was not stopped first.
        let listed = tessera_python::describe_script(script)
            .map_err(|e| Failure::new(EXIT_BAD_SCENE, format!("error: {e}")))
            .map(|nodes| crate::nodes_doc::script(&nodes));
        if let Ok(text) = &listed {
            // (Printed as a line: its last newline is added back.)
            let text = text.strip_suffix('\n').unwrap_or(text);
            supervisor.finished(Some(text.to_string()));
        }
        return supervisor.exiting(listed.map(|_| ()));
    }
    supervise(
        Work::ListScript,
        script,
        Some(Duration::from_secs_f64(timeout)),
        timeout,
        true,
    )
}

#[derive(Args)]
pub struct ConvertArgs {
    /// The MaterialX document (.mtlx).
    document: PathBuf,
    /// The scene file to write (TOML).
    #[arg(short = 'o', long = "out", value_name = "SCENE")]
    output: PathBuf,
    #[command(flatten)]
    reading: ReadingArgs,
}

/// `tessera convert`: a MaterialX document's output as a TOML scene,
/// checked (it must compile) and written atomically. Image file names are
/// kept as the document gives them (with its `fileprefix`): relative ones
/// are read from the scene's folder, so a scene written into another folder
/// than the document's is told so.
pub fn convert(args: &ConvertArgs) -> Result<(), Failure> {
    let bad = |error: LoadError| Failure::new(EXIT_BAD_SCENE, error.to_string());
    if !tessera_session::is_materialx(&args.document) {
        return Err(Failure::new(
            EXIT_BAD_SCENE,
            format!(
                "error: {} is not a MaterialX document (.mtlx)",
                args.document.display()
            ),
        ));
    }
    if same_file(&args.document, &args.output) {
        return Err(Failure::new(
            EXIT_BAD_SCENE,
            format!(
                "error: {} is the document itself: write the scene to another file",
                args.output.display()
            ),
        ));
    }
    let source = tessera_session::read_scene(&args.document).map_err(bad)?;
    let scene = tessera_session::describe(&source, &args.reading.reading()).map_err(bad)?;
    // The scene is checked as the document was: no Python in either.
    let options = RunOptions {
        scripts: ScriptAccess::Refuse,
        ..RunOptions::default()
    };
    let compiled = tessera_session::compile(&scene, &source, options, &PythonRuntime::default())
        .map_err(bad)?;
    let text = format!(
        "# Converted by `tessera convert` from {}.\n{}",
        args.document.display(),
        tessera_scene::write_scene(&scene)
    );
    let cannot_write = |why: String| {
        Failure::new(
            EXIT_IO,
            format!("error: cannot write {}: {why}", args.output.display()),
        )
    };
    // Said as `render` says it.
    if let Some(dir) = (args.output.parent()).filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
        return Err(cannot_write(format!(
            "directory {} does not exist",
            dir.display()
        )));
    }
    tessera_output::replace_file(&args.output, text.as_bytes())
        .map_err(|e| cannot_write(e.to_string()))?;
    terminal::error_line(&format!(
        "wrote {} ({})",
        args.output.display(),
        counted(scene.nodes.len() as u64, "node")
    ));
    let folder = |path: &Path| {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()
    };
    let reads_files = (compiled.plan.nodes.iter()).any(|n| !n.node.files_read().is_empty());
    if reads_files && folder(&args.document) != folder(&args.output) {
        terminal::error_line(
            "note: the scene reads files by the document's relative names, from its own folder: \
             copy them there, or write the scene beside the document",
        );
    }
    Ok(())
}

/// Whether `a` and `b` name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `tessera nodes --materialx`: each MaterialX node Tessera renders, with
/// the nodedefs of its signatures: those of native nodes, then those
/// rendered through the graphs MaterialX defines them by.
pub fn materialx_nodes() -> Result<(), Failure> {
    let mut text = String::new();
    let listed = [
        (tessera_materialx::MATERIALX_NODES, ""),
        (
            tessera_materialx::GRAPH_DEFINED_NODES,
            " (through MaterialX's graph)",
        ),
    ];
    for (nodes, how) in listed {
        for (name, signatures) in nodes {
            let nodedefs: Vec<String> = signatures
                .iter()
                .map(|s| tessera_materialx::nodedef_name(name, s))
                .collect();
            text.push_str(&format!("{name}{how}: {}\n", nodedefs.join(", ")));
        }
    }
    terminal::write(&text)
}

pub fn version() -> Result<(), Failure> {
    let python = match tessera_python::start() {
        Ok(python) => format!(
            "python {} at {} (started as {}), GIL {}",
            python.version,
            python.prefix,
            python.executable,
            if python.gil_enabled {
                "enabled"
            } else {
                "disabled (free-threaded)"
            }
        ),
        Err(e) => format!("python unavailable: {e}"),
    };
    terminal::write(&format!(
        "tessera {}\n{python}\n",
        env!("CARGO_PKG_VERSION")
    ))
}

/// The hidden `python-worker` command: a worker process of a render under
/// `--python-workers processes`, started by the render process with the
/// render's own options. It loads the scene, then evaluates the tiles it is
/// sent until the render process closes the connection.
pub fn python_worker(args: &RenderArgs) -> Result<(), Failure> {
    let connection = WorkerConnection::inherited()
        .map_err(|e| Failure::new(EXIT_BAD_SCENE, format!("error: {e}")))?;
    let runtime = PythonRuntime::default();
    match load(
        &args.scene,
        &args.reading.reading(),
        run_options(args),
        &runtime,
    ) {
        // Each render's seed and switch interval come from the render
        // process, with each render it asks for.
        Ok(_) => connection
            .serve(&runtime)
            .map_err(|e| Failure::new(EXIT_IO, format!("error: {e}"))),
        Err(failure) => {
            // The render process reports it; printing it here too would
            // show it twice.
            connection.setup_failed(&failure.message);
            Err(Failure::new(failure.code, ""))
        }
    }
}

pub fn new_node(name: &str, dir: &Path) -> Result<(), Failure> {
    // A bad name is a bad argument (2); only writing the file is I/O (1).
    crate::new_node::names(name).map_err(|e| Failure::from_error(EXIT_BAD_SCENE, e))?;
    let path = crate::new_node::write(name, dir).map_err(|e| Failure::from_error(EXIT_IO, e))?;
    terminal::line(&format!("wrote {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ranges_read_negative_frames_and_single_frames() {
        let range = |first, last| Ok(FrameRange { first, last });
        assert_eq!(parse_frames("1-240"), range(1, 240));
        assert_eq!(parse_frames("-5--1"), range(-5, -1));
        assert_eq!(parse_frames("-3-2"), range(-3, 2));
        assert_eq!(parse_frames("7"), range(7, 7));
        assert_eq!(
            parse_frames("3-1"),
            Err("LAST (1) is before FIRST (3)".to_string())
        );
        assert!(
            parse_frames("a-4")
                .unwrap_err()
                .starts_with("FIRST must be a frame number")
        );
        assert!(parse_frames("").is_err());
        // A pasted minus sign is an error, not a panic on a cut character.
        assert!(parse_frames("\u{2212}5-3").is_err());
    }

    #[test]
    fn regions_are_four_whole_numbers_and_not_empty() {
        assert_eq!(parse_region("10, 7,33,21"), Ok(Rect::new(10, 7, 33, 21)));
        assert!(
            parse_region("1,2,3")
                .unwrap_err()
                .starts_with("expected X,Y,WIDTH,HEIGHT")
        );
        assert_eq!(
            parse_region("0,0,0,5"),
            Err("the region must be at least 1 x 1 pixels".to_string())
        );
        assert!(
            parse_region("-1,0,4,4")
                .unwrap_err()
                .starts_with("X must be a whole number")
        );
    }
}
