//! The worker's side: serving tiles for the render process that started it.

use crate::PythonError;
use crate::processes::protocol::{Done, Evaluate, Reply};
use crate::processes::shared::SharedTiles;
use crate::runtime::PythonRuntime;
use pyo3::prelude::*;
use std::sync::atomic::AtomicBool;
use tessera_core::{Buffer, BufferPool, FrameInfo, NodeError, SampleFailures, TileCtx};
use tessera_process::{Channel, Received};

/// A worker process's connection to its render process, from the
/// descriptors it inherited. Load the scene into a [`PythonRuntime`], then
/// [`WorkerConnection::serve`] it (or say why it failed to load with
/// [`WorkerConnection::setup_failed`]).
pub struct WorkerConnection {
    channel: Channel,
    shared: SharedTiles,
    /// Tile buffers kept from one request to the next: fresh large
    /// allocations cost page faults every tile.
    pool: BufferPool,
}

impl WorkerConnection {
    /// The connection this process was started with, or why there is none
    /// (it was not started by a render process).
    pub fn inherited() -> Result<WorkerConnection, PythonError> {
        let not_a_worker = || {
            PythonError::Workers(
                "this command is run by `tessera render --python-workers processes`, not by hand"
                    .into(),
            )
        };
        let (channel, fds) = tessera_process::inherited().ok_or_else(not_a_worker)?;
        let [memory] = fds[..] else {
            return Err(not_a_worker());
        };
        // SAFETY: the render process handed this memfd to this process for
        // this connection alone, and nothing else adopts it.
        let shared = unsafe { SharedTiles::inherited(memory) };
        Ok(WorkerConnection {
            channel,
            shared,
            pool: BufferPool::default(),
        })
    }

    /// Tells the render process that the scene did not load, and why.
    pub fn setup_failed(mut self, message: &str) {
        let _ = self.channel.send(&Reply::SetupFailed(message.to_string()));
    }

    /// Serves tiles of `runtime`'s scene until the render process closes
    /// the connection. `seed` and `switch_interval` are the render's.
    pub fn serve(
        mut self,
        runtime: &PythonRuntime,
        seed: u32,
        switch_interval: Option<f64>,
    ) -> Result<(), PythonError> {
        let lost = |e: std::io::Error| {
            PythonError::Workers(format!("lost the render process's connection: {e}"))
        };
        if crate::is_started() {
            crate::session::prepare_interpreter(seed, switch_interval)?;
            Python::attach(worker_streams).map_err(|e| PythonError::Prepare(e.to_string()))?;
        }
        self.channel.send(&Reply::Ready).map_err(lost)?;
        let never = AtomicBool::new(false);
        let mut spin = std::time::Duration::ZERO;
        loop {
            self.channel.spin_for(spin);
            let request = match self.channel.receive::<Evaluate>(&never).map_err(lost)? {
                Received::Message(request) => request,
                Received::Closed | Received::Cancelled => return Ok(()),
            };
            spin = std::time::Duration::from_micros(request.spin_us);
            let done = self.evaluate(runtime, &request);
            self.channel.send(&Reply::Done(done)).map_err(lost)?;
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
        if let Err(e) = self.shared.map_bytes(request.shared_bytes) {
            return failed(NodeError::new(format!(
                "cannot map the shared tile memory: {e}"
            )));
        }
        let memory = self.shared.floats();
        let pool = &mut self.pool;
        let mut at = 0;
        let inputs: Vec<Buffer> = request
            .inputs
            .iter()
            .map(|&(channels, len)| {
                let planes = &memory[at..at + channels * len];
                at += planes.len();
                pool.build(channels, |data| data.extend_from_slice(planes))
            })
            .collect();
        let input_refs: Vec<&Buffer> = inputs.iter().collect();
        let mut outputs: Vec<Buffer> = request
            .outputs
            .iter()
            .map(|&(channels, len)| pool.zeroed(channels, len))
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
        };
        let result = node.evaluate_alone(&ctx, &input_refs, &mut outputs);
        crate::interpreter::exit_if_forked();
        if result.is_ok() {
            for output in &outputs {
                let planes = output.data();
                memory[at..at + planes.len()].copy_from_slice(planes);
                at += planes.len();
            }
        }
        for buffer in inputs.into_iter().chain(outputs) {
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
