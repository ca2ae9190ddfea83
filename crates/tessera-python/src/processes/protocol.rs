//! The messages between the render process and a worker, one JSON line
//! each way per tile over a [`tessera_process::Channel`].

use serde::{Deserialize, Serialize};
use tessera_core::{FrameInfo, NodeError, Rect, ScriptLine};

/// Render process to worker, over the worker's socket, in order. A worker
/// serves every render of its scene that its render process makes with the
/// same options (each frame of `--frames`, each `render()` of a Scene in the
/// package): each render is a `Begin`, its tiles, and an `End`.
/// (The render process sends its tiles by reference, `Request<&Evaluate>`.)
#[derive(Debug, Serialize, Deserialize)]
pub enum Request<E = Evaluate> {
    /// A render begins; answered on the worker's socket by
    /// [`Reply::Ready`], [`Reply::RenewFailed`] or [`Reply::SetupFailed`].
    Begin(Begin),
    /// A tile, answered by [`Reply::Done`] on its lane's socket.
    Evaluate(E),
    /// The render is over: the worker writes out what its nodes printed and
    /// answers [`Reply::Ended`] on its socket.
    End,
}

/// What a render asks of Python in each interpreter, as of the render
/// process's own ([`crate::PythonRuntime::prepare_interpreter`]): nodes that kept
/// state given new instances, `random` seeded, the switch interval set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Begin {
    pub seed: u32,
    /// Seconds, as the f64's bits, so that they arrive exact; None keeps
    /// what the interpreter has.
    pub switch_interval_bits: Option<u64>,
}

impl Begin {
    pub fn new(seed: u32, switch_interval: Option<f64>) -> Begin {
        Begin {
            seed,
            switch_interval_bits: switch_interval.map(f64::to_bits),
        }
    }

    pub fn switch_interval(&self) -> Option<f64> {
        self.switch_interval_bits.map(f64::from_bits)
    }
}

/// Render process to worker: evaluate one node over one tile. The inputs'
/// planes are in the lane's shared memory from its start, each buffer's planes
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
    /// Which of the worker's lanes the tile came by: the shared memory
    /// holding its planes, and the socket its reply goes back on.
    pub lane: usize,
    /// The request's number (counted per worker, over every process
    /// started for it), which the worker notes in the lane's memory as it
    /// starts it.
    pub request: u64,
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
    pub fps_bits: u32,
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
            fps_bits: frame.fps.to_bits(),
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
            fps: f32::from_bits(frame.fps_bits),
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
    /// The scene is loaded and every Python node set up; or a render's
    /// [`Request::Begin`] or [`Request::End`] is done.
    Ready,
    /// Loading the scene, or preparing Python for a render, failed: what
    /// the user would have been told.
    SetupFailed(String),
    /// A node's new instance for the render failed to set up
    /// ([`crate::PythonError::Setup`]): what the user is told, as in the
    /// render process.
    RenewFailed(String),
    /// A tile is evaluated; its outputs are in the shared memory.
    Done(Done),
    /// A render's [`Request::End`] is done; the threads its nodes left
    /// running, as the render process names its own.
    Ended { lingering: Vec<String> },
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
    pub script_line: Option<(String, u32)>,
}

impl From<NodeError> for WireError {
    fn from(error: NodeError) -> WireError {
        WireError {
            message: error.message,
            pixel: error.pixel,
            detail: error.detail,
            script_line: error.script_line.map(|s| (s.script, s.line)),
        }
    }
}

impl From<WireError> for NodeError {
    fn from(error: WireError) -> NodeError {
        NodeError {
            message: error.message,
            pixel: error.pixel,
            detail: error.detail,
            script_line: error
                .script_line
                .map(|(script, line)| ScriptLine { script, line }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_crosses_exactly() {
        let frame = FrameInfo {
            width: 3,
            height: 2,
            samples: 1,
            seed: 9,
            frame: -4,
            time: 0.1f32 + f32::EPSILON,
            fps: 23.976,
        };
        let text = serde_json::to_string(&Frame::from(&frame)).unwrap();
        let back: Frame = serde_json::from_str(&text).unwrap();
        assert_eq!(FrameInfo::from(&back), frame);
    }

    #[test]
    fn a_switch_interval_crosses_exactly() {
        let begin = Begin::new(7, Some(0.1 + 1e-17 + f64::EPSILON));
        let text = serde_json::to_string(&Request::<&Evaluate>::Begin(begin)).unwrap();
        let Request::Begin(back) = serde_json::from_str::<Request>(&text).unwrap() else {
            panic!("{text} is not a Begin");
        };
        assert_eq!(back, begin);
        assert_eq!(back.switch_interval(), Some(0.1 + 1e-17 + f64::EPSILON));
        assert_eq!(Begin::new(0, None).switch_interval(), None);
    }
}
