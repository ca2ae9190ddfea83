//! `tessera`: renders node-graph scene files, tile by tile, on every core.

mod cancel;
mod commands;
mod compare;
mod failure;
mod new_node;
mod nodes_doc;
mod supervise;
mod terminal;

use clap::{Parser, Subcommand};
use failure::Failure;
use std::path::PathBuf;
use std::process::ExitCode;

/// Renders procedural-texture and compositing node graphs from TOML scene
/// files, tile by tile on every core, with identical pixels at any thread count.
///
/// Exit codes: 0 success, 1 an I/O or output failure (for `compare`: some
/// renders differ), 2 a bad scene or bad arguments (or a render that
/// cannot fit in memory), 3 a node failed while rendering, 124 stopped by
/// --timeout, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 hung
/// up (SIGHUP).
#[derive(Parser)]
#[command(name = "tessera", about, long_about, disable_version_flag = true)]
struct Cli {
    /// Print the version, and the Python this binary runs nodes with.
    #[arg(short = 'V', long)]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Render a scene to an image file.
    Render(commands::RenderArgs),
    /// Render a scene at several thread counts, under several policies,
    /// several times, and report which renders differ (exit 1 if any).
    Compare(compare::CompareArgs),
    /// Check a scene for mistakes without rendering it.
    Check(commands::CheckArgs),
    /// Write a MaterialX document's output, and the nodes it reads, as a
    /// Tessera scene (TOML), to edit or extend with Python nodes.
    Convert(commands::ConvertArgs),
    /// List every node type with its inputs, types, defaults and outputs.
    Nodes {
        /// Print Markdown (the source of docs/nodes.md).
        #[arg(long)]
        markdown: bool,
        /// List the node classes of this Python script instead.
        #[arg(long, value_name = "SCRIPT", conflicts_with_all = ["materialx", "markdown"])]
        script: Option<PathBuf>,
        /// List the MaterialX standard nodes Tessera renders, with their
        /// types (their nodedefs' signatures).
        #[arg(long)]
        materialx: bool,
        /// With --script: stop (exit code 124) when importing the script
        /// and reading its classes take longer than this many seconds.
        #[arg(long, value_name = "SECONDS", value_parser = commands::parse_seconds, default_value_t = 60.0, requires = "script", allow_negative_numbers = true)]
        timeout: f64,
    },
    /// A Python worker process of `render --python-workers processes`
    /// (started by the render, never by hand).
    #[command(hide = true)]
    PythonWorker(commands::RenderArgs),
    /// Write a starter Python node to NAME.py (snake_case file, CamelCase class).
    NewNode {
        /// The node's name, e.g. `wood_grain` or `WoodGrain`.
        name: String,
        /// The folder to write it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    // An image over `ulimit -f` is an I/O error to report, not a death.
    tessera_process::ignore_file_size_signal();
    tessera_process::keep_freed_memory();
    let cli = Cli::parse();
    // A render in this process draws its bar where its nodes print: they
    // erase it first, as under a supervisor (which sets this for its child).
    if let Some(Command::Render(args)) = &cli.command
        && args.draws_bar_here()
    {
        // SAFETY: no other thread has started yet to read the environment.
        unsafe { std::env::set_var(terminal::PROGRESS_BAR_VARIABLE, "1") };
    }
    let result = match cli.command {
        _ if cli.version => commands::version(),
        Some(Command::Render(args)) => commands::render(&args),
        Some(Command::Compare(args)) => compare::compare(&args),
        Some(Command::Check(args)) => commands::check(&args),
        Some(Command::Convert(args)) => commands::convert(&args),
        Some(Command::Nodes {
            materialx: true, ..
        }) => commands::materialx_nodes(),
        Some(Command::Nodes {
            script: Some(script),
            timeout,
            ..
        }) => commands::nodes_of_script(&script, timeout),
        Some(Command::Nodes { markdown, .. }) => commands::nodes(markdown),
        Some(Command::NewNode { name, dir }) => commands::new_node(&name, &dir),
        Some(Command::PythonWorker(args)) => commands::python_worker(&args),
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Err(Failure::new(failure::EXIT_BAD_SCENE, ""))
        }
    };
    // Python's buffered output reaches the terminal, whatever happened.
    tessera_python::flush_output();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
