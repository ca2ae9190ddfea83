//! How a command fails: the message printed and the exit code.

use std::process::ExitCode;

/// Exit codes, as documented in `tessera --help` and the README.
pub const EXIT_IO: u8 = 1;
pub const EXIT_BAD_SCENE: u8 = 2;
pub const EXIT_NODE_FAILED: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;
/// As `timeout(1)`.
pub const EXIT_TIMEOUT: u8 = 124;

/// A failed command: what to print on stderr, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// An error chain printed as `error: outer: inner`.
    pub fn from_error(code: u8, error: anyhow::Error) -> Failure {
        Failure::new(code, format!("error: {error:#}"))
    }

    /// The failure of frame `frame` of a range: its message says so.
    pub fn in_frame(self, frame: i64) -> Failure {
        let message = (self.message).replacen("error: ", &format!("error: frame {frame}: "), 1);
        Failure::new(self.code, message)
    }

    pub fn report(self) -> ExitCode {
        let message = self.message.trim_end();
        if !message.is_empty() {
            crate::terminal::error_line(message);
        }
        ExitCode::from(self.code)
    }
}
