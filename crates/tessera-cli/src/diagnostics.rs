//! Scene diagnostics printed with the offending text underlined.

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};
use tessera_scene::{SceneErrors, SceneSource};

/// Renders every diagnostic as `error: message` with a `file:line:column`
/// pointer and the source line underlined.
pub fn render(source: &SceneSource, errors: &SceneErrors) -> String {
    let file = SimpleFile::new(source.path.display().to_string(), source.text.as_str());
    let config = Config::default();
    let mut out = String::new();
    for d in &errors.0 {
        let mut labels = Vec::new();
        if let Some(span) = &d.span {
            labels
                .push(Label::primary((), clamp(span.clone(), &source.text)).with_message(&d.label));
        }
        for (span, label) in &d.related {
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

/// Keeps a span inside the text (an error at the very end of a file).
fn clamp(span: std::ops::Range<usize>, text: &str) -> std::ops::Range<usize> {
    span.start.min(text.len())..span.end.min(text.len())
}
