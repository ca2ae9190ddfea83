//! Printing to standard output and error without panicking: `println!`
//! panics when its stream is closed or full, which would turn a render
//! that succeeded into exit code 101.

use std::io::Write;

use crate::failure::{EXIT_IO, Failure};

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
    write(&format!("{line}\n"))
}

/// Writes `line` and a newline to standard error. A failure is ignored:
/// there is nowhere left to report it, and the exit code still tells.
pub fn error_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
