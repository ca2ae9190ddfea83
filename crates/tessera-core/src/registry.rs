//! The set of node types a scene may use.

use crate::NodeKind;
use std::sync::Arc;

/// Node types by name, in registration order (the order `tessera nodes` lists).
#[derive(Default, Clone)]
pub struct Registry {
    kinds: Vec<Arc<dyn NodeKind>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("node type {0:?} is registered twice")]
    Duplicate(String),
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn register(&mut self, kind: Arc<dyn NodeKind>) -> Result<(), RegistryError> {
        let name = &kind.spec().type_name;
        if self.get(name).is_some() {
            return Err(RegistryError::Duplicate(name.clone()));
        }
        self.kinds.push(kind);
        Ok(())
    }

    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn NodeKind>> {
        self.kinds.iter().find(|k| k.spec().type_name == type_name)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &Arc<dyn NodeKind>> {
        self.kinds.iter()
    }

    pub fn type_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.kinds.iter().map(|k| k.spec().type_name.as_str())
    }
}
