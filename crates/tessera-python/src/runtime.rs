//! One scene's Python side, owned by whoever loads the scene: the Python
//! nodes built for it and, while it renders, where their calls go. Two
//! scenes loaded in one process each have their own, so a second render
//! inherits nothing from the first.

use crate::policy::NodeState;
use crate::processes::ProcessPool;
use crate::session::Route;
use std::sync::{Arc, Mutex, MutexGuard};

/// A cheap handle: clones share one runtime. Give it to
/// [`crate::python_kind`] when building the registry, then call
/// [`PythonRuntime::begin_render`] for each render of the compiled plan.
#[derive(Clone, Default)]
pub struct PythonRuntime {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// The scene's Python nodes by id, in the order the compiler built them
    /// (plan order): `ordered` runs a tile's Python nodes in this order, and
    /// a worker process finds the node a request names here.
    nodes: Mutex<Vec<(String, Arc<NodeState>)>>,
    /// Where calls go while a render is on; None between renders.
    render: Mutex<Option<Routes>>,
}

/// Where one render sends its Python calls.
#[derive(Clone)]
pub(crate) struct Routes {
    pub ordered: Route,
    /// The worker processes, under `--python-workers processes`.
    pub processes: Option<Arc<ProcessPool>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl PythonRuntime {
    /// Records a node built for this scene; returns its place in plan order.
    pub(crate) fn add_node(
        &self,
        id: &str,
        make: impl FnOnce(usize) -> Arc<NodeState>,
    ) -> Arc<NodeState> {
        let mut nodes = lock(&self.shared.nodes);
        let state = make(nodes.len());
        nodes.push((id.to_string(), state.clone()));
        state
    }

    /// The node built with scene id `id`.
    pub(crate) fn node(&self, id: &str) -> Option<Arc<NodeState>> {
        lock(&self.shared.nodes)
            .iter()
            .find(|(node, _)| node == id)
            .map(|(_, state)| state.clone())
    }

    /// Whether any node of the scene may run in a worker process.
    pub(crate) fn has_process_nodes(&self) -> bool {
        lock(&self.shared.nodes)
            .iter()
            .any(|(_, state)| state.runs_in_processes())
    }

    pub(crate) fn routes(&self) -> Option<Routes> {
        lock(&self.shared.render).clone()
    }

    pub(crate) fn set_routes(&self, routes: Option<Routes>) -> Option<Routes> {
        std::mem::replace(&mut *lock(&self.shared.render), routes)
    }
}
