//! Printing to standard output and error without panicking: `println!`
//! panics when its stream is closed or full, which would turn a render
//! that succeeded into exit code 101.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use crate::failure::{EXIT_IO, Failure};

/// Set (to 1) in the environment of a child whose supervisor draws a
/// progress bar on the terminal: a line the child (or a Python node in it,
/// `tessera._LineWriter`) writes to a terminal then first erases the line
/// the bar is drawn on.
pub const PROGRESS_BAR_VARIABLE: &str = "TESSERA_PROGRESS_BAR";

/// Returns to the start of the line and erases it.
const ERASE_LINE: &str = "\r\x1b[2K";

/// What goes before a line written to `stream`: [`ERASE_LINE`] where a
/// supervisor's bar is drawn on the terminal `stream` is, else nothing.
fn before_line(stream: &impl IsTerminal) -> &'static str {
    let bar_drawn = std::env::var_os(PROGRESS_BAR_VARIABLE).is_some_and(|v| v == "1");
    if bar_drawn && stream.is_terminal() {
        ERASE_LINE
    } else {
        ""
    }
}

/// Writes `text` to standard output as it is. A reader that stopped early
/// (`| head`) is no error; any other failure (a full disk under `> file`)
/// is an output failure, exit code 1.
pub fn write(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::new(
            EXIT_IO,
            format!("error: cannot write to standard output: {e}"),
        )),
        _ => Ok(()),
    }
}

/// Writes `line` and a newline to standard output, as [`write`].
pub fn line(line: &str) -> Result<(), Failure> {
    write(&format!("{}{line}\n", before_line(&std::io::stdout())))
}

/// Writes `line` and a newline to standard error, its control characters
/// but newlines and tabs, and the bidirectional overrides, escaped
/// (`\u{1b}`): messages quote the scene and what its code raised, whose
/// escape sequences would otherwise move the cursor, clear the screen or
/// recolour the terminal, and whose overrides would show text reordered.
/// A failure is ignored:
/// there is nowhere left to report it, and the exit code still tells.
pub fn error_line(line: &str) {
    let stderr = std::io::stderr();
    let before = before_line(&stderr);
    let _ = writeln!(stderr.lock(), "{before}{}", escape_controls(line));
}

fn escape_controls(text: &str) -> Cow<'_, str> {
    let is_escaped = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.contains(is_escaped) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_escaped(c) {
            escaped.extend(c.escape_debug());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_but_newlines_and_tabs_are_escaped() {
        assert_eq!(escape_controls("plain\tline\n"), "plain\tline\n");
        assert_eq!(
            escape_controls("`x\u{1b}[2J` \r\u{7f}\u{9b}é"),
            "`x\\u{1b}[2J` \\r\\u{7f}\\u{9b}é"
        );
        assert_eq!(
            escape_controls("a\u{202e}b\u{2066}"),
            "a\\u{202e}b\\u{2066}"
        );
    }
}
