//! The worker's side: serving tiles for the render process that started it.

use crate::PythonError;
use crate::call::{OutputPlanes, Slot};
use crate::processes::protocol::{Done, Evaluate, Reply, Request};
use crate::processes::shared::SharedTiles;
use crate::runtime::PythonRuntime;
use pyo3::prelude::*;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::AtomicBool;
use tessera_core::{Buffer, BufferPool, FrameInfo, NodeError, SampleFailures, TileCtx};
use tessera_process::{Channel, Received, StopSignal};

/// A worker process's connection to its render process, from the
/// descriptors it inherited. Load the scene into a [`PythonRuntime`], then
/// [`WorkerConnection::serve`] it (or say why it failed to load with
/// [`WorkerConnection::setup_failed`]).
pub struct WorkerConnection {
    /// Tiles from the render process, in the order they were sent.
    channel: Channel,
    /// Each of the pool's lanes to this worker: the memory holding its
    /// tile's planes, and the socket its replies go back on.
    lanes: Vec<(SharedTiles, Channel)>,
    /// Input buffers kept from one request to the next: fresh large
    /// allocations cost page faults every tile. (Outputs are written
    /// straight into the lane's shared memory.)
    pool: BufferPool,
}

impl WorkerConnection {
    /// The connection this process was started with, or why there is none
    /// (it was not started by a render process). A worker's allocator then
    /// keeps the memory its tiles free ([`tessera_process::keep_freed_memory`]:
    /// a worker of the Python package is a `python` process, not `tessera`).
    pub fn inherited() -> Result<WorkerConnection, PythonError> {
        let not_a_worker = || {
            PythonError::Workers(
                "this command is run by `tessera render --python-workers processes`, not by hand"
                    .into(),
            )
        };
        let (channel, fds) = tessera_process::inherited().ok_or_else(not_a_worker)?;
        if fds.is_empty() || fds.len() % 2 != 0 {
            return Err(not_a_worker());
        }
        let mut lanes = Vec::with_capacity(fds.len() / 2);
        for lane in fds.chunks_exact(2) {
            // SAFETY: the render process handed these descriptors (a memfd
            // and a socket per lane) to this process for this connection
            // alone, and nothing else adopts them.
            let (shared, replies) = unsafe {
                (
                    SharedTiles::inherited(lane[0]),
                    UnixStream::from_raw_fd(lane[1]),
                )
            };
            let replies = Channel::new(replies).map_err(|e| {
                PythonError::Workers(format!("cannot use the render process's socket: {e}"))
            })?;
            lanes.push((shared, replies));
        }
        tessera_process::keep_freed_memory();
        Ok(WorkerConnection {
            channel,
            lanes,
            pool: BufferPool::default(),
        })
    }

    /// Tells the render process that the scene did not load, and why.
    pub fn setup_failed(mut self, message: &str) {
        let _ = self.channel.send(&Reply::SetupFailed(message.to_string()));
    }

    /// Serves `runtime`'s scene, render after render, until the render
    /// process closes the connection.
    pub fn serve(mut self, runtime: &PythonRuntime) -> Result<(), PythonError> {
        let lost = |e: std::io::Error| {
            PythonError::Workers(format!("lost the render process's connection: {e}"))
        };
        if crate::is_started() {
            Python::attach(worker_streams).map_err(|e| PythonError::Prepare(e.to_string()))?;
        }
        // The render process interrupts a worker when the render is
        // cancelled: the node running stops with KeyboardInterrupt, as in
        // process, and its reply names the pixel and the line.
        let _ = tessera_process::on_stop_signals(&[StopSignal::Interrupt], |_| crate::interrupt());
        self.channel.send(&Reply::Ready).map_err(lost)?;
        let never = AtomicBool::new(false);
        loop {
            let request = match self.channel.receive::<Request>(&never).map_err(lost)? {
                Received::Message(request) => request,
                Received::Closed | Received::Cancelled => return Ok(()),
            };
            match request {
                Request::Begin(begin) => {
                    // As the render process prepared its own.
                    let prepared = match crate::is_started() {
                        true => runtime.prepare_interpreter(&begin),
                        false => Ok(()),
                    };
                    let reply = match prepared {
                        Ok(()) => Reply::Ready,
                        Err(PythonError::Setup(message)) => Reply::RenewFailed(message),
                        Err(e) => Reply::SetupFailed(e.to_string()),
                    };
                    self.channel.send(&reply).map_err(lost)?;
                }
                Request::Evaluate(request) => {
                    let done = self.evaluate(runtime, &request);
                    // A failed tile stops the render, which may stop this
                    // worker before its End: what the node printed without
                    // a newline goes out now, as the render process's own
                    // would at its exit.
                    if done.error.is_some() {
                        crate::flush_output();
                    }
                    match self.lanes.get_mut(request.lane) {
                        Some((_, replies)) => replies.send(&Reply::Done(done)).map_err(lost)?,
                        None => {
                            return Err(PythonError::Workers(format!(
                                "the render process sent a tile by lane {}, which this worker lacks",
                                request.lane
                            )));
                        }
                    }
                }
                Request::End => {
                    crate::flush_output();
                    let lingering = crate::lingering_threads();
                    self.channel
                        .send(&Reply::Ended { lingering })
                        .map_err(lost)?;
                }
            }
        }
    }

