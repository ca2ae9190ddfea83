//! Python exceptions as located reports.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTraceback};
use std::path::Path;

/// An exception, ready to print: what it was, the line of the user's script
/// it came from, and the full traceback with source lines.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionReport {
    /// `ZeroDivisionError: division by zero`.
    pub summary: String,
    /// The line of `script` where it was raised (its deepest frame there).
    pub line: Option<u32>,
    /// `Traceback (most recent call last): ...`.
    pub traceback: String,
}

impl ExceptionReport {
    /// Describes `err`, locating it in `script` (a canonical path).
    pub fn new(py: Python, err: &PyErr, script: &Path) -> ExceptionReport {
        let value = err.value(py);
        let type_name = err
            .get_type(py)
            .qualname()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "Exception".into());
        let message = value.str().map(|s| s.to_string()).unwrap_or_default();
        let summary = if message.is_empty() {
            type_name.clone()
        } else {
            format!("{type_name}: {message}")
        };
        let script_name = script.to_string_lossy();
        let line = syntax_error_line(value, &script_name)
            .or_else(|| deepest_line(py, err.traceback(py), &script_name));
        let traceback = format_traceback(py, err).unwrap_or_else(|| summary.clone());
        ExceptionReport {
            summary,
            line,
            traceback,
        }
    }
}

/// A SyntaxError's own line, when it is in `script`.
fn syntax_error_line(value: &Bound<PyAny>, script: &str) -> Option<u32> {
    let filename: String = value.getattr("filename").ok()?.extract().ok()?;
    if filename != script {
        return None;
    }
    value.getattr("lineno").ok()?.extract().ok()
}

/// The line of the last traceback frame that runs in `script`.
fn deepest_line(py: Python, traceback: Option<Bound<PyTraceback>>, script: &str) -> Option<u32> {
    let frames = py
        .import("traceback")
        .ok()?
        .call_method1("extract_tb", (traceback?,))
        .ok()?;
    let mut line = None;
    for frame in frames.try_iter().ok()? {
        let frame = frame.ok()?;
        let filename: String = frame.getattr("filename").ok()?.extract().ok()?;
        if filename == script {
            line = frame.getattr("lineno").ok()?.extract().ok();
        }
    }
    line
}

/// `traceback.format_exception(type, value, tb)`: all three are needed, as
/// on 3.11 the value alone may lack `__traceback__`.
fn format_traceback(py: Python, err: &PyErr) -> Option<String> {
    let lines = py
        .import("traceback")
        .ok()?
        .call_method1(
            "format_exception",
            (err.get_type(py), err.value(py), err.traceback(py)),
        )
        .ok()?;
    // Lossy: a message may hold what UTF-8 cannot (a lone surrogate from
    // bytes decoded with surrogateescape), and the traceback is still told.
    let lines: Vec<String> = (lines.try_iter().ok()?)
        .map(|line| {
            Some(
                line.ok()?
                    .cast_into::<PyString>()
                    .ok()?
                    .to_string_lossy()
                    .into_owned(),
            )
        })
        .collect::<Option<_>>()?;
    // Frames of the import machinery say nothing about the user's script.
    let lines: Vec<String> = lines
        .into_iter()
        .filter(|l| !l.starts_with("  File \"<frozen importlib"))
        .collect();
    Some(lines.concat().trim_end().to_string())
}

/// Whether `err` is a KeyboardInterrupt (Ctrl-C).
pub fn is_interrupt(py: Python, err: &PyErr) -> bool {
    err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py)
}
