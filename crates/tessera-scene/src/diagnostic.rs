//! Located errors, shared by the parser and the graph compiler.

use crate::Span;
use std::fmt;

/// What kind of mistake a diagnostic reports (for tests and tools; users read
/// the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagnosticKind {
    Syntax,
    Structure,
    UnknownNodeType,
    UnknownInput,
    WrongType,
    OutOfRange,
    BadLink,
    Cycle,
    MissingOutput,
    BadImageSize,
    BuildFailed,
}

/// One located error: a message, the text it is about, and optional notes.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    pub message: String,
    /// The offending text; `None` only when the file itself is at fault.
    pub span: Option<Span>,
    /// What to say under the underlined text.
    pub label: String,
    /// Other places worth showing (the rest of a cycle, say).
    pub related: Vec<(Span, String)>,
    /// Lines printed after the snippet ("help: did you mean `noise2d`?").
    pub notes: Vec<String>,
    /// Text printed as it is after everything else (a Python traceback).
    pub detail: Option<String>,
}

impl Diagnostic {
    pub fn new(kind: DiagnosticKind, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            kind,
            message: message.into(),
            span: Some(span),
            label: String::new(),
            related: Vec::new(),
            notes: Vec::new(),
            detail: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Diagnostic {
        self.detail = Some(detail.into());
        self
    }

    pub fn related(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.related.push((span, label.into()));
        self
    }
}

/// Everything wrong with a scene, in the order it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneErrors(pub Vec<Diagnostic>);

impl fmt::Display for SceneErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<&str> = self.0.iter().map(|d| d.message.as_str()).collect();
        f.write_str(&messages.join("; "))
    }
}

impl std::error::Error for SceneErrors {}

impl From<Diagnostic> for SceneErrors {
    fn from(d: Diagnostic) -> SceneErrors {
        SceneErrors(vec![d])
    }
}
