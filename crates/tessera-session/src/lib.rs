//! A scene loaded with its Python runtime, and its renders: what the
//! `tessera` command and the `tessera` Python package share.
//!
//! - [`read_scene`] and [`load`]: a scene file read, its `[python]`
//!   settings, every node type ([`registry`]) and the compiled plan, or the
//!   located errors ([`diagnostics::render`] prints them as the command
//!   line does).
//! - [`render_frame`]: one frame (or a region of it) of a loaded scene,
//!   with the Python session that render needs.

pub mod diagnostics;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tessera_core::{ColorSpace, Rect, Registry, RowSink};
use tessera_graph::Plan;
use tessera_process::Launch;
use tessera_python::{PythonError, PythonRuntime, PythonSettings, RenderSetup, RunOptions};
use tessera_render::{Progress, RenderError, RenderHooks, RenderOptions, Rendered};
use tessera_scene::{SceneDesc, SceneErrors, SceneSource};

/// Why a scene could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read scene {}: {reason}", .path.display())]
    Read { path: PathBuf, reason: String },
    /// Located errors in the scene's text (or its scripts).
    #[error("{}", diagnostics::render(.scene, .errors))]
    Scene {
        scene: Box<SceneSource>,
        errors: SceneErrors,
    },
}

impl LoadError {
    /// `errors`, located in `source`.
    pub fn located(source: &SceneSource, errors: SceneErrors) -> LoadError {
        LoadError::Scene {
            scene: Box::new(source.clone()),
            errors,
        }
    }
}

/// A compiled scene and its `[python]` settings.
pub struct Loaded {
    pub plan: Plan,
    pub python: PythonSettings,
}

/// The text of the scene file at `path`.
pub fn read_scene(path: &Path) -> Result<SceneSource, LoadError> {
    let bad = |reason: String| LoadError::Read {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(bad("it is a directory".into()));
    }
    let from_stdin = tessera_scene::is_standard_input(path);
    // A device (/dev/zero) would be read without end. A FIFO is read (a
    // pipe: `<(generate-scene)`), under the command's deadline.
    if !from_stdin
        && std::fs::metadata(path).is_ok_and(|m| {
            use std::os::unix::fs::FileTypeExt;
            m.file_type().is_char_device() || m.file_type().is_block_device()
        })
    {
        return Err(bad("it is a device, not a scene file".into()));
    }
    // Standard input is read from its descriptor, not opened again by
    // name: a file given as `< scene.toml` is then read past, as a pipe
    // is, and a node reading standard input reads what is left of it.
    let bytes = if from_stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map(|_| bytes)
    } else {
        std::fs::read(path)
    }
    .map_err(|e| bad(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "it is not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(SceneSource::new(path, text))
}

/// How to read a scene file beyond its text.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// A MaterialX document's output to render (`graph/output`); None for
    /// the first node graph's first output. Only for MaterialX documents
    /// ([`is_materialx_text`]).
    pub output: Option<String>,
    /// The image's width and height, over the scene's `[image]` (a
    /// MaterialX document has none: 1024 x 1024 by default).
    pub size: Option<(u32, u32)>,
    /// Samples per pixel, over the scene's `[image]` (default 1).
    pub samples: Option<u32>,
    /// The seed of every random value, over the scene's `[image]` (default
    /// 0).
    pub seed: Option<u32>,
}

impl Reading {
    /// Sets what this reading overrides in `scene`'s `[image]`: its
    /// samples and seed (the size is set where the scene is read).
    fn apply(&self, scene: &mut SceneDesc) {
        let settings = [("samples", self.samples), ("seed", self.seed)];
        for (name, value) in settings {
            if let Some(value) = value {
                scene.set_image_integer(name, value.into());
            }
        }
    }
}

/// The image size of a MaterialX document rendered without `--size`.
pub const MATERIALX_SIZE: (u32, u32) = (1024, 1024);

/// Whether `path` is a MaterialX document: by its `.mtlx` extension, or,
/// named otherwise (`.xml`), by the start of its text
/// ([`is_materialx_text`]). Only a regular file's text is looked at (a pipe
/// read here would lose what it gives); one that cannot be read is not a
/// document.
pub fn is_materialx(path: &Path) -> bool {
    use std::io::Read;
    if has_materialx_extension(path) {
        return true;
    }
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|file| file.take(1024).read_to_end(&mut head));
    read.is_ok() && is_materialx_text(path, &String::from_utf8_lossy(&head))
}

fn has_materialx_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mtlx"))
}

/// Whether the scene file `path` with `text` is a MaterialX document: a
/// `.mtlx` file, or one whose text starts (after a byte-order mark and
/// blank space) with `<?xml` or `<materialx`: never TOML, which starts with
/// a key, a table, a comment or nothing. A `.mtlx` saved as `.xml` is read
/// as the document it is, not refused as TOML.
pub fn is_materialx_text(path: &Path, text: &str) -> bool {
    let start = text.trim_start_matches('\u{feff}').trim_start();
    has_materialx_extension(path) || start.starts_with("<?xml") || start.starts_with("<materialx")
}

