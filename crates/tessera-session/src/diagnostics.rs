//! Scene diagnostics printed with the offending text underlined.

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};
use tessera_scene::{SceneErrors, SceneSource};

/// Source lines longer than this are not printed under a message: a 10 MB
/// string constant would otherwise be copied to the terminal, twice.
const LONGEST_SHOWN_LINE: usize = 400;

/// Related places shown per message at most (a cycle through 10,000 nodes).
const MOST_RELATED: usize = 8;

/// Renders every diagnostic as `error: message` with a `file:line:column`
/// pointer and the source line underlined.
pub fn render(source: &SceneSource, errors: &SceneErrors) -> String {
    let file = SimpleFile::new(source.path.display().to_string(), source.text.as_str());
    let config = Config::default();
    let mut out = String::new();
    for d in &errors.0 {
        if let Some(span) = &d.span
            && line_length(&source.text, span.start) > LONGEST_SHOWN_LINE
        {
            let (line, column) = source.line_col(span.start);
            out.push_str(&format!(
                "error: {}\n  ┌─ {}:{line}:{column}\n  (line {line} is {} characters long; not shown)\n",
                d.message,
                source.path.display(),
                line_length(&source.text, span.start)
            ));
            for note in &d.notes {
                out.push_str(&format!("  = help: {note}\n"));
            }
            out.push('\n');
            continue;
        }
        let mut labels = Vec::new();
        if let Some(span) = &d.span {
            labels
                .push(Label::primary((), clamp(span.clone(), &source.text)).with_message(&d.label));
        }
        for (span, label) in d.related.iter().take(MOST_RELATED) {
            labels
                .push(Label::secondary((), clamp(span.clone(), &source.text)).with_message(label));
        }
        let diagnostic = Diagnostic::error()
            .with_message(&d.message)
            .with_labels(labels)
            .with_notes(d.notes.iter().map(|n| format!("help: {n}")).collect());
        if term::emit_to_string(&mut out, &config, &file, &diagnostic).is_err() {
            // A span codespan cannot place: still say what and where.
            let (line, column) = d.span.as_ref().map_or((1, 1), |s| source.line_col(s.start));
            out.push_str(&format!(
                "error: {}\n  --> {}:{line}:{column}\n",
                d.message,
                source.path.display()
            ));
        }
        if let Some(detail) = &d.detail {
            out.push_str(detail.trim_end());
            out.push_str("\n\n");
        }
    }
    let count = errors.0.len();
    out.push_str(&format!(
        "{} in {}\n",
        if count == 1 {
            "1 error".to_string()
        } else {
            format!("{count} errors")
        },
        source.path.display()
    ));
    out
}

/// The length in characters of the line holding byte `offset`.
fn line_length(text: &str, offset: usize) -> usize {
    let offset = char_boundary(text, offset);
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    text[start..end].chars().count()
}

/// Keeps a span inside the text (an error at the very end of a file), on
/// character boundaries.
fn clamp(span: std::ops::Range<usize>, text: &str) -> std::ops::Range<usize> {
    char_boundary(text, span.start)..char_boundary(text, span.end)
}

/// `offset` within `text`, moved back to the start of the character it is in.
fn char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