    fn evaluate(&mut self, runtime: &PythonRuntime, request: &Evaluate) -> Done {
        let failed = |error: NodeError| Done {
            failed_samples: Vec::new(),
            painted: 0,
            first_painted: None,
            error: Some(error.into()),
        };
        let Some(node) = runtime.node(&request.node) else {
            return failed(NodeError::new(format!(
                "the worker process has no Python node `{}`",
                request.node
            )));
        };
        let Some((shared, _)) = self.lanes.get_mut(request.lane) else {
            return failed(NodeError::new(format!(
                "the worker process has no lane {}",
                request.lane
            )));
        };
        if let Err(e) = shared.map_bytes(request.shared_bytes) {
            return failed(NodeError::new(format!(
                "cannot map the shared tile memory: {e}"
            )));
        }
        // Before anything that may end this process: the render process
        // then knows which tile did.
        shared.set_started(request.request);
        let mapped = shared.len();
        let memory = shared.floats();
        let varying = (node.core.slots.iter())
            .filter(|slot| matches!(slot, Slot::Varying))
            .count();
        let channels: Vec<Option<usize>> = (node.core.outputs.iter())
            .map(|(_, ty)| ty.channels())
            .collect();
        let input_floats = match checked_planes(request, varying, &channels, memory.len()) {
            Ok(input_floats) => input_floats,
            Err(why) => {
                return failed(NodeError::new(format!(
                    "the render process sent a tile the worker cannot take ({mapped} bytes shared): {why}"
                )));
            }
        };
        let (input_memory, mut output_memory) = memory.split_at_mut(input_floats);
        let pool = &mut self.pool;
        let mut at = 0;
        let inputs: Vec<Buffer> = request
            .inputs
            .iter()
            .map(|&(channels, len)| {
                let planes = &input_memory[at..at + channels * len];
                at += planes.len();
                pool.build(channels, |data| data.extend_from_slice(planes))
            })
            .collect();
        let input_refs: Vec<&Buffer> = inputs.iter().collect();
        // Written where the render process reads them.
        let mut outputs: Vec<OutputPlanes> = request
            .outputs
            .iter()
            .map(|&(channels, len)| {
                let (data, rest) = std::mem::take(&mut output_memory).split_at_mut(channels * len);
                output_memory = rest;
                OutputPlanes { data, channels }
            })
            .collect();
        let frame = FrameInfo::from(&request.frame);
        let failures = SampleFailures::default();
        let ctx = TileCtx {
            frame: &frame,
            rect: request.rect(),
            tile_index: request.tile,
            node_id: &request.node,
            node_hash: request.node_hash,
            failures: &failures,
            share: None,
        };
        let result = node.evaluate_alone(&ctx, &input_refs, &mut outputs);
        crate::interpreter::exit_if_forked();
        for buffer in inputs {
            pool.recycle(buffer);
        }
        let (painted, first_painted) = node.core.take_painted();
        Done {
            failed_samples: failures.take(),
            painted,
            first_painted,
            error: result.err().map(Into::into),
        }
    }
}

