//! The messages between the render process and a worker, one JSON line
//! each (serde_json: no hand-written encoding; a line per message, since
//! JSON escapes every newline inside strings).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tessera_core::{FrameInfo, NodeError, Rect};

/// Render process to worker: evaluate one node over one tile. The inputs'
/// planes are in the shared memory from its start, each buffer's planes
/// after the previous buffer's; the worker writes the outputs' planes after
/// the inputs'.
#[derive(Debug, Serialize, Deserialize)]
pub struct Evaluate {
    /// The scene's id of the node.
    pub node: String,
    pub node_hash: u32,
    pub tile: usize,
    pub rect: (i32, i32, u32, u32),
    pub frame: Frame,
    /// (channels, samples) of each input buffer, in the node's input order.
    pub inputs: Vec<(usize, usize)>,
    /// (channels, samples) of each output buffer.
    pub outputs: Vec<(usize, usize)>,
    /// The shared memory's size in bytes now (it grows with the tiles).
    pub shared_bytes: usize,
}

/// [`FrameInfo`] on the wire; the time as its bits, so it arrives exact.
#[derive(Debug, Serialize, Deserialize)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub samples: u32,
    pub seed: u32,
    pub frame: i64,
    pub time_bits: u32,
}

impl From<&FrameInfo> for Frame {
    fn from(frame: &FrameInfo) -> Frame {
        Frame {
            width: frame.width,
            height: frame.height,
            samples: frame.samples,
            seed: frame.seed,
            frame: frame.frame,
            time_bits: frame.time.to_bits(),
        }
    }
}

impl From<&Frame> for FrameInfo {
    fn from(frame: &Frame) -> FrameInfo {
        FrameInfo {
            width: frame.width,
            height: frame.height,
            samples: frame.samples,
            seed: frame.seed,
            frame: frame.frame,
            time: f32::from_bits(frame.time_bits),
        }
    }
}

impl Evaluate {
    pub fn rect(&self) -> Rect {
        let (x, y, width, height) = self.rect;
        Rect::new(x, y, width, height)
    }
}

/// Worker to render process.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The scene is loaded and every Python node set up.
    Ready,
    /// Loading the scene failed: what the user would have been told.
    SetupFailed(String),
    /// A tile is evaluated; its outputs are in the shared memory.
    Done(Done),
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Done {
    /// Samples (x, y, sample) that failed and are to be painted.
    pub failed_samples: Vec<(i32, i32, u32)>,
    /// Under `--on-error=color`: how many samples this tile painted, and the
    /// first one's (tile, sample) key and message.
    pub painted: usize,
    pub first_painted: Option<(u64, String)>,
    /// Why the tile failed, if it did.
    pub error: Option<WireError>,
}

/// A [`NodeError`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireError {
    pub message: String,
    pub pixel: Option<(i32, i32)>,
    pub detail: Option<String>,
}

impl From<NodeError> for WireError {
    fn from(error: NodeError) -> WireError {
        WireError {
            message: error.message,
            pixel: error.pixel,
            detail: error.detail,
        }
    }
}

impl From<WireError> for NodeError {
    fn from(error: WireError) -> NodeError {
        NodeError {
            message: error.message,
            pixel: error.pixel,
            detail: error.detail,
        }
    }
}

/// What waiting for a message ended with.
pub enum Received<T> {
    Message(T),
    /// The other side closed its end: it exited or died.
    Closed,
    /// The cancel flag was set while waiting.
    Cancelled,
}

/// One end of the control socket.
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
        loop {
            match self.reader.read_until(b'\n', &mut self.line) {
                Ok(0) => return Ok(Received::Closed),
                Ok(_) if self.line.ends_with(b"\n") => {
                    let message = serde_json::from_slice(&self.line)?;
                    self.line.clear();
                    return Ok(Received::Message(message));
                }
                // A line cut short by the end of the stream.
                Ok(_) => return Ok(Received::Closed),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if cancel.load(Ordering::Relaxed) {
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

    #[test]
    fn messages_cross_a_socket_whole_and_in_order_with_exact_times() {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut a, mut b) = (Channel::new(a).unwrap(), Channel::new(b).unwrap());
        let frame = FrameInfo {
            width: 3,
            height: 2,
            samples: 1,
            seed: 9,
            frame: -4,
            time: 0.1f32 + f32::EPSILON,
        };
        let request = Evaluate {
            node: "a \"node\"\nwith a newline".into(),
            node_hash: 7,
            tile: 5,
            rect: (-1, 2, 3, 4),
            frame: Frame::from(&frame),
            inputs: vec![(2, 12)],
            outputs: vec![(4, 12)],
            shared_bytes: 4096,
        };
        a.send(&request).unwrap();
        a.send(&Reply::Ready).unwrap();
        let never = AtomicBool::new(false);
        let Received::Message(got) = b.receive::<Evaluate>(&never).unwrap() else {
            panic!("no request")
        };
        assert_eq!(got.node, request.node);
        assert_eq!(got.rect(), Rect::new(-1, 2, 3, 4));
        assert_eq!(FrameInfo::from(&got.frame), frame);
        assert!(matches!(
            b.receive::<Reply>(&never).unwrap(),
            Received::Message(Reply::Ready)
        ));
        drop(a);
        assert!(matches!(
            b.receive::<Reply>(&never).unwrap(),
            Received::Closed
        ));
    }

    #[test]
    fn a_wait_ends_when_cancelled() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut b = Channel::new(b).unwrap();
        b.poll_cancel().unwrap();
        let cancel = AtomicBool::new(true);
        assert!(matches!(
            b.receive::<Reply>(&cancel).unwrap(),
            Received::Cancelled
        ));
        drop(a);
    }
}
