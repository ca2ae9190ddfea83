//! Determinism policies: how a Python node's calls are scheduled.

use crate::call::{Calls, NodeCore, OutputPlanes};
use pyo3::prelude::*;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tessera_core::{Buffer, InputSpec, NodeError, TileCtx, Value, ValueType};

/// How the calls of a Python node are scheduled; docs/determinism.md states
/// what each guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Every call takes the GIL on the thread rendering the tile, in any
    /// order. Deterministic for pure nodes only.
    Free,
    /// One call of the node at a time, never interleaved with another call
    /// of the same node, whatever the switch interval. Order still follows
    /// scheduling.
    Exclusive,
    /// Every call of a node keeping state in one canonical order: once over
    /// the whole image, row by row, on one thread. Identical at any thread
    /// count and tile size, for any node. Pure nodes run in parallel.
    Ordered,
    /// A fresh instance of the node (its `setup()` run again) for each tile.
    Isolated,
}

impl Policy {
    pub const ALL: [Policy; 4] = [
        Policy::Free,
        Policy::Exclusive,
        Policy::Ordered,
        Policy::Isolated,
    ];
    pub const DEFAULT: Policy = Policy::Ordered;

    pub fn name(self) -> &'static str {
        match self {
            Policy::Free => "free",
            Policy::Exclusive => "exclusive",
            Policy::Ordered => "ordered",
            Policy::Isolated => "isolated",
        }
    }

    pub fn parse(name: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Python node's instance, what is needed to call it, and its policy:
/// shared by the node in the plan and the runtime that routes its calls.
pub struct NodeState {
    pub core: Arc<NodeCore>,
    /// The node's class: called for `isolated`'s instance per tile and for
    /// a new instance per frame, unless it says how (a PyNode's
    /// `_tessera_fresh` and `_tessera_renewed`, which keep the one script
    /// instance that nodes sharing a script share).
    class: Py<PyAny>,
    /// The instance built (and set up) at compile time, and again before
    /// each later render of a frame range ([`NodeState::renew`]).
    instance: Mutex<Arc<Py<PyAny>>>,
    /// Whether a render has called the instance since it was set up.
    used: AtomicBool,
    pub policy: Policy,
    /// The class declares `pure = True`: `ordered` may run it in parallel.
    pub pure: bool,
}

impl NodeState {
    pub fn new(
        core: Arc<NodeCore>,
        class: Py<PyAny>,
        instance: Py<PyAny>,
        policy: Policy,
        pure: bool,
    ) -> NodeState {
        NodeState {
            core,
            class,
            instance: Mutex::new(Arc::new(instance)),
            used: AtomicBool::new(false),
            policy,
            pure,
        }
    }

    /// The instance to call.
    pub fn instance(&self) -> Arc<Py<PyAny>> {
        self.used.store(true, Ordering::Relaxed);
        lock(&self.instance).clone()
    }

    /// Before render number `render` of the runtime: the node's failure
    /// counts start again, and a node keeping state whose instance an
    /// earlier render called gets a new one, set up again, so that every
    /// frame of a range starts from the state `setup()` gives, as
    /// `--frame N` alone.
    pub fn renew(&self, py: Python, render: u64) -> PyResult<()> {
        self.core.reset_failures();
        if self.pure || !self.used.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let _scene_code = crate::interpreter::SceneCode::enter();
        let class = self.class.bind(py);
        let instance = match class.getattr("_tessera_renewed") {
            Ok(renewed) => renewed.call1((render,))?,
            Err(_) => class.call0()?,
        };
        instance.call_method0("setup")?;
        *lock(&self.instance) = Arc::new(instance.unbind());
        Ok(())
    }
    /// Whether the node keeps state under `ordered`, whose calls must then
    /// run in one canonical order, on one interpreter (this process's).
    pub fn is_ordered_with_state(&self) -> bool {
        !self.pure && self.policy == Policy::Ordered
    }

    /// Whether the node's calls may run in worker processes.
    pub fn runs_in_processes(&self) -> bool {
        !self.is_ordered_with_state()
    }

    /// Evaluates the tile on the calling thread, as the only Python caller
    /// of this interpreter (a worker process): one GIL hold for the tile,
    /// and under `isolated` a fresh instance.
    pub fn evaluate_alone(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [OutputPlanes],
    ) -> Result<(), NodeError> {
        match self.policy {
            Policy::Isolated => self.evaluate_isolated(ctx, inputs, outputs, Calls::PerTile),
            _ => self
                .core
                .evaluate(&self.instance(), ctx, inputs, outputs, Calls::PerTile),
        }
    }

    /// Evaluates the tile with a fresh instance, its `setup()` run first.
    pub fn evaluate_isolated(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [OutputPlanes],
        calls: Calls,
    ) -> Result<(), NodeError> {
        let instance = Python::attach(|py| {
            let _scene_code = crate::interpreter::SceneCode::enter();
            let class = self.class.bind(py);
            let instance = match class.getattr("_tessera_fresh") {
                Ok(fresh) => fresh.call0(),
                Err(_) => class.call0(),
            }
            .map_err(|e| self.core.tile_error(py, &e, "creating an instance", ctx))?;
            instance
                .call_method0("setup")
                .map_err(|e| self.core.tile_error(py, &e, "setup()", ctx))?;
            Ok::<_, NodeError>(instance.unbind())
        })?;
        let result = self.core.evaluate(&instance, ctx, inputs, outputs, calls);
        Python::attach(|_| drop(instance));
        result
    }
}

/// A mutex's value, whether or not a thread panicked holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A node's own `policy`: empty means the scene's (or the default).
pub fn policy_input() -> InputSpec {
    let mut choices = vec![""];
    choices.extend(Policy::ALL.map(Policy::name));
    InputSpec::fixed(
        "policy",
        ValueType::String,
        Value::String(String::new()),
        "how this node's calls are scheduled: free, exclusive, ordered or isolated (docs/determinism.md); empty: [python] policy, else ordered",
    )
    .choices(&choices)
}
