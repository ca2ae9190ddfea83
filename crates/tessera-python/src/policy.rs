//! Determinism policies: how a Python node's calls are scheduled.

use crate::call::{Calls, NodeCore};
use crate::runtime::PythonRuntime;
use pyo3::prelude::*;
use std::fmt;
use std::sync::Arc;
use tessera_core::{Buffer, Evaluation, Node, NodeError, TileCtx};

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
    /// The class, for `isolated`'s fresh instance per tile.
    pub class: Py<PyAny>,
    /// The instance built (and set up) at compile time.
    pub instance: Arc<Py<PyAny>>,
    pub policy: Policy,
    /// The class declares `pure = True`: `ordered` may run it in parallel.
    pub pure: bool,
}

impl NodeState {
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
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        match self.policy {
            Policy::Isolated => self.evaluate_isolated(ctx, inputs, outputs, Calls::PerTile),
            _ => self
                .core
                .evaluate(&self.instance, ctx, inputs, outputs, Calls::PerTile),
        }
    }

    /// Evaluates the tile with a fresh instance, its `setup()` run first.
    fn evaluate_isolated(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
        calls: Calls,
    ) -> Result<(), NodeError> {
        let instance = Python::attach(|py| {
            let instance = self
                .class
                .bind(py)
                .call0()
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

/// A Python node in a plan: its state, and the runtime that says where its
/// calls go during the render.
pub struct PythonNode {
    pub state: Arc<NodeState>,
    pub runtime: PythonRuntime,
}

impl Node for PythonNode {
    fn eval_tile(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let result = self.evaluate(ctx, inputs, outputs);
        crate::interpreter::exit_if_forked();
        result
    }

    fn report(&self) -> Option<String> {
        self.state.core.report()
    }

    fn evaluation(&self) -> Evaluation {
        if self.state.is_ordered_with_state() {
            Evaluation::WholeImage
        } else {
            Evaluation::Tiled
        }
    }
}

impl PythonNode {
    fn evaluate(
        &self,
        ctx: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let state = &self.state;
        if let Some(pool) = self.runtime.processes()
            && state.runs_in_processes()
        {
            return pool.evaluate(state, ctx, inputs, outputs);
        }
        match state.policy {
            Policy::Free => {
                state
                    .core
                    .evaluate(&state.instance, ctx, inputs, outputs, Calls::PerCall)
            }
            // A pure node in parallel, each worker taking the GIL once per
            // tile: workers then hand it over once a tile instead of once a
            // call (the convoy that makes `free` slower with more threads).
            // A node keeping state is evaluated once over the whole image
            // (Evaluation::WholeImage), alone: one GIL hold for all of it.
            Policy::Ordered => {
                state
                    .core
                    .evaluate(&state.instance, ctx, inputs, outputs, Calls::PerTile)
            }
            Policy::Exclusive => {
                state
                    .core
                    .evaluate(&state.instance, ctx, inputs, outputs, Calls::Exclusive)
            }
            Policy::Isolated => state.evaluate_isolated(ctx, inputs, outputs, Calls::PerCall),
        }
    }
}