/// The scene `source` describes: its TOML parsed, or its MaterialX
/// document translated ([`tessera_materialx::translate`]); every error
/// located in the file.
pub fn describe(source: &SceneSource, reading: &Reading) -> Result<SceneDesc, LoadError> {
    let located = |errors| LoadError::located(source, errors);
    if is_materialx_text(&source.path, &source.text) {
        let (width, height) = reading.size.unwrap_or(MATERIALX_SIZE);
        let choice = tessera_materialx::Choice {
            base_dir: source.base_dir().to_path_buf(),
            output: reading.output.clone(),
            width,
            height,
        };
        let mut scene =
            tessera_materialx::translate(&source.text, &choice, &tessera_nodes::registry())
                .map_err(located)?;
        reading.apply(&mut scene);
        return Ok(scene);
    }
    if reading.output.is_some() {
        return Err(LoadError::Read {
            path: source.path.clone(),
            reason: "an output is chosen only in a MaterialX document (.mtlx); a TOML scene has one [output]".into(),
        });
    }
    let mut scene = tessera_scene::parse_scene(&source.text).map_err(located)?;
    if let Some(size) = reading.size {
        scene.set_image_size(size);
    }
    reading.apply(&mut scene);
    Ok(scene)
}

/// Reads and compiles `source` (importing its Python scripts, whose nodes
/// belong to `runtime`).
pub fn load(
    source: &SceneSource,
    reading: &Reading,
    options: RunOptions,
    runtime: &PythonRuntime,
) -> Result<Loaded, LoadError> {
    let scene = describe(source, reading)?;
    compile(&scene, source, options, runtime)
}

/// Compiles `scene`, the description of `source` (perhaps changed since it
/// was parsed: the Python package's `Scene.set`).
pub fn compile(
    scene: &SceneDesc,
    source: &SceneSource,
    options: RunOptions,
    runtime: &PythonRuntime,
) -> Result<Loaded, LoadError> {
    let located = |errors| LoadError::located(source, errors);
    let python = tessera_python::python_settings(scene.python.as_ref(), source.base_dir())
        .map_err(located)?;
    // (Its errors are the compiler's to report.)
    if let Some(image) = tessera_graph::image_settings(scene, &mut Vec::new()) {
        runtime.set_load_seed(image.seed);
    }
    let registry = registry(python.clone(), options, runtime.clone());
    let plan = tessera_graph::compile(scene, &registry, source.base_dir()).map_err(located)?;
    Ok(Loaded { plan, python })
}

/// Every node type a scene may use: the built-ins, then `python` and `pynode`.
pub fn registry(settings: PythonSettings, options: RunOptions, runtime: PythonRuntime) -> Registry {
    let mut registry = tessera_nodes::registry();
    for kind in [
        tessera_python::python_kind(settings.clone(), options, runtime.clone()),
        tessera_python::pynode_kind(settings, options, runtime),
    ] {
        registry
            .register(kind)
            .expect("`python` and `pynode` are not built-in names");
    }
    registry
}

/// How to render one frame of a loaded scene.
pub struct FrameRequest {
    /// Render threads (resolved: [`tessera_render::worker_count`]).
    pub threads: usize,
    pub tile_size: u32,
    pub frame: i64,
    /// Only these pixels; None for the whole image.
    pub region: Option<Rect>,
    /// The colour space the pixels are encoded in.
    pub colorspace: ColorSpace,
    /// Memory the caller needs for the result (its encoding, or the image
    /// kept in memory).
    pub output_bytes: u64,
    /// Python's switch interval for this render, when given.
    pub switch_interval: Option<f64>,
    /// How to start worker processes for Python nodes; None: in-process.
    pub processes: Option<Launch>,
}

/// Why a frame did not render.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Python could not be prepared for the render.
    #[error(transparent)]
    Python(#[from] PythonError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Renders one frame of `loaded` into `sink`: prepares Python when the
/// scene has Python nodes (seeds, switch interval, new instances for nodes
/// keeping state, worker processes), renders, and ends the Python session.
/// `cancel` stops the render between tiles; `progress` and `sink` are
/// called on this thread ([`tessera_render::render`]).
pub fn render_frame(
    loaded: &Loaded,
    runtime: &PythonRuntime,
    request: FrameRequest,
    cancel: &Arc<AtomicBool>,
    progress: &mut dyn FnMut(Progress),
    sink: &mut dyn RowSink,
) -> Result<Rendered, FrameError> {
    let plan = &loaded.plan;
    // Only a scene with Python nodes starts Python and needs its session.
    let session = match tessera_python::is_started() {
        true => Some(runtime.begin_render(RenderSetup {
            seed: plan.image.seed,
            switch_interval: request.switch_interval.or(loaded.python.switch_interval),
            threads: request.threads,
            processes: request.processes,
            cancel: cancel.clone(),
        })?),
        false => None,
    };
    let options = RenderOptions {
        threads: request.threads,
        tile_size: request.tile_size,
        frame: request.frame,
        hooks: session.clone().map(|s| s as Arc<dyn RenderHooks>),
        output_bytes: request.output_bytes,
        colorspace: request.colorspace,
        region: request.region,
    };
    let rendered = tessera_render::render(plan, &options, cancel, progress, sink);
    // The render ends (what its worker processes printed written out)
    // before the caller goes on.
    if let Some(session) = &session {
        session.end();
    }
    Ok(rendered?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_materialx_document_is_known_by_its_extension_or_its_start() {
        let xml = Path::new("doc.xml");
        assert!(is_materialx_text(Path::new("doc.MTLX"), ""));
        assert!(is_materialx_text(
            xml,
            "<?xml version=\"1.0\"?>\n<materialx>"
        ));
        assert!(is_materialx_text(
            xml,
            "\u{feff}\n  <materialx version=\"1.39\">"
        ));
        assert!(!is_materialx_text(xml, "[image]\nwidth = 8\n"));
        assert!(!is_materialx_text(
            Path::new("scene.toml"),
            "# <materialx>\n"
        ));
    }
}
