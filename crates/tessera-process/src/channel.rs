//! One end of a Unix socket between two Tessera processes, carrying one
//! JSON message per line (serde_json: no hand-written encoding; a line per
//! message works because JSON escapes every newline inside strings).

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What waiting for a message ended with.
pub enum Received<T> {
    Message(T),
    /// The other side closed its end: it exited or died.
    Closed,
    /// The cancel flag was set while waiting.
    Cancelled,
}

/// One end of the socket.
pub struct Channel {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    line: Vec<u8>,
}

/// How often a wait for a reply looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(25);

impl Channel {
    pub fn new(stream: UnixStream) -> io::Result<Channel> {
        let reader = stream.try_clone()?;
        Ok(Channel {
            writer: stream,
            reader: BufReader::new(reader),
            line: Vec::new(),
        })
    }

    /// Makes [`Channel::receive`] look at its cancel flag while it waits.
    pub fn poll_cancel(&self) -> io::Result<()> {
        self.reader.get_ref().set_read_timeout(Some(CANCEL_POLL))
    }

    pub fn send<T: Serialize>(&mut self, message: &T) -> io::Result<()> {
        let mut bytes = serde_json::to_vec(message)?;
        bytes.push(b'\n');
        self.writer.write_all(&bytes)
    }

    /// The next message; a partial line survives a poll of `cancel`.
    pub fn receive<T: DeserializeOwned>(&mut self, cancel: &AtomicBool) -> io::Result<Received<T>> {
        self.receive_while(|| !cancel.load(Ordering::Relaxed))
    }

    /// The next message, as [`Channel::receive_while`] gives it, past the
    /// lines that are none: what a node wrote into the socket (to a
    /// descriptor it did not open) is skipped, and the other side's own
    /// messages still count.
    pub fn receive_past_strays<T: DeserializeOwned>(
        &mut self,
        mut waiting: impl FnMut() -> bool,
    ) -> io::Result<Received<T>> {
        loop {
            match self.receive_while(&mut waiting) {
                Err(e) if e.kind() == ErrorKind::InvalidData => {}
                received => return received,
            }
        }
    }

    /// The next message, or [`Received::Cancelled`] once `waiting` says no
    /// at one of the polls [`Channel::poll_cancel`] makes.
    pub fn receive_while<T: DeserializeOwned>(
        &mut self,
        mut waiting: impl FnMut() -> bool,
    ) -> io::Result<Received<T>> {
        loop {
            match self.reader.read_until(b'\n', &mut self.line) {
                Ok(0) => return Ok(Received::Closed),
                Ok(_) if self.line.ends_with(b"\n") => {
                    // A line that is not a message (something else wrote to
                    // the socket) is an error, InvalidData, and is gone: the
                    // next call reads the next line.
                    let message = serde_json::from_slice(&self.line);
                    self.line.clear();
                    return Ok(Received::Message(message?));
                }
                // A line cut short by the end of the stream.
                Ok(_) => return Ok(Received::Closed),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if !waiting() {
                        return Ok(Received::Cancelled);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Message {
        Text(String),
        Number(f32),
        Ready,
    }

    #[test]
    fn messages_cross_whole_and_in_order() {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut a, mut b) = (Channel::new(a).unwrap(), Channel::new(b).unwrap());
        let sent = [
            Message::Text("a \"quoted\"\nline".into()),
            Message::Number(0.1 + f32::EPSILON),
            Message::Ready,
        ];
        for message in &sent {
            a.send(message).unwrap();
        }
        let never = AtomicBool::new(false);
        for message in &sent {
            match b.receive::<Message>(&never).unwrap() {
                Received::Message(got) => assert_eq!(&got, message),
                _ => panic!("no message"),
            }
        }
        drop(a);
        assert!(matches!(
            b.receive::<Message>(&never).unwrap(),
            Received::Closed
        ));
    }

    #[test]
    fn a_line_that_is_no_message_is_an_error_and_the_next_message_still_comes() {
        use std::io::Write;
        let (mut a, b) = UnixStream::pair().unwrap();
        let mut b = Channel::new(b).unwrap();
        a.write_all(b"garbage\n").unwrap();
        let mut a = Channel::new(a).unwrap();
        a.send(&Message::Ready).unwrap();
        let never = AtomicBool::new(false);
        let first = b.receive::<Message>(&never);
        assert!(matches!(first, Err(e) if e.kind() == std::io::ErrorKind::InvalidData));
        assert!(matches!(
            b.receive::<Message>(&never).unwrap(),
            Received::Message(Message::Ready)
        ));
        // Past such lines, the message after them.
        a.writer.write_all(b"more garbage\nand more\n").unwrap();
        a.send(&Message::Number(2.0)).unwrap();
        assert!(matches!(
            b.receive_past_strays::<Message>(|| true).unwrap(),
            Received::Message(Message::Number(n)) if n == 2.0
        ));
    }

    #[test]
    fn a_wait_ends_when_cancelled() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut b = Channel::new(b).unwrap();
        b.poll_cancel().unwrap();
        let cancel = AtomicBool::new(true);
        assert!(matches!(
            b.receive::<Message>(&cancel).unwrap(),
            Received::Cancelled
        ));
        drop(a);
    }
}
