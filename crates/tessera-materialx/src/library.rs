//! MaterialX's standard library (1.39.5, embedded: `stdlib/README.md`): the
//! node definitions with their inputs' defaults, and the nodes it defines
//! as graphs of other nodes, which a document's node is rendered by when
//! Tessera has no native node for it.

use crate::document::{Document, Element, NodeDef, Scope, read};

const DEFINITIONS: &str = include_str!("../stdlib/stdlib_defs.mtlx");
const GRAPHS: &str = include_str!("../stdlib/stdlib_ng.mtlx");

/// The standard library, read.
pub struct Library {
    definitions: Document,
    graphs: Document,
}

impl Library {
    /// Reads the embedded files (about 2 ms).
    pub fn load() -> Library {
        let read = |text| read(text).unwrap_or_else(|e| panic!("MaterialX's library reads: {e:?}"));
        Library {
            definitions: read(DEFINITIONS),
            graphs: read(GRAPHS),
        }
    }
}

#[cfg(test)]
impl Library {
    /// Whether a graph of the library implements nodedef `name`.
    pub fn graph_of(&self, name: &str) -> bool {
        (self.graphs.graphs.iter()).any(|g| g.nodedef.as_ref().is_some_and(|n| n.value == name))
    }
}

/// A node defined by a graph: its definition and the graph.
pub struct Definition<'d> {
    pub nodedef: &'d NodeDef,
    pub graph: &'d Scope,
}

/// Where definitions are looked for, in order: the document, the documents
/// it includes, and the standard library.
pub struct Definitions<'d> {
    pub documents: Vec<&'d Document>,
}

impl<'d> Definitions<'d> {
    pub fn new(document: &'d Document, included: &'d [Document], library: &'d Library) -> Self {
        let mut documents = vec![document];
        documents.extend(included);
        documents.extend([&library.definitions, &library.graphs]);
        Definitions { documents }
    }

    /// The nodedef of `element`: the one it names, or the first of its
    /// category whose output type is the element's and whose inputs have
    /// the types the element gives them.
    pub fn nodedef(&self, element: &Element) -> Option<&'d NodeDef> {
        let fits = |def: &NodeDef| match &element.nodedef {
            Some(name) => def.name.value == name.value,
            None => {
                of_type(def, element)
                    && element.inputs.iter().all(|input| {
                        let declared = def.inputs.iter().find(|i| i.name.value == input.name.value);
                        declared.is_some_and(|d| match (&d.type_name, &input.type_name) {
                            (Some(d), Some(i)) => d.value == i.value,
                            _ => true,
                        })
                    })
            }
        };
        (self.documents.iter())
            .flat_map(|d| &d.nodedefs)
            .find(|def| fits(def))
    }

    /// The nodedefs of `element`'s category whose output type is the
    /// element's (any, if it gives none), whatever its inputs.
    pub fn of_type(&self, element: &Element) -> Vec<&'d NodeDef> {
        (self.documents.iter())
            .flat_map(|d| &d.nodedefs)
            .filter(|def| of_type(def, element))
            .collect()
    }

    /// The graph defining `element` (by its [`Definitions::nodedef`]).
    pub fn definition(&self, element: &Element) -> Option<Definition<'d>> {
        let nodedef = self.nodedef(element)?;
        let implements =
            |g: &&Scope| (g.nodedef.as_ref()).is_some_and(|n| n.value == nodedef.name.value);
        let graph = (self.documents.iter())
            .flat_map(|d| &d.graphs)
            .find(implements)?;
        Some(Definition { nodedef, graph })
    }
}

/// Whether `def` defines `element`'s category with its output type (any,
/// if it gives none).
fn of_type(def: &NodeDef, element: &Element) -> bool {
    def.node == element.category.value
        && element.type_name.as_ref().is_none_or(|ty| {
            let output = def.outputs.first().and_then(|o| o.type_name.as_ref());
            let multiple = def.outputs.len() > 1;
            output.is_some_and(|o| o.value == ty.value) || (multiple && ty.value == "multioutput")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_reads_and_defines_ramp4_by_a_graph() {
        let library = Library::load();
        assert!(library.definitions.nodedefs.len() > 500);
        let document = read(
            r#"<materialx><nodegraph name="g"><ramp4 name="r" type="color3" /></nodegraph></materialx>"#,
        )
        .unwrap();
        let element = &document.graphs[0].nodes[0];
        let definitions = Definitions::new(&document, &[], &library);
        let found = definitions.definition(element).expect("ramp4 is defined");
        assert_eq!(found.nodedef.name.value, "ND_ramp4_color3");
        assert_eq!(found.graph.name.as_ref().unwrap().value, "NG_ramp4_color3");
    }
}