/// Checks that the planes `request` names are those a node of `varying`
/// varying inputs and outputs of `output_channels` reads and writes over
/// the tile, and fit `floats` of shared memory; gives the floats of the
/// inputs. The render process is trusted, but a mistake in it must fail
/// the tile, not panic the worker or leave a previous tile's samples where
/// outputs go.
fn checked_planes(
    request: &Evaluate,
    varying: usize,
    output_channels: &[Option<usize>],
    floats: usize,
) -> Result<usize, String> {
    let (_, _, width, height) = request.rect;
    let samples = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(request.frame.samples as usize))
        .ok_or("its sample count overflows")?;
    if request.inputs.len() != varying || request.outputs.len() != output_channels.len() {
        return Err(format!(
            "{} input and {} output buffers, for a node of {varying} varying inputs and {} outputs",
            request.inputs.len(),
            request.outputs.len(),
            output_channels.len()
        ));
    }
    let inputs_fit = (request.inputs.iter())
        .all(|&(channels, len)| (1..=4).contains(&channels) && len == samples);
    let outputs_fit = (request.outputs.iter())
        .zip(output_channels)
        .all(|(&(channels, len), &declared)| Some(channels) == declared && len == samples);
    if !inputs_fit || !outputs_fit {
        return Err(format!(
            "buffers of other sizes than the tile's {samples} samples, or other channels than the node's"
        ));
    }
    let sum = |planes: &[(usize, usize)]| {
        planes.iter().try_fold(0usize, |sum, &(channels, len)| {
            channels.checked_mul(len)?.checked_add(sum)
        })
    };
    let (inputs, outputs) = (sum(&request.inputs), sum(&request.outputs));
    match inputs.zip(outputs).and_then(|(i, o)| i.checked_add(o)) {
        Some(total) if total <= floats => Ok(inputs.expect("summed")),
        _ => Err("its planes do not fit the shared memory".to_string()),
    }
}

/// A worker's output shares the terminal with other processes: each line
/// is written whole as soon as it is complete.
fn worker_streams(py: Python) -> PyResult<()> {
    let sys = py.import("sys")?;
    for name in ["__stdout__", "__stderr__"] {
        let stream = sys.getattr(name)?;
        if !stream.is_none() {
            let options = pyo3::types::PyDict::new(py);
            options.set_item("line_buffering", true)?;
            stream.call_method("reconfigure", (), Some(&options))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processes::protocol::Frame;

    fn request(inputs: Vec<(usize, usize)>, outputs: Vec<(usize, usize)>) -> Evaluate {
        Evaluate {
            node: "n".into(),
            node_hash: 0,
            tile: 0,
            rect: (0, 0, 4, 2),
            frame: Frame::from(&FrameInfo {
                width: 4,
                height: 2,
                samples: 2,
                seed: 0,
                frame: 0,
                time: 0.0,
                fps: 24.0,
            }),
            lane: 0,
            request: 1,
            inputs,
            outputs,
            shared_bytes: 0,
        }
    }

    #[test]
    fn a_tile_is_taken_only_with_the_nodes_planes_over_its_samples() {
        // 4 x 2 pixels, 2 samples each: 16 samples; uv in, a colour out.
        let colour = [Some(4)];
        let good = request(vec![(2, 16)], vec![(4, 16)]);
        assert_eq!(checked_planes(&good, 1, &colour, 96), Ok(32));
        let refused = [
            (request(vec![(2, 16)], vec![(4, 16)]), 95),
            (request(vec![], vec![(4, 16)]), 96),
            (request(vec![(2, 16)], vec![(4, 16), (1, 16)]), 96),
            (request(vec![(2, 15)], vec![(4, 16)]), 96),
            (request(vec![(5, 16)], vec![(4, 16)]), 96),
            (request(vec![(2, 16)], vec![(3, 16)]), 96),
            (request(vec![(2, 16)], vec![(4, 17)]), 96),
            (request(vec![(1 << 62, 16)], vec![(4, 16)]), 96),
        ];
        for (request, floats) in refused {
            assert!(
                checked_planes(&request, 1, &colour, floats).is_err(),
                "{:?} {:?} in {floats} floats",
                request.inputs,
                request.outputs
            );
        }
        let mut huge = request(vec![(2, 16)], vec![(4, 16)]);
        huge.rect = (0, 0, u32::MAX, u32::MAX);
        huge.frame.samples = u32::MAX;
        assert!(checked_planes(&huge, 1, &colour, 96).is_err());
    }
}
