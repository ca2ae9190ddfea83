//! The TOML scene format, parsed to plain data ([`SceneDesc`]) in which every
//! key and value keeps its byte span in the file, so that later stages can
//! point at the exact text they reject.
//!
//! This crate checks the shape of a scene (which tables exist, what a node
//! table must hold); whether a node type or an input exists is the graph
//! compiler's business.

// A Diagnostic is large, but it is built only on the cold path (once per
// mistake in a scene); boxing it everywhere would only add noise.
#![allow(clippy::result_large_err)]

mod diagnostic;
mod parse;
mod write;

pub use diagnostic::{Diagnostic, DiagnosticKind, SceneErrors};
pub use parse::{parse_scene, string_value};
pub use write::write_scene;

use std::ops::Range;
use std::path::{Path, PathBuf};

/// A byte range in the scene text.
pub type Span = Range<usize>;

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

/// A scene file's path and text.
#[derive(Clone, Debug)]
pub struct SceneSource {
    pub path: PathBuf,
    pub text: String,
    /// Where its relative paths start ([`SceneSource::base_dir`]).
    base: PathBuf,
}

impl SceneSource {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> SceneSource {
        let path = path.into();
        // Absolute, as of now: whatever folder the process (or a worker
        // process, given its text) is in later, the same files.
        let base = if is_standard_input(&path) {
            // The folder it was read in.
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
        } else {
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
        };
        SceneSource {
            path,
            text: text.into(),
            base,
        }
    }

    /// A scene read before, elsewhere: its relative paths start from
    /// `base` as they did there, not from this process's folder (a Scene
    /// unpickled in another process).
    pub fn with_base(
        path: impl Into<PathBuf>,
        text: impl Into<String>,
        base: impl Into<PathBuf>,
    ) -> SceneSource {
        SceneSource {
            path: path.into(),
            text: text.into(),
            base: base.into(),
        }
    }

    /// The directory relative paths in the scene start from: the scene
    /// file's, or for a scene read from standard input, the folder it was
    /// read in.
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    /// The scene file's path, absolute as of reading (for a scene read
    /// from standard input, its name alone).
    pub fn absolute_path(&self) -> PathBuf {
        match self.path.file_name() {
            Some(name) if !is_standard_input(&self.path) => self.base.join(name),
            _ => self.path.clone(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }
}

/// Whether `path` names this process's standard input, which a scene can be
/// read from (`tessera render /dev/stdin < scene.toml`).
pub fn is_standard_input(path: &Path) -> bool {
    ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"]
        .iter()
        .any(|name| path == Path::new(name))
}

/// A parameter value as written: a link (`"@id"` or `"@id.output"`) or a constant.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Link(Link),
    Boolean(bool),
    Integer(i64),
    Float(f64),
    String(String),
    Array(Vec<Spanned<ParamValue>>),
    Table(Vec<Param>),
}

impl ParamValue {
    /// How the value is described in messages ("an array of 3 numbers").
    pub fn describe(&self) -> String {
        match self {
            ParamValue::Link(link) => format!("a link to {link}"),
            ParamValue::Boolean(_) => "a boolean".to_string(),
            ParamValue::Integer(_) => "an integer".to_string(),
            ParamValue::Float(_) => "a number".to_string(),
            ParamValue::String(_) => "a string".to_string(),
            ParamValue::Array(items) if items.len() == 1 => "an array of 1 item".to_string(),
            ParamValue::Array(items) => format!("an array of {} items", items.len()),
            ParamValue::Table(_) => "a table".to_string(),
        }
    }
}

/// A link to another node's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub node: String,
    /// `None` for the node's first output.
    pub output: Option<String>,
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.output {
            Some(output) => write!(f, "@{}.{}", self.node, output),
            None => write!(f, "@{}", self.node),
        }
    }
}

/// `name = value` in a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Spanned<String>,
    pub value: Spanned<ParamValue>,
}

/// `[nodes.ID]`: a node of `type` with its parameters (every key but `type`
/// and `value_type`).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeDesc {
    pub id: Spanned<String>,
    pub type_name: Spanned<String>,
    /// `value_type`: the type a generic node works on, where it must not be
    /// inferred from its inputs (a MaterialX node's `type`: a vector3 `add`
    /// of two constants, which would be read as colours).
    pub value_type: Option<Spanned<String>>,
    pub params: Vec<Param>,
}

/// A table of parameters (`[image]`, `[output]`, `[python]`) and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// The span of the table's header (or of its key, for inline tables).
    pub span: Span,
    pub params: Vec<Param>,
}

impl Section {
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name.value == name)
    }
}

/// A parsed scene: data only, nothing checked against node types yet.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneDesc {
    pub image: Option<Section>,
    pub nodes: Vec<NodeDesc>,
    pub output: Option<Section>,
    pub python: Option<Section>,
    /// The span of the whole document (for errors about what is missing).
    pub span: Span,
}

impl SceneDesc {
    /// Sets `[image]` width and height (`--size`), keeping its other keys.
    pub fn set_image_size(&mut self, (width, height): (u32, u32)) {
        self.set_image_integer("width", width.into());
        self.set_image_integer("height", height.into());
    }

    /// Sets the `[image]` setting `name` to `value`, over the scene's own
    /// (the command line's `--samples`, `--seed`).
    pub fn set_image_integer(&mut self, name: &str, value: i64) {
        let span = self.span.start..self.span.start;
        let image = self.image.get_or_insert_with(|| Section {
            span: span.clone(),
            params: Vec::new(),
        });
        image.params.retain(|p| p.name.value != name);
        image.params.push(Param {
            name: Spanned::new(name.to_string(), span.clone()),
            value: Spanned::new(ParamValue::Integer(value), span),
        });
    }
}
