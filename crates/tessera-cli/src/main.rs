//! `tessera`: renders node-graph scene files, tile by tile, on every core.

mod commands;
mod diagnostics;
mod failure;
mod nodes_doc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Renders procedural-texture and compositing node graphs from TOML scene
/// files, tile by tile on every core, with identical pixels at any thread count.
///
/// Exit codes: 0 success, 1 an I/O or output failure, 2 a bad scene or bad
/// arguments, 3 a node failed while rendering, 130 interrupted.
#[derive(Parser)]
#[command(name = "tessera", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a scene to an image file.
    Render(commands::RenderArgs),
    /// Check a scene for mistakes without rendering it.
    Check {
        /// The scene file (TOML).
        scene: PathBuf,
    },
    /// List every node type with its inputs, types, defaults and outputs.
    Nodes {
        /// Print Markdown (the source of docs/nodes.md).
        #[arg(long)]
        markdown: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Render(args) => commands::render(&args),
        Command::Check { scene } => commands::check(&scene),
        Command::Nodes { markdown } => commands::nodes(markdown),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
