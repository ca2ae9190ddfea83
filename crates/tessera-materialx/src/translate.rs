//! A MaterialX document's output, and the nodes it reads, as a Tessera
//! scene ([`SceneDesc`]) whose every span points into the document: the
//! compiler's errors about it are located in the `.mtlx`.

use crate::document::{Attr, Document, Element, NodeDef, Port, Scope};
use crate::library::{Definitions, Library};
use crate::{
    geometric_constant, nodedef_name, output_type, signatures_of, supported_kind, tessera_type,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use tessera_core::{ColorSpace, GeomProp, Registry, SocketType, ValueType};
use tessera_scene::{
    Diagnostic, DiagnosticKind, Link, NodeDesc, Param, ParamValue, SceneDesc, SceneErrors, Section,
    Span, Spanned,
};

/// What to make of a document.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The document's folder: its XIncludes are read from here.
    pub base_dir: PathBuf,
    /// `graph/output`, or a top-level output's name; None for the first
    /// output of the first node graph that has one.
    pub output: Option<String>,
    pub width: u32,
    pub height: u32,
}

/// Which scope a node is in: the document's top level, one of its node
/// graphs, or an [`Instance`] of a graph-defined node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Place {
    Top,
    Graph(usize),
    Instance(usize),
}

/// A node Tessera has no native node for, rendered as the graph that
/// defines it (MaterialX's, or the document's own): the graph's nodes
/// become scene nodes `ID__NODE`, reading the node's inputs where the graph
/// reads its interface.
struct Instance<'d> {
    nodedef: &'d NodeDef,
    graph: &'d Scope,
    /// The place of the node it renders, and the node.
    outer: Place,
    element: &'d Element,
    /// The node's id: the prefix of the graph's nodes' ids.
    id: String,
    /// Where in the document the instance's nodes and errors are located:
    /// the node (or, nested, the outermost node) it renders.
    anchor: Span,
}

/// Whether a colour value is converted from its colour space.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ColourManaged {
    Yes,
    No,
}

struct Translator<'d> {
    document: &'d Document,
    definitions: Definitions<'d>,
    registry: &'d Registry,
    instances: Vec<Instance<'d>>,
    /// The instance made for each graph-defined node, by its place and name.
    instance_of: HashMap<(Place, String), usize>,
    /// The nodes the output reads, found so far.
    reached: BTreeSet<(Place, String)>,
    /// Tessera ids given, and to which node.
    ids: HashMap<String, (Place, String)>,
    /// Whether a node reads MaterialX's position ([`POSITION`]).
    reads_position: bool,
    /// Whether a graph's interface reads the texture coordinate ([`TEXCOORD`]).
    reads_texcoord: bool,
    /// How many connections are being followed now: a document whose
    /// connections or definitions lead back to themselves stops at
    /// [`MAX_DEPTH`], reported, instead of overflowing the stack.
    depth: usize,
    errors: Vec<Diagnostic>,
}

/// The longest chain of connections (through graphs, interfaces and
/// definitions) a document may have.
const MAX_DEPTH: usize = 256;

/// The scene node standing for MaterialX's `position` (a `position` node,
/// or a 3D node's position input left unconnected): what MaterialX's texture
/// baker gives, the position on its quad from -1 to 1, (2u - 1, 2v - 1, 0).
/// Tessera's own `position` is (u, v, 0): it is remapped.
const POSITION: &str = "materialx_position";
/// Tessera's `position`, which [`POSITION`] remaps.
const PLANE: &str = "materialx_plane";
/// The colour a vector output is written as.
const OUTPUT: &str = "materialx_output";
/// The texture coordinate, for an input left unconnected that defaults to
/// it (`defaultgeomprop="UV0"`): a graph-defined node's interface input, or
/// a node graph's own input.
const TEXCOORD: &str = "materialx_texcoord";

/// Translates the chosen output of the document `text`, and every node it
/// reads, into a scene of `choice.width` x `choice.height` pixels.
pub fn translate(
    text: &str,
    choice: &Choice,
    registry: &Registry,
) -> Result<SceneDesc, SceneErrors> {
    let document = crate::document::read(text).map_err(SceneErrors)?;
    let mut included = Vec::new();
    let mut seen = HashSet::new();
    include(&document, &choice.base_dir, &mut included, &mut seen)
        .map_err(|e| SceneErrors(vec![e]))?;
    let library = Library::load();
    let mut translator = Translator {
        document: &document,
        definitions: Definitions::new(&document, &included, &library),
        registry,
        instances: Vec::new(),
        instance_of: HashMap::new(),
        reached: BTreeSet::new(),
        ids: HashMap::new(),
        reads_position: false,
        reads_texcoord: false,
        depth: 0,
        errors: Vec::new(),
    };
    let (place, port) =
        chosen_output(&document, choice.output.as_deref()).map_err(|e| SceneErrors(vec![e]))?;
    let color = translator.source(place, port);
    // Walk upstream until every node read is known.
    let mut done = BTreeSet::new();
    while let Some(next) = translator.reached.difference(&done).next().cloned() {
        let (place, name) = &next;
        let element = translator
            .scope(*place)
            .node(name)
            .expect("reached nodes exist");
        for input in &element.inputs {
            translator.source(*place, input);
        }
        done.insert(next);
    }
    let mut nodes = Vec::new();
    for (place, scope) in std::iter::once((Place::Top, &document.top))
        .chain((document.graphs.iter().enumerate()).map(|(i, g)| (Place::Graph(i), g)))
    {
        for element in &scope.nodes {
            if done.contains(&(place, element.name.value.clone())) {
                nodes.extend(translator.nodes(place, element));
            }
        }
    }
    for index in 0..translator.instances.len() {
        let place = Place::Instance(index);
        for element in &translator.instances[index].graph.nodes {
            if done.contains(&(place, element.name.value.clone())) {
                nodes.extend(translator.nodes(place, element));
            }
        }
    }
    if translator.reads_position {
        nodes.extend(translator.position_nodes(&document));
    }
    if translator.reads_texcoord {
        nodes.push(translator.texcoord_node(&document));
    }
    let (output, written) = translator.output_section(port, color);
    nodes.extend(written);
    if !translator.errors.is_empty() {
        // A link is followed when it is found and again when its node is
        // written: each mistake is told once.
        let mut told: Vec<Diagnostic> = Vec::new();
        for error in translator.errors {
            if !told.contains(&error) {
                told.push(error);
            }
        }
        return Err(SceneErrors(told));
    }
    let mut scene = SceneDesc {
        image: None,
        nodes,
        output,
        python: None,
        span: 0..text.len(),
    };
    scene.set_image_size((choice.width, choice.height));
    Ok(scene)
}

/// The output to render: its scope and its element.
fn chosen_output<'d>(
    document: &'d Document,
    wanted: Option<&str>,
) -> Result<(Place, &'d Port), Diagnostic> {
    let all = outputs(document);
    let found = match wanted {
        Some(wanted) => all.iter().find(|(_, _, name)| name == wanted),
        None => all.first(),
    };
    if let Some((place, port, _)) = found {
        return Ok((*place, port));
    }
    let message = match wanted {
        Some(wanted) => format!("the document has no output `{wanted}`"),
        None => "the document has no output to render".to_string(),
    };
    let diagnostic = Diagnostic::new(
        DiagnosticKind::MissingOutput,
        message,
        document.span.clone(),
    );
    Err(match all.is_empty() {
        true => diagnostic.note("add an <output> to a <nodegraph>"),
        false => {
            let names: Vec<&str> = all.iter().map(|(_, _, name)| name.as_str()).collect();
            diagnostic.note(format!("its outputs: {}", names.join(", ")))
        }
    })
}

/// The names of the outputs of the document `text`, as [`Choice::output`]
/// takes them: `graph/output` for a node graph's, then the top level's.
pub fn output_names(text: &str) -> Result<Vec<String>, SceneErrors> {
    let document = crate::document::read(text).map_err(SceneErrors)?;
    Ok(outputs(&document)
        .into_iter()
        .map(|(_, _, name)| name)
        .collect())
}

/// Every output: its scope, its element and its name as `--output` takes
/// it, the node graphs' first.
fn outputs(document: &Document) -> Vec<(Place, &Port, String)> {
    // A graph that defines a node is rendered through that node, not alone.
    let graphs = (document.graphs.iter().enumerate())
        .filter(|(_, g)| g.nodedef.is_none())
        .map(|(i, g)| (Place::Graph(i), g));
    graphs
        .chain(std::iter::once((Place::Top, &document.top)))
        .flat_map(|(place, scope)| {
            scope.outputs.iter().map(move |output| {
                let name = match &scope.name {
                    Some(graph) => format!("{}/{}", graph.value, output.name.value),
                    None => output.name.value.clone(),
                };
                (place, output, name)
            })
        })
        .collect()
}

impl<'d> Translator<'d> {
    fn scope(&self, place: Place) -> &'d Scope {
        match place {
            Place::Top => &self.document.top,
            Place::Graph(i) => &self.document.graphs[i],
            Place::Instance(i) => self.instances[i].graph,
        }
    }

    /// Where something of `place` found at `span` is located in the
    /// document: there, or for an instance's, at its anchor.
    fn at(&self, place: Place, span: Span) -> Span {
        match place {
            Place::Instance(i) => self.instances[i].anchor.clone(),
            _ => span,
        }
    }

    /// Reports `diagnostic` about something of `place`: an instance's is
    /// moved to the node it renders, naming the definition.
    fn report(&mut self, place: Place, mut diagnostic: Diagnostic) {
        if let Place::Instance(i) = place {
            let instance = &self.instances[i];
            let graph = instance
                .graph
                .name
                .as_ref()
                .map_or("", |n| n.value.as_str());
            diagnostic.span = Some(instance.anchor.clone());
            diagnostic.related.clear();
            diagnostic = diagnostic.note(format!(
                "in the graph `{graph}` that defines `{}` ({})",
                instance.element.category.value, instance.nodedef.name.value
            ));
        }
        self.errors.push(diagnostic);
    }

    /// Whether Tessera renders `element` with a node of its own (or, for a
    /// convert, nodes it is made of: [`supported_kind`]). A signature the
    /// node lacks (`ND_noise2d_color3FA`) goes through the graph that
    /// defines it, where there is one.
    fn is_native(&self, element: &Element) -> bool {
        let category = &element.category.value;
        if supported_kind(self.registry, category).is_none() {
            return false;
        }
        // Every convert is made here, of native nodes (see `Translator::convert`).
        if category == "convert" {
            return true;
        }
        let signatures = signatures_of(category).expect("a supported node");
        let graph = self.definitions.definition(element);
        let listed = match (&element.nodedef, &element.type_name) {
            (Some(nodedef), _) => {
                (signatures.iter()).any(|s| nodedef.value == nodedef_name(category, s))
            }
            // A separate's type is its outputs' (see `Translator::node`).
            (None, Some(ty)) if !category.starts_with("separate") => {
                let typed = |s: &&str| output_type(category, s) == ty.value;
                // Natively typed, and (if MaterialX defines it by a graph)
                // the signature the graph is for: `color3` with a float
                // amplitude is `color3FA`.
                (signatures.iter()).any(|s| {
                    typed(s)
                        && graph
                            .as_ref()
                            .is_none_or(|g| g.nodedef.name.value == nodedef_name(category, s))
                })
            }
            _ => true,
        };
        listed || graph.is_none()
    }

    /// The instance rendering graph-defined `element` of `place`, made on
    /// first use; None (reported) if no graph defines it.
    fn instance(&mut self, place: Place, element: &'d Element) -> Option<usize> {
        let key = (place, element.name.value.clone());
        if let Some(&index) = self.instance_of.get(&key) {
            return Some(index);
        }
        let Some(found) = self.definitions.definition(element) else {
            self.report(place, unsupported(&element.category));
            return None;
        };
        let instance = Instance {
            nodedef: found.nodedef,
            graph: found.graph,
            outer: place,
            element,
            id: self.id(place, &element.name),
            anchor: self.at(place, element.category.span.clone()),
        };
        self.instances.push(instance);
        self.instance_of.insert(key, self.instances.len() - 1);
        Some(self.instances.len() - 1)
    }

    /// The Tessera id of node `name` of `place`.
    fn id(&mut self, place: Place, name: &Attr) -> String {
        let id = match (place, &self.scope(place).name) {
            (Place::Instance(i), _) => format!("{}__{}", self.instances[i].id, name.value),
            (Place::Graph(_), Some(graph)) => format!("{}__{}", graph.value, name.value),
            _ => name.value.clone(),
        };
        let owner = (place, name.value.clone());
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if name.value.is_empty() || !name.value.chars().all(valid) {
            let diagnostic = Diagnostic::new(
                DiagnosticKind::Structure,
                format!(
                    "the name {:?} cannot name a node: use ASCII letters, digits, `_` and `-`",
                    name.value
                ),
                name.span.clone(),
            )
            .label("this name");
            self.report(place, diagnostic);
        }
        match self.ids.get(&id) {
            Some(other) if *other != owner => self.report(
                place,
                Diagnostic::new(
                    DiagnosticKind::Structure,
                    format!("two nodes would both be `{id}` in the scene"),
                    name.span.clone(),
                )
                .label("this node")
                .note("a node graph's nodes are named `graph__node`: rename one of them"),
            ),
            _ => {
                self.ids.insert(id.clone(), owner);
            }
        }
        id
    }

    /// What `port` of `place` reads: a link to a node (which is then
    /// reached), a constant, or None for the input's default (or an error,
    /// reported).
    fn source(&mut self, place: Place, port: &'d Port) -> Option<Spanned<ParamValue>> {
        if self.depth >= MAX_DEPTH {
            let diagnostic = Diagnostic::new(
                DiagnosticKind::Cycle,
                format!(
                    "following `{}` leads through more than {MAX_DEPTH} connections: \
                     the document's connections or definitions lead back to themselves",
                    port.name.value
                ),
                port.name.span.clone(),
            )
            .label("from here");
            self.report(place, diagnostic);
            return None;
        }
        self.depth += 1;
        let found = self.follow(place, port);
        self.depth -= 1;
        found
    }

    /// [`Translator::source`], one connection further.
    fn follow(&mut self, place: Place, port: &'d Port) -> Option<Spanned<ParamValue>> {
        if let Some(nodename) = &port.nodename {
            let Some(target) = self.scope(place).node(&nodename.value) else {
                let diagnostic = Diagnostic::new(
                    DiagnosticKind::BadLink,
                    format!("there is no node `{}` here", nodename.value),
                    nodename.span.clone(),
                )
                .label("this nodename");
                self.report(place, diagnostic);
                return None;
            };
            let (actual, what) = match &port.output {
                Some(output) => (
                    self.node_output_type(target, &output.value),
                    format!("output `{}` of node `{}`", output.value, nodename.value),
                ),
                None => (self.output_of(target), format!("node `{}`", nodename.value)),
            };
            self.check_connection(place, port, &what, actual);
            if !self.is_native(target) {
                // The output of the graph that defines the node.
                let instance = self.instance(place, target)?;
                let outputs = &self.instances[instance].graph.outputs;
                let output = match &port.output {
                    Some(name) => outputs.iter().find(|o| o.name.value == name.value),
                    None => outputs.first(),
                };
                let Some(output) = output else {
                    let at = port.output.as_ref().unwrap_or(nodename);
                    let diagnostic = Diagnostic::new(
                        DiagnosticKind::BadLink,
                        format!("node `{}` has no such output", nodename.value),
                        at.span.clone(),
                    )
                    .label("this output");
                    self.report(place, diagnostic);
                    return None;
                };
                return self.source(Place::Instance(instance), output);
            }
            self.reached.insert((place, nodename.value.clone()));
            let output = (port.output.as_ref())
                .map(|o| tessera_output_name(&target.category.value, &o.value).to_string());
            let link = Link {
                node: self.id(place, nodename),
                output,
            };
            let span = self.at(place, nodename.span.clone());
            return Some(Spanned::new(ParamValue::Link(link), span));
        }
        if let Some(graph_name) = &port.nodegraph {
            let graph = (self.document.graphs.iter())
                .position(|g| g.name.as_ref().is_some_and(|n| n.value == graph_name.value));
            let Some(graph) = graph else {
                self.errors.push(
                    Diagnostic::new(
                        DiagnosticKind::BadLink,
                        format!("there is no node graph `{}`", graph_name.value),
                        graph_name.span.clone(),
                    )
                    .label("this nodegraph"),
                );
                return None;
            };
            let outputs = &self.document.graphs[graph].outputs;
            let output = match &port.output {
                Some(name) => outputs.iter().find(|o| o.name.value == name.value),
                None if outputs.len() == 1 => outputs.first(),
                None => None,
            };
            let Some(output) = output else {
                let at = port.output.as_ref().unwrap_or(graph_name);
                self.errors.push(
                    Diagnostic::new(
                        DiagnosticKind::BadLink,
                        format!("node graph `{}` has no such output", graph_name.value),
                        at.span.clone(),
                    )
                    .label("name one of its outputs with `output`"),
                );
                return None;
            };
            let what = format!(
                "output `{}` of node graph `{}`",
                output.name.value, graph_name.value
            );
            let actual = output.type_name.as_ref().map(|t| t.value.as_str());
            self.check_connection(place, port, &what, actual);
            let found = self.source(Place::Graph(graph), output);
            // Told at the graph's output, as when it is rendered itself.
            if found.is_none() {
                self.errors.extend(reading_nothing(output));
            }
            return found;
        }
        if let Some(interface) = &port.interfacename {
            if let Place::Instance(i) = place {
                let nodedef = self.instances[i].nodedef;
                let declared = (nodedef.inputs.iter()).find(|d| d.name.value == interface.value);
                let what = format!(
                    "input `{}` of definition `{}`",
                    interface.value, nodedef.name.value
                );
                let actual = declared.and_then(|d| d.type_name.as_ref());
                self.check_connection(place, port, &what, actual.map(|t| t.value.as_str()));
                return self.interface(i, &interface.value);
            }
            if place == Place::Top {
                self.errors.push(
                    Diagnostic::new(
                        DiagnosticKind::BadLink,
                        "`interfacename` is only for nodes inside a node graph",
                        interface.span.clone(),
                    )
                    .label("this interfacename")
                    .note("a top-level node reads a graph's output with `nodegraph` and `output`, or takes a `value`"),
                );
                return None;
            }
            let Some(input) = self.scope(place).input(&interface.value) else {
                self.errors.push(
                    Diagnostic::new(
                        DiagnosticKind::BadLink,
                        format!("the node graph has no input `{}`", interface.value),
                        interface.span.clone(),
                    )
                    .label("this interfacename"),
                );
                return None;
            };
            let what = format!("the node graph's input `{}`", interface.value);
            let actual = input.type_name.as_ref().map(|t| t.value.as_str());
            self.check_connection(place, port, &what, actual);
            // A graph's inputs are set from outside it: the document's
            // top-level nodes, or values. One not connected that names a
            // geometric property reads it, whatever its value (MaterialX's
            // shader generator, ShaderGraph.cpp; TestSuite
            // defaultgeomprop.mtlx). MaterialX's renderer reads a value as
            // written, its colour space not applied (measured:
            // colour_inherited.mtlx's graph_input_space).
            let connected = input.nodename.is_some() || input.nodegraph.is_some();
            return match (&input.defaultgeomprop, &input.value) {
                _ if connected => self.source(Place::Top, input),
                (Some(geomprop), _) => {
                    let anchor = self.at(place, interface.span.clone());
                    self.geometric_default(place, &interface.value, geomprop, anchor)
                }
                (None, Some(value)) => self.value_of(Place::Top, input, value, ColourManaged::No),
                (None, None) => self.source(Place::Top, input),
            };
        }
        let value = port.value.as_ref()?;
        self.value_of(place, port, value, ColourManaged::Yes)
    }

    /// The MaterialX type of output `output` of node `target`: its
    /// nodedef's output of that name, or (a node of one output) the node's
    /// type.
    fn node_output_type(&self, target: &'d Element, output: &str) -> Option<&'d str> {
        let nodedef = self.definitions.nodedef(target);
        let declared = nodedef
            .and_then(|d| d.outputs.iter().find(|o| o.name.value == output))
            .and_then(|o| o.type_name.as_ref());
        match declared {
            Some(ty) => Some(&ty.value),
            None if nodedef.is_some() => None,
            None => (target.type_name.as_ref()).map(|t| t.value.as_str()),
        }
    }

    /// Reports `port` if its `type` is not `actual`, the type of `what`, which
    /// it reads: MaterialX connects values of one type only, converting none
    /// (its PortElement::validate: "Mismatched types in port connection").
    /// A multi-output node read without `output`, or a type not given, is
    /// told elsewhere or not known.
    fn check_connection(&mut self, place: Place, port: &Port, what: &str, actual: Option<&str>) {
        let (Some(declared), Some(actual)) = (&port.type_name, actual) else {
            return;
        };
        if declared.value == actual || actual == "multioutput" {
            return;
        }
        let diagnostic = Diagnostic::new(
            DiagnosticKind::WrongType,
            format!(
                "{} `{}` of type {} reads {what}, of type {actual}",
                port.tag, port.name.value, declared.value
            ),
            port.span.clone(),
        )
        .label(format!("this {}", port.tag))
        .note(format!(
            "MaterialX converts no type where it connects: read a {0} here \
             (a `convert` node makes a {0} of a {actual})",
            declared.value
        ));
        self.report(place, diagnostic);
    }

    /// `value`, the value of `port`, located.
    fn value_of(
        &mut self,
        place: Place,
        port: &Port,
        value: &Attr,
        managed: ColourManaged,
    ) -> Option<Spanned<ParamValue>> {
        match self.constant(port, value, managed) {
            Ok(constant) => {
                let span = self.at(place, value.span.clone());
                Some(Spanned::new(respan(constant, &span), span))
            }
            Err(error) => {
                self.report(place, error);
                None
            }
        }
    }

    /// What an instance's graph reads as its interface input `name`: the
    /// node's input of that name, else the definition's default (a value,
    /// or the texture coordinate or position it names).
    fn interface(&mut self, instance: usize, name: &str) -> Option<Spanned<ParamValue>> {
        let Instance {
            nodedef,
            outer,
            element,
            ref anchor,
            ..
        } = self.instances[instance];
        let anchor = anchor.clone();
        if let Some(given) = element.inputs.iter().find(|i| i.name.value == name) {
            return self.source(outer, given);
        }
        let Some(declared) = nodedef.inputs.iter().find(|i| i.name.value == name) else {
            let diagnostic = Diagnostic::new(
                DiagnosticKind::BadLink,
                format!(
                    "the definition `{}` has no input `{name}`",
                    nodedef.name.value
                ),
                anchor.clone(),
            );
            self.report(Place::Instance(instance), diagnostic);
            return None;
        };
        match declared.defaultgeomprop.as_deref() {
            Some(geomprop) => {
                self.geometric_default(Place::Instance(instance), name, geomprop, anchor)
            }
            None => self.source(Place::Instance(instance), declared),
        }
    }

    /// What an input `name` left unset reads when it defaults to the
    /// geometric property `geomprop` (`defaultgeomprop`), read at `anchor`:
    /// the texture coordinate or the position.
    fn geometric_default(
        &mut self,
        place: Place,
        name: &str,
        geomprop: &str,
        anchor: std::ops::Range<usize>,
    ) -> Option<Spanned<ParamValue>> {
        match geomprop {
            "UV0" => {
                self.reads_texcoord = true;
                let link = Link {
                    node: TEXCOORD.to_string(),
                    output: None,
                };
                Some(Spanned::new(ParamValue::Link(link), anchor))
            }
            "Pobject" | "Pworld" => Some(self.position_link(anchor)),
            other => {
                // Normals and tangents: a flat image has no mesh to give them.
                let diagnostic = Diagnostic::new(
                    DiagnosticKind::WrongType,
                    format!("the geometric property `{other}` that `{name}` defaults to is not supported"),
                    anchor,
                )
                .note("connect the input");
                self.report(place, diagnostic);
                None
            }
        }
    }

    /// The colour space in force where the value of `input` is given: for
    /// an instance's interface input (a tiledimage's `file`), the rendered
    /// node's input of that name, not the defining graph's.
    /// A node graph's own input is not: the file is read in the colour
    /// space its reader inherits, as MaterialX's renderer reads it
    /// (colour_inherited.mtlx's graph_input_space).
    fn given_colorspace(&self, place: Place, input: &'d Port) -> Option<&'d Attr> {
        if let (Place::Instance(i), Some(name)) = (place, &input.interfacename) {
            let Instance { outer, element, .. } = self.instances[i];
            if let Some(given) = element.inputs.iter().find(|p| p.name.value == name.value) {
                return self.given_colorspace(outer, given);
            }
        }
        input.colorspace.as_ref()
    }

    /// A `value` read in its port's MaterialX type.
    fn constant(
        &self,
        port: &Port,
        value: &Attr,
        managed: ColourManaged,
    ) -> Result<ParamValue, Diagnostic> {
        let wrong = |what: String| {
            Diagnostic::new(DiagnosticKind::WrongType, what, value.span.clone()).label("this value")
        };
        let Some(type_name) = &port.type_name else {
            return Err(wrong(format!(
                "input `{}` has a value but no `type`",
                port.name.value
            )));
        };
        // A colour value is in its colour space (its own, or the nearest
        // ancestor's), converted to the working space as MaterialX's default
        // colour management converts it to the target space (lin_rec709).
        let is_colour = matches!(type_name.value.as_str(), "color3" | "color4")
            && managed == ColourManaged::Yes;
        let space = match &port.colorspace {
            Some(space) if is_colour => {
                Some(ColorSpace::parse(&space.value).ok_or_else(|| unknown_colour_space(space))?)
            }
            _ => None,
        };
        let text = value.value.trim();
        // A number Tessera's 32-bit floats hold: 1e39 would become infinity.
        let number = |part: &str| -> Result<Option<f64>, Diagnostic> {
            match part.parse::<f64>() {
                Ok(n) if (n as f32).is_finite() => Ok(Some(n)),
                Ok(_) => Err(Diagnostic::new(
                    DiagnosticKind::OutOfRange,
                    format!("values must be finite, not {part:?}"),
                    value.span.clone(),
                )
                .label("this value")
                .note("a 32-bit float holds magnitudes up to about 3.4e38")),
                Err(_) => Ok(None),
            }
        };
        let floats = |count: usize| -> Result<ParamValue, Diagnostic> {
            let wrong_count = || {
                wrong(format!(
                    "a {} is {count} numbers separated by commas or spaces, not {text:?}",
                    type_name.value
                ))
            };
            // MaterialX splits array values at commas and spaces alike; an
            // empty item between commas ("1,,2") is a mistake, not skipped.
            let items: Vec<&str> = text.split(',').map(str::trim).collect();
            if items.len() > 1 && items.iter().any(|item| item.is_empty()) {
                return Err(wrong_count().note("an item between commas is empty"));
            }
            let mut parsed = Vec::new();
            for part in items.iter().flat_map(|item| item.split_whitespace()) {
                parsed.push(number(part)?);
            }
            let numbers: Option<Vec<f64>> = parsed.into_iter().collect();
            match numbers {
                Some(mut numbers) if numbers.len() == count => {
                    if let Some(space) = space.filter(|s| !s.is_working_space()) {
                        let rgb = space.decode([0, 1, 2].map(|c| numbers[c] as f32));
                        for (number, converted) in numbers.iter_mut().zip(rgb) {
                            *number = f64::from(converted);
                        }
                    }
                    Ok(ParamValue::Array(
                        (numbers.into_iter())
                            .map(|n| Spanned::new(ParamValue::Float(n), value.span.clone()))
                            .collect(),
                    ))
                }
                _ => Err(wrong_count()),
            }
        };
        match type_name.value.as_str() {
            "float" => number(text)?
                .map(ParamValue::Float)
                .ok_or_else(|| wrong(format!("a float is a number, not {text:?}"))),
            // MaterialX's integers are 32-bit.
            "integer" => match (text.parse::<i32>(), text.parse::<i128>()) {
                (Ok(integer), _) => Ok(ParamValue::Integer(integer.into())),
                (Err(_), Ok(_)) => Err(Diagnostic::new(
                    DiagnosticKind::OutOfRange,
                    format!(
                        "an integer is from {} to {}, not {text:?}",
                        i32::MIN,
                        i32::MAX
                    ),
                    value.span.clone(),
                )
                .label("this value")),
                _ => Err(wrong(format!("an integer is a whole number, not {text:?}"))),
            },
            "boolean" => match text {
                "true" => Ok(ParamValue::Boolean(true)),
                "false" => Ok(ParamValue::Boolean(false)),
                _ => Err(wrong(format!("a boolean is true or false, not {text:?}"))),
            },
            "vector2" => floats(2),
            "vector3" | "color3" => floats(3),
            "color4" | "vector4" => floats(4),
            "string" => Ok(ParamValue::String(value.value.clone())),
            "filename" => Ok(ParamValue::String(format!(
                "{}{}",
                port.fileprefix, value.value
            ))),
            other => Err(Diagnostic::new(
                DiagnosticKind::WrongType,
                format!("values of MaterialX type `{other}` are not supported"),
                type_name.span.clone(),
            )
            .label("this type")),
        }
    }

    /// The scene nodes for `element`: one, or for a `convert` of channels,
    /// two. None (reported) if Tessera has no such node or signature.
    fn nodes(&mut self, place: Place, element: &'d Element) -> Vec<NodeDesc> {
        let nodes: Vec<NodeDesc> = match element.category.value.as_str() {
            "convert" => self.convert(place, element),
            "combine2" if matches!(self.output_of(element), Some("color4" | "vector4")) => {
                self.combine_pair(place, element)
            }
            "mix" if self.mixes_per_channel(element) => self.mix_per_channel(place, element),
            "texcoord" if self.output_of(element) == Some("vector3") => {
                self.texcoord_vector3(place, element)
            }
            _ => self.node(place, element).into_iter().collect(),
        };
        let Place::Instance(_) = place else {
            return nodes;
        };
        // An instance's nodes, and every value in them, are located at the
        // node it renders: the graph's own text is not the document's.
        let anchor = self.at(place, 0..0);
        let anchored = |mut text: Spanned<String>| {
            text.span = anchor.clone();
            text
        };
        (nodes.into_iter())
            .map(|node| NodeDesc {
                id: anchored(node.id),
                type_name: anchored(node.type_name),
                value_type: node.value_type.map(anchored),
                params: (node.params.into_iter())
                    .map(|p| Param {
                        name: anchored(p.name),
                        value: Spanned::new(respan(p.value.value, &anchor), anchor.clone()),
                    })
                    .collect(),
            })
            .collect()
    }

    fn node(&mut self, place: Place, element: &'d Element) -> Option<NodeDesc> {
        // The nodedef decides, as in MaterialX: its library has an
        // `<ifgreater nodedef="ND_ifgreatereq_color4I">`.
        let defined = (element.nodedef.as_ref()).and_then(|nodedef| {
            crate::MATERIALX_NODES.iter().find(|(name, signatures)| {
                (signatures.iter()).any(|s| nodedef.value == nodedef_name(name, s))
            })
        });
        let category = &match defined {
            Some((name, _)) => Spanned::new(name.to_string(), element.category.span.clone()),
            None => element.category.clone(),
        };
        let Some(kind) = supported_kind(self.registry, &category.value) else {
            self.report(place, unsupported(category));
            return None;
        };
        if category.value == "position" {
            return Some(self.position_element(place, element));
        }
        let signatures = signatures_of(&category.value).expect("a supported node");
        // A geometric node of a type it has (an other is reported below).
        let ty = self.output_of(element).filter(|ty| signatures.contains(ty));
        if let Some((ty, value)) =
            ty.and_then(|ty| Some((ty, geometric_constant(&category.value, ty)?)))
        {
            return Some(self.geometric_element(place, element, ty, value));
        }
        let listed = || {
            let nodedefs: Vec<String> = (signatures.iter())
                .map(|s| nodedef_name(&category.value, s))
                .collect();
            format!("Tessera renders {}", nodedefs.join(", "))
        };
        let spec = kind.spec();
        let mut value_type = None;
        // A separate's type is its outputs' (multioutput, or float as
        // MaterialX's own graphs write it): its input's type is inferred.
        let separate = category.value.starts_with("separate");
        if let Some(ty) = element.type_name.as_ref().filter(|_| !separate) {
            if !(signatures.iter()).any(|s| output_type(&category.value, s) == ty.value) {
                let mut diagnostic = Diagnostic::new(
                    DiagnosticKind::WrongType,
                    format!(
                        "MaterialX node `{}` of type {} is not supported",
                        category.value, ty.value
                    ),
                    ty.span.clone(),
                )
                .label("this type");
                // Where a nodedef's name is not its output's type
                // (ND_extract_vector4 reads a vector4 and gives a float), the
                // types a `type` may be are told first.
                let mut outputs: Vec<&str> = Vec::new();
                for signature in signatures {
                    let output = output_type(&category.value, signature);
                    if !outputs.contains(&output) {
                        outputs.push(output);
                    }
                }
                if signatures.iter().any(|s| !outputs.contains(s)) {
                    diagnostic = diagnostic.note(format!(
                        "a node's `type` is its output's: `{}` gives {}",
                        category.value,
                        outputs.join(", ")
                    ));
                }
                self.report(place, diagnostic.note(listed()));
                return None;
            }
            // The type is the output's: a generic output's, the node's.
            if spec
                .outputs
                .first()
                .is_some_and(|o| o.ty == SocketType::Generic)
            {
                value_type = Some(Spanned::new(
                    tessera_type(&ty.value).to_string(),
                    ty.span.clone(),
                ));
            }
        }
        if let Some(nodedef) = &element.nodedef
            && !(signatures.iter()).any(|s| nodedef.value == nodedef_name(&category.value, s))
        {
            self.report(
                place,
                Diagnostic::new(
                    DiagnosticKind::WrongType,
                    format!("nodedef `{}` is not supported", nodedef.value),
                    nodedef.span.clone(),
                )
                .label("this nodedef")
                .note(listed()),
            );
        }
        let declared = self.definitions.nodedef(element);
        // A nodedef named by the node is found by its name alone: each
        // input's type is checked against it (found by its inputs' types,
        // one that differs would not be found).
        if let (Some(_), Some(nodedef)) = (&element.nodedef, declared) {
            self.check_declared_types(place, element, nodedef);
        }
        if element.nodedef.is_none() && declared.is_none() {
            self.check_undeclared_types(place, element);
        }
        if category.value == "extract" {
            self.check_extract_index(place, element, declared);
        }
        if value_type.is_none() && !spec.generic_types.is_empty() {
            // A generic node whose output is fixed (a vector's length, a
            // channel): its type is that of its generic inputs, as the
            // document or the nodedef gives them, not guessed from values.
            let generic_input = |port: &&Port| {
                (spec.find_input(&port.name.value))
                    .is_some_and(|(_, i)| i.ty == SocketType::Generic)
            };
            let given = element.inputs.iter().find(generic_input);
            let defined = declared.and_then(|d| d.inputs.iter().find(generic_input));
            value_type = (given.or(defined))
                .and_then(|port| port.type_name.as_ref())
                .filter(|ty| spec.generic_types.iter().any(|t| t.name() == ty.value))
                .map(|ty| Spanned::new(ty.value.clone(), category.span.clone()));
        }
        let mut params = Vec::new();
        for input in &element.inputs {
            // A flat image has one set of texture coordinates.
            if category.value == "texcoord"
                && input.name.value == "index"
                && !self.is_default(place, input, declared)
            {
                let (given, at) = match &input.value {
                    Some(value) => (value.value.as_str(), value.span.clone()),
                    None => ("a connection", input.span.clone()),
                };
                let diagnostic = Diagnostic::new(
                    DiagnosticKind::OutOfRange,
                    format!("only texture coordinate index 0 is available, not {given}"),
                    at,
                )
                .label("this index")
                .note(
                    "a flat image has one set of texture coordinates, (u, v) over the image: \
                     leave `index` out or set it to 0",
                );
                self.report(place, diagnostic);
                continue;
            }
            let unused = declared.is_some_and(|d| {
                (crate::UNUSED_INPUTS.iter())
                    .any(|(nodedef, name)| d.name.value == *nodedef && input.name.value == *name)
            });
            if spec.find_input(&input.name.value).is_none() && unused {
                // Its value or connection is checked, then left out: the
                // pixels are MaterialX's without it.
                self.source(place, input);
                continue;
            }
            if spec.find_input(&input.name.value).is_none()
                && self.is_default(place, input, declared)
            {
                // An input Tessera's node lacks, at MaterialX's default (an
                // image's frameoffset 0): the same pixels without it.
                continue;
            }
            let Some(mut value) = self.source(place, input) else {
                continue;
            };
            // MaterialX's cubic filter: its GLSL renderer filters it as
            // linear (GLTextureHandler::mapFilterTypeToGL), and so does Tessera.
            if input.name.value == "filtertype"
                && value.value == ParamValue::String("cubic".to_string())
            {
                value.value = ParamValue::String("linear".to_string());
            }
            let is_file = (input.type_name.as_ref()).is_some_and(|t| t.value == "filename");
            if is_file && spec.find_input("colorspace").is_some() {
                // A file without a colour space is in the document's working
                // space, Tessera's: its texels are read as they are. So is a
                // float or vector node's, whatever its colour space: MaterialX
                // converts a colour node's file alone
                // (ShaderGraph::applyInputTransforms, `isColorType`).
                let colour_node = (element.type_name.as_ref())
                    .is_none_or(|ty| matches!(ty.value.as_str(), "color3" | "color4"));
                let (space, span) = match self.given_colorspace(place, input) {
                    Some(space) if ColorSpace::parse(&space.value).is_none() => {
                        self.report(place, unknown_colour_space(space));
                        continue;
                    }
                    Some(space) if colour_node => (space.value.clone(), space.span.clone()),
                    Some(space) => ("raw".to_string(), space.span.clone()),
                    None => ("lin_rec709".to_string(), input.name.span.clone()),
                };
                params.push(Param {
                    name: Spanned::new("colorspace".to_string(), span.clone()),
                    value: Spanned::new(ParamValue::String(space), span),
                });
            }
            // A boolean is a float where Tessera's node takes one (the
            // conditionals' value1 and value2, the logical nodes, a
            // constant): true is 1, false 0. An integer given to a generic
            // input (add_integer's in1) is its float.
            let socket = spec.find_input(&input.name.value).map(|(_, i)| i.ty);
            let takes_float = socket == Some(SocketType::Fixed(ValueType::Float))
                || socket == Some(SocketType::Generic);
            let value = match value.value {
                ParamValue::Boolean(b) if takes_float => {
                    Spanned::new(ParamValue::Float(f64::from(u8::from(b))), value.span)
                }
                ParamValue::Integer(i) if socket == Some(SocketType::Generic) => {
                    Spanned::new(ParamValue::Float(i as f64), value.span)
                }
                _ => value,
            };
            params.push(Param {
                name: input.name.clone(),
                value,
            });
        }
        // A conditional giving a boolean gives its test: 1 where it holds.
        let conditional = matches!(
            category.value.as_str(),
            "ifgreater" | "ifgreatereq" | "ifequal"
        );
        if conditional && self.output_of(element) == Some("boolean") {
            for given in params
                .iter()
                .filter(|p| matches!(p.name.value.as_str(), "in1" | "in2"))
            {
                let diagnostic = Diagnostic::new(
                    DiagnosticKind::UnknownInput,
                    format!(
                        "`{}` giving a boolean has no input `{}`: its result is the test itself",
                        category.value, given.name.value
                    ),
                    given.name.span.clone(),
                )
                .label("this input");
                self.report(place, diagnostic);
            }
            params.retain(|p| !matches!(p.name.value.as_str(), "in1" | "in2"));
            for (name, value) in [("in1", 1.0), ("in2", 0.0)] {
                params.push(Param {
                    name: Spanned::new(name.to_string(), category.span.clone()),
                    value: Spanned::new(ParamValue::Float(value), category.span.clone()),
                });
            }
            value_type = Some(Spanned::new("float".to_string(), category.span.clone()));
        }
        // An input left out takes MaterialX's default, where Tessera's
        // differs: the baker's position, or a value where Tessera's reads
        // the geometry (place2d's texcoord is (0, 0) in MaterialX).
        for input in &spec.inputs {
            if params.iter().any(|p| p.name.value == input.name) || input.geometry.is_none() {
                continue;
            }
            let default = declared
                .and_then(|d| d.inputs.iter().find(|i| i.name.value == input.name))
                .filter(|i| i.defaultgeomprop.is_none());
            let value = match default {
                Some(default) => (default.value.as_ref())
                    .and_then(|value| self.constant(default, value, ColourManaged::Yes).ok()),
                None if input.geometry == Some(GeomProp::Position) => {
                    Some(self.position_link(category.span.clone()).value)
                }
                None => None,
            };
            if let Some(value) = value {
                params.push(Param {
                    name: Spanned::new(input.name.clone(), category.span.clone()),
                    value: Spanned::new(respan(value, &category.span), category.span.clone()),
                });
            }
        }
        // Defaults of this signature the Tessera node's own do not give.
        let signature_defaults: Vec<_> = (crate::SIGNATURE_DEFAULTS.iter())
            .filter(|(nodedef, input, _)| {
                declared.is_some_and(|d| d.name.value == *nodedef)
                    && !params.iter().any(|p| p.name.value == *input)
            })
            .collect();
        for (_, input, value) in signature_defaults {
            params.push(Param {
                name: Spanned::new(input.to_string(), category.span.clone()),
                value: Spanned::new(ParamValue::Float(*value), category.span.clone()),
            });
        }
        Some(NodeDesc {
            id: Spanned::new(self.id(place, &element.name), element.name.span.clone()),
            type_name: category.clone(),
            value_type,
            params,
        })
    }

    /// Reports each input of `element` whose `type` is not that of its
    /// `nodedef`'s input of that name.
    fn check_declared_types(&mut self, place: Place, element: &Element, nodedef: &NodeDef) {
        for input in &element.inputs {
            let defined = (nodedef.inputs.iter())
                .find(|d| d.name.value == input.name.value)
                .and_then(|d| d.type_name.as_ref());
            let (Some(given), Some(defined)) = (&input.type_name, defined) else {
                continue;
            };
            if given.value != defined.value {
                let diagnostic = Diagnostic::new(
                    DiagnosticKind::WrongType,
                    format!(
                        "input `{}` is of type {}, but {}'s is of type {}",
                        input.name.value, given.value, nodedef.name.value, defined.value
                    ),
                    given.span.clone(),
                )
                .label("this type");
                self.report(place, diagnostic);
            }
        }
    }

    /// Reports each input of `element`, which no nodedef fits, whose `type`
    /// no nodedef of its category and type gives that input: MaterialX finds
    /// no nodedef for the node (`ND_add_float` has no color3 `in1`). An
    /// input none of them has is told by the graph compiler.
    fn check_undeclared_types(&mut self, place: Place, element: &Element) {
        let nodedefs = self.definitions.of_type(element);
        for input in &element.inputs {
            let Some(given) = &input.type_name else {
                continue;
            };
            let declared: Vec<(&str, &str)> = (nodedefs.iter())
                .filter_map(|d| {
                    let declared = d.inputs.iter().find(|i| i.name.value == input.name.value)?;
                    Some((
                        d.name.value.as_str(),
                        declared.type_name.as_ref()?.value.as_str(),
                    ))
                })
                .collect();
            if declared.is_empty() || declared.iter().any(|(_, ty)| *ty == given.value) {
                continue;
            }
            let types: Vec<String> = (declared.iter().enumerate())
                .map(|(k, (nodedef, ty))| match k {
                    0 => format!("{nodedef}'s is of type {ty}"),
                    _ => format!("{nodedef}'s of type {ty}"),
                })
                .collect();
            let diagnostic = Diagnostic::new(
                DiagnosticKind::WrongType,
                format!(
                    "input `{}` is of type {}, but {}",
                    input.name.value,
                    given.value,
                    types.join(", ")
                ),
                given.span.clone(),
            )
            .label("this type")
            .note(format!(
                "no nodedef of `{}` fits this node's inputs: MaterialX would find none for it",
                element.category.value
            ));
            self.report(place, diagnostic);
        }
    }

    /// Reports an extract's constant `index` that is not a channel of its
    /// input's type: located at the value, with the type's channels (the
    /// Tessera node's own range is any type's, 0 to 3).
    fn check_extract_index(&mut self, place: Place, element: &Element, nodedef: Option<&NodeDef>) {
        let input = |name: &str| element.inputs.iter().find(|i| i.name.value == name);
        let Some(value) = input("index").and_then(|index| index.value.as_ref()) else {
            return;
        };
        // Not a whole number: told where the value is read.
        let Ok(index) = value.value.trim().parse::<i64>() else {
            return;
        };
        let defined = nodedef.and_then(|d| d.inputs.iter().find(|i| i.name.value == "in"));
        let ty = (input("in").and_then(|i| i.type_name.as_ref()))
            .or_else(|| defined.and_then(|d| d.type_name.as_ref()));
        // An extract of a float is told by the node: it reads vectors.
        let Some((ty, count)) = ty
            .and_then(|t| Some((&t.value, channels(&t.value)?)))
            .filter(|(_, count)| *count > 1)
        else {
            return;
        };
        if !(0..count as i64).contains(&index) {
            let diagnostic = Diagnostic::new(
                DiagnosticKind::OutOfRange,
                format!("a {ty} has channels 0 to {}, not {index}", count - 1),
                value.span.clone(),
            )
            .label("this index");
            self.report(place, diagnostic);
        }
    }

    /// MaterialX's combine2 of two values into a four-channel one (a color3
    /// and a float into a color4, `color4CF`; a vector3 and a float,
    /// `vector4VF`, or two vector2s, `vector4VV`, into a vector4): each
    /// input of more than one channel separated (`ID__in1`, `ID__in2`),
    /// and the channels in order into a combine4 (`ID`).
    fn combine_pair(&mut self, place: Place, element: &'d Element) -> Vec<NodeDesc> {
        let at = element.category.span.clone();
        let nodedef = self.definitions.nodedef(element);
        let Some((nodedef, to)) = nodedef.zip(self.output_of(element)) else {
            let diagnostic = Diagnostic::new(
                DiagnosticKind::WrongType,
                "no signature of `combine2` takes these inputs",
                at.clone(),
            )
            .label("this combine2")
            .note("Tessera renders ND_combine2_vector2, ND_combine2_color4CF, ND_combine2_vector4VF, ND_combine2_vector4VV");
            self.report(place, diagnostic);
            return Vec::new();
        };
        let id = self.id(place, &element.name);
        let spanned = |text: &str| Spanned::new(text.to_string(), at.clone());
        let param = |name: &str, value: ParamValue| Param {
            name: spanned(name),
            value: Spanned::new(value, at.clone()),
        };
        let mut nodes = Vec::new();
        let mut channels_in_order = Vec::new();
        for declared in &nodedef.inputs {
            let name = &declared.name.value;
            let ty = (declared.type_name.as_ref()).map_or("float", |t| t.value.as_str());
            let given = element.inputs.iter().find(|i| &i.name.value == name);
            let value = given.and_then(|input| self.source(place, input));
            let count = channels(ty).unwrap_or(1);
            if count == 1 {
                channels_in_order.push(value.map_or(ParamValue::Float(0.0), |v| v.value));
                continue;
            }
            // MaterialX's defaults here are 0, as Tessera's separate's.
            let separated = format!("{id}__{name}");
            nodes.push(NodeDesc {
                id: Spanned::new(separated.clone(), element.name.span.clone()),
                type_name: spanned(&format!("separate{count}")),
                value_type: Some(spanned(ty)),
                params: value
                    .map(|value| Param {
                        name: spanned("in"),
                        value,
                    })
                    .into_iter()
                    .collect(),
            });
            channels_in_order.extend(separated_outputs(count).iter().map(|output| {
                ParamValue::Link(Link {
                    node: separated.clone(),
                    output: Some(output.to_string()),
                })
            }));
        }
        let params = (channels_in_order.into_iter().enumerate())
            .map(|(k, value)| param(&format!("in{}", k + 1), value))
            .collect();
        nodes.push(NodeDesc {
            id: Spanned::new(id, element.name.span.clone()),
            type_name: spanned("combine4"),
            value_type: Some(spanned(to)),
            params,
        });
        nodes
    }

    /// Whether `element` is one of MaterialX's mixes whose `mix` has the
    /// type of `fg` and `bg` (`ND_mix_color3_color3`): a weight per channel.
    fn mixes_per_channel(&self, element: &'d Element) -> bool {
        (self.weight_type(element).and_then(channels)).is_some_and(|n| n > 1)
    }

    /// The type of the `mix` input of `element`'s nodedef.
    fn weight_type(&self, element: &'d Element) -> Option<&'d str> {
        let nodedef = self.definitions.nodedef(element)?;
        let weight = nodedef.inputs.iter().find(|i| i.name.value == "mix")?;
        Some(&weight.type_name.as_ref()?.value)
    }

    /// A mix with a weight per channel: `fg`, `bg` and `mix` each separated
    /// (`ID__fg`, `ID__bg`, `ID__mix`), a float mix per channel
    /// (`ID__channel1`...: the arithmetic of the one-weight mix), and a
    /// combine of them (`ID`).
    fn mix_per_channel(&mut self, place: Place, element: &'d Element) -> Vec<NodeDesc> {
        let at = element.category.span.clone();
        let nodedef = (self.definitions.nodedef(element)).expect("a mix with a nodedef");
        let ty = self.weight_type(element).expect("a mix with a weight");
        let count = channels(ty).expect("a weight of channels");
        let id = self.id(place, &element.name);
        // Only a nodedef named by the node gets here with other inputs.
        for given in &element.inputs {
            if !(nodedef.inputs.iter()).any(|i| i.name.value == given.name.value) {
                let diagnostic = Diagnostic::new(
                    DiagnosticKind::UnknownInput,
                    format!("node `{id}` (mix) has no input `{}`", given.name.value),
                    given.name.span.clone(),
                )
                .label("this input")
                .note(format!("{} has fg, bg and mix", nodedef.name.value));
                self.report(place, diagnostic);
            }
        }
        let spanned = |text: &str| Spanned::new(text.to_string(), at.clone());
        let node = |id: String, type_name: &str, value_type: &str, params| NodeDesc {
            id: Spanned::new(id, element.name.span.clone()),
            type_name: spanned(type_name),
            value_type: Some(spanned(value_type)),
            params,
        };
        let link = |node: &str, output: &str| {
            ParamValue::Link(Link {
                node: node.to_string(),
                output: Some(output.to_string()),
            })
        };
        let param = |name: &str, value: ParamValue| Param {
            name: spanned(name),
            value: Spanned::new(value, at.clone()),
        };
        let mut nodes = Vec::new();
        for name in ["fg", "bg", "mix"] {
            // Left out, each is MaterialX's 0, as Tessera's separate's.
            let given = element.inputs.iter().find(|i| i.name.value == name);
            let value = given.and_then(|input| self.source(place, input));
            let params = value.map(|value| Param {
                name: spanned("in"),
                value,
            });
            nodes.push(node(
                format!("{id}__{name}"),
                &format!("separate{count}"),
                ty,
                params.into_iter().collect(),
            ));
        }
        let mut combined = Vec::new();
        for (k, output) in separated_outputs(count).iter().enumerate() {
            let channel = format!("{id}__channel{}", k + 1);
            let params =
                ["fg", "bg", "mix"].map(|name| param(name, link(&format!("{id}__{name}"), output)));
            nodes.push(node(channel.clone(), "mix", "float", params.into()));
            combined.push(param(
                &format!("in{}", k + 1),
                ParamValue::Link(Link {
                    node: channel,
                    output: None,
                }),
            ));
        }
        nodes.push(node(id, &format!("combine{count}"), ty, combined));
        nodes
    }

    /// MaterialX's texture coordinate as a vector3: Tessera's (a vector2,
    /// `ID__uv`) with a z of 0, as MaterialX's renderers give on a flat
    /// quad (`ID__channels` and `ID`).
    fn texcoord_vector3(&mut self, place: Place, element: &'d Element) -> Vec<NodeDesc> {
        let Some(mut uv) = self.node(place, element) else {
            return Vec::new();
        };
        let id = uv.id.value.clone();
        uv.id.value = format!("{id}__uv");
        let link = ParamValue::Link(Link {
            node: uv.id.value.clone(),
            output: None,
        });
        let at = element.category.span.clone();
        let mut nodes = vec![uv];
        nodes.extend(moved_channels(
            id,
            Spanned::new(link, at.clone()),
            ["vector2", "vector3"],
            &at,
            &element.name.span,
        ));
        nodes
    }

    /// The MaterialX type of `element`'s output: its `type`, or its
    /// nodedef's.
    fn output_of(&self, element: &'d Element) -> Option<&'d str> {
        if let Some(ty) = &element.type_name {
            return Some(&ty.value);
        }
        let nodedef = self.definitions.nodedef(element)?;
        let output = nodedef.outputs.first()?.type_name.as_ref()?;
        Some(&output.value)
    }

    /// MaterialX's `convert`: a float or a color3 widened to the output's
    /// type by a `constant` (as Tessera widens them), or the channels moved
    /// by a separate and a combine node (`ID__channels` and `ID`): a channel
    /// the input lacks is 0, a colour4's alpha 1.
    fn convert(&mut self, place: Place, element: &'d Element) -> Vec<NodeDesc> {
        let at = element.category.span.clone();
        let input = element.inputs.iter().find(|i| i.name.value == "in");
        let from = input.and_then(|i| i.type_name.as_ref());
        let (Some(input), Some(from), Some(to)) = (input, from, &element.type_name) else {
            self.report(
                place,
                Diagnostic::new(
                    DiagnosticKind::WrongType,
                    "a convert needs a `type` and an input `in` with a `type`",
                    at,
                )
                .label("this convert"),
            );
            return Vec::new();
        };
        // The signatures `tessera nodes --materialx` lists, and no other.
        let signature = format!("{}_{}", from.value, to.value);
        let signatures = signatures_of("convert").expect("a supported node");
        if !signatures.contains(&signature.as_str()) {
            let nodedefs: Vec<String> = (signatures.iter())
                .map(|s| nodedef_name("convert", s))
                .collect();
            self.report(
                place,
                Diagnostic::new(
                    DiagnosticKind::WrongType,
                    format!(
                        "a convert from {} to {} is not supported",
                        from.value, to.value
                    ),
                    to.span.clone(),
                )
                .label("this type")
                .note(format!("Tessera renders {}", nodedefs.join(", "))),
            );
            return Vec::new();
        }
        // An integer or a boolean is a float holding its value (1 for
        // true): a constant one becomes its float, widened; a per-sample one
        // is widened by adding 0 (which also makes ceil's -0 the 0 an int
        // converts to). An integer made a boolean is whether it is not 0.
        if matches!(from.value.as_str(), "integer" | "boolean") {
            let to_boolean = to.value == "boolean" && from.value == "integer";
            let id = self.id(place, &element.name);
            let spanned = |text: &str| Spanned::new(text.to_string(), at.clone());
            let node = |type_name: &str, params: Vec<Param>| NodeDesc {
                id: Spanned::new(id.clone(), element.name.span.clone()),
                type_name: spanned(type_name),
                value_type: Some(spanned(tessera_type(&to.value))),
                params,
            };
            let param = |name: &str, value: ParamValue| Param {
                name: spanned(name),
                value: Spanned::new(value, at.clone()),
            };
            let constant =
                |value: f64| node("constant", vec![param("value", ParamValue::Float(value))]);
            return match self.source(place, input).map(|v| v.value) {
                Some(ParamValue::Integer(i)) if to_boolean => {
                    vec![constant(f64::from(u8::from(i != 0)))]
                }
                Some(ParamValue::Integer(i)) => vec![constant(i as f64)],
                Some(ParamValue::Boolean(b)) => vec![constant(f64::from(u8::from(b)))],
                None => vec![constant(0.0)],
                Some(link) if to_boolean => vec![node(
                    "ifequal",
                    vec![
                        param("value1", link),
                        param("value2", ParamValue::Float(0.0)),
                        param("in1", ParamValue::Float(0.0)),
                        param("in2", ParamValue::Float(1.0)),
                    ],
                )],
                Some(link) => vec![node(
                    "add",
                    vec![param("in1", link), param("in2", ParamValue::Float(0.0))],
                )],
            };
        }
        let Some(value) = self.source(place, input) else {
            return Vec::new();
        };
        let id = self.id(place, &element.name);
        moved_channels(id, value, [&from.value, &to.value], &at, &element.name.span)
    }

    /// Whether `input` of `place` reads its nodedef's default value (or is
    /// a dot's note, which is documentation).
    fn is_default(&mut self, place: Place, input: &'d Port, nodedef: Option<&NodeDef>) -> bool {
        let Some(declared) =
            nodedef.and_then(|d| d.inputs.iter().find(|i| i.name.value == input.name.value))
        else {
            return false;
        };
        if nodedef.is_some_and(|d| d.node == "dot") && input.name.value == "note" {
            return true;
        }
        if input.nodename.is_some() || input.nodegraph.is_some() {
            return false;
        }
        let nowhere = 0..0;
        let default = (declared.value.as_ref())
            .and_then(|value| self.constant(declared, value, ColourManaged::Yes).ok());
        let given = self.source(place, input).map(|v| respan(v.value, &nowhere));
        given.is_some() && given == default.map(|d| respan(d, &nowhere))
    }

    /// A link to [`POSITION`], which is then made.
    fn position_link(&mut self, span: std::ops::Range<usize>) -> Spanned<ParamValue> {
        self.reads_position = true;
        let link = Link {
            node: POSITION.to_string(),
            output: None,
        };
        Spanned::new(ParamValue::Link(link), span)
    }

    /// A MaterialX `position` node: [`POSITION`], passed on by a constant.
    fn position_element(&mut self, place: Place, element: &Element) -> NodeDesc {
        let span = element.category.span.clone();
        NodeDesc {
            id: Spanned::new(self.id(place, &element.name), element.name.span.clone()),
            type_name: Spanned::new("constant".to_string(), span.clone()),
            value_type: Some(Spanned::new("vector3".to_string(), span.clone())),
            params: vec![Param {
                name: Spanned::new("value".to_string(), span.clone()),
                value: self.position_link(span),
            }],
        }
    }

    /// A geometric node (normal, tangent, bitangent, geomcolor) as the
    /// constant it is on a flat image ([`geometric_constant`]); its space
    /// and index make no difference there.
    fn geometric_element(
        &mut self,
        place: Place,
        element: &Element,
        ty: &str,
        value: &[f64],
    ) -> NodeDesc {
        let span = element.category.span.clone();
        let number = |v: &f64| Spanned::new(ParamValue::Float(*v), span.clone());
        NodeDesc {
            id: Spanned::new(self.id(place, &element.name), element.name.span.clone()),
            type_name: Spanned::new("constant".to_string(), span.clone()),
            value_type: Some(Spanned::new(ty.to_string(), span.clone())),
            params: vec![Param {
                name: Spanned::new("value".to_string(), span.clone()),
                value: match value {
                    [single] => number(single),
                    _ => Spanned::new(ParamValue::Array(value.iter().map(number).collect()), span),
                },
            }],
        }
    }

    /// Reports a document node already named `id`, an id Tessera gives the
    /// node it makes for `what`.
    fn claim(&mut self, id: &str, what: &str, at: &Span) {
        if let Some((_, name)) = self.ids.get(id) {
            self.errors.push(
                Diagnostic::new(
                    DiagnosticKind::Structure,
                    format!("node `{name}` takes the id `{id}` that Tessera gives {what}"),
                    at.clone(),
                )
                .note("rename the node"),
            );
        }
    }

    /// [`TEXCOORD`], located at the document's root.
    fn texcoord_node(&mut self, document: &Document) -> NodeDesc {
        let at = document.span.clone();
        self.claim(TEXCOORD, "the texture coordinate", &at);
        let text = |text: &str| Spanned::new(text.to_string(), at.clone());
        NodeDesc {
            id: text(TEXCOORD),
            type_name: text("texcoord"),
            value_type: None,
            params: Vec::new(),
        }
    }

    /// [`PLANE`] and [`POSITION`], located at the document's root.
    fn position_nodes(&mut self, document: &Document) -> [NodeDesc; 2] {
        let at = document.span.clone();
        for id in [PLANE, POSITION] {
            self.claim(id, "MaterialX's position", &at);
        }
        let spanned = |value: ParamValue| Spanned::new(value, at.clone());
        let text = |text: &str| Spanned::new(text.to_string(), at.clone());
        let vector = |values: [f64; 3]| {
            spanned(ParamValue::Array(
                values
                    .iter()
                    .map(|&v| spanned(ParamValue::Float(v)))
                    .collect(),
            ))
        };
        let param = |name: &str, value| Param {
            name: text(name),
            value,
        };
        [
            NodeDesc {
                id: text(PLANE),
                type_name: text("position"),
                value_type: None,
                params: Vec::new(),
            },
            NodeDesc {
                id: text(POSITION),
                type_name: text("remap"),
                value_type: Some(text("vector3")),
                params: vec![
                    param(
                        "in",
                        spanned(ParamValue::Link(Link {
                            node: PLANE.to_string(),
                            output: None,
                        })),
                    ),
                    param("outlow", vector([-1.0, -1.0, 0.0])),
                    param("outhigh", vector([1.0, 1.0, 0.0])),
                ],
            },
        ]
    }

    /// `[output]`: the colour read from `port`, and an opaque alpha unless
    /// the output is a colour4.
    fn output_section(
        &mut self,
        port: &Port,
        color: Option<Spanned<ParamValue>>,
    ) -> (Option<Section>, Vec<NodeDesc>) {
        let Some(color) = color else {
            // A connection that failed was reported where it failed.
            self.errors.extend(reading_nothing(port));
            return (None, Vec::new());
        };
        // An integer output is written as the float that carries it.
        let ty = tessera_type((port.type_name.as_ref()).map_or("color3", |t| t.value.as_str()));
        if !matches!(
            ty,
            "float" | "color3" | "color4" | "vector2" | "vector3" | "vector4"
        ) {
            let at = (port.type_name.as_ref()).map_or(port.span.clone(), |t| t.span.clone());
            self.errors.push(
                Diagnostic::new(
                    DiagnosticKind::WrongType,
                    format!("an output of type {ty} cannot be written as an image"),
                    at,
                )
                .label("this type")
                .note(
                    "render a float, integer, boolean, vector2, vector3, vector4, color3 or color4 output",
                ),
            );
            return (None, Vec::new());
        }
        // A vector is written as a colour, as MaterialX's baker writes it:
        // (x, y, 0) for a vector2, a vector4's w as alpha.
        let (color, nodes) = match ty {
            "vector2" | "vector3" | "vector4" => {
                let at = port.span.clone();
                let to = if ty == "vector4" { "color4" } else { "color3" };
                let nodes = moved_channels(OUTPUT.to_string(), color, [ty, to], &at, &at);
                let link = ParamValue::Link(Link {
                    node: OUTPUT.to_string(),
                    output: None,
                });
                (Spanned::new(link, at), nodes)
            }
            _ => (color, Vec::new()),
        };
        // A boolean written as its float, 1 for true.
        let color = match color.value {
            ParamValue::Boolean(b) => {
                Spanned::new(ParamValue::Float(f64::from(u8::from(b))), color.span)
            }
            _ => color,
        };
        let mut params = vec![Param {
            name: Spanned::new("color".to_string(), port.name.span.clone()),
            value: color,
        }];
        if !matches!(ty, "color4" | "vector4") {
            params.push(Param {
                name: Spanned::new("alpha".to_string(), port.name.span.clone()),
                value: Spanned::new(ParamValue::Float(1.0), port.name.span.clone()),
            });
        }
        let section = Section {
            span: port.span.clone(),
            params,
        };
        (Some(section), nodes)
    }
}

/// The error for an output that reads nothing (no nodename, nodegraph,
/// interfacename or value), if `output` is one.
fn reading_nothing(output: &Port) -> Option<Diagnostic> {
    let reads = output.nodename.is_some()
        || output.nodegraph.is_some()
        || output.interfacename.is_some()
        || output.value.is_some();
    (!reads).then(|| {
        Diagnostic::new(
            DiagnosticKind::MissingOutput,
            format!("output `{}` reads nothing", output.name.value),
            output.span.clone(),
        )
        .label("give it a nodename, nodegraph or value")
    })
}

/// The Tessera output a MaterialX link names: a vector's separate3 or
/// separate4 gives outx, outy, outz (and outw), Tessera's outr, outg, outb
/// (and outa).
fn tessera_output_name<'a>(category: &str, output: &'a str) -> &'a str {
    match (category, output) {
        ("separate3", "outx") => "outr",
        ("separate3", "outy") => "outg",
        ("separate3", "outz") => "outb",
        ("separate4", "outx") => "outr",
        ("separate4", "outy") => "outg",
        ("separate4", "outz") => "outb",
        ("separate4", "outw") => "outa",
        _ => output,
    }
}

/// The outputs of Tessera's separate node of `count` channels.
fn separated_outputs(count: usize) -> &'static [&'static str] {
    match count {
        2 => &["outx", "outy"],
        _ => &["outr", "outg", "outb", "outa"][..count],
    }
}

/// `value` with every span inside it `span` (a value of MaterialX's library
/// is located at the node it serves).
fn respan(value: ParamValue, span: &Span) -> ParamValue {
    match value {
        ParamValue::Array(items) => ParamValue::Array(
            (items.into_iter())
                .map(|item| Spanned::new(respan(item.value, span), span.clone()))
                .collect(),
        ),
        other => other,
    }
}

/// The channels of a value of MaterialX type `ty`, if Tessera's nodes pass
/// it between them.
fn channels(ty: &str) -> Option<usize> {
    match ty {
        "float" => Some(1),
        "vector2" => Some(2),
        "vector3" | "color3" => Some(3),
        "color4" | "vector4" => Some(4),
        _ => None,
    }
}

/// The nodes converting `value` from type `from` to `to` (both with
/// [`channels`]), the last of them `id`: a float or a color3 made a color4
/// is widened by a constant; otherwise a separate (`ID__channels`) and a
/// combine move the channels, MaterialX's 0 for a channel the input lacks
/// and 1 for a colour4's alpha. Located at `at`, ids at `name`.
fn moved_channels(
    id: String,
    value: Spanned<ParamValue>,
    [from, to]: [&str; 2],
    at: &Span,
    name: &Span,
) -> Vec<NodeDesc> {
    let (n_from, n_to) = (
        channels(from).expect("a channel type"),
        channels(to).expect("a channel type"),
    );
    let spanned = |text: &str| Spanned::new(text.to_string(), at.clone());
    let param = |name: &str, value: ParamValue| Param {
        name: spanned(name),
        value: Spanned::new(value, at.clone()),
    };
    let node = |id: String, type_name: &str, value_type: &str, params| NodeDesc {
        id: Spanned::new(id, name.clone()),
        type_name: spanned(type_name),
        value_type: Some(spanned(value_type)),
        params,
    };
    if n_from == 1 || (from == "color3" && to == "color4") {
        let value = Param {
            name: spanned("value"),
            value,
        };
        return vec![node(id, "constant", to, vec![value])];
    }
    let separated = format!("{id}__channels");
    let separate = node(
        separated.clone(),
        &format!("separate{n_from}"),
        from,
        vec![Param {
            name: spanned("in"),
            value,
        }],
    );
    let outputs = separated_outputs(n_from);
    let combine_inputs = (0..n_to)
        .map(|k| {
            let value = match k {
                _ if k < n_from => ParamValue::Link(Link {
                    node: separated.clone(),
                    output: Some(outputs[k].to_string()),
                }),
                3 => ParamValue::Float(1.0),
                _ => ParamValue::Float(0.0),
            };
            param(&format!("in{}", k + 1), value)
        })
        .collect();
    let combine = node(id, &format!("combine{n_to}"), to, combine_inputs);
    vec![separate, combine]
}

/// Reads the documents `document` includes (`<xi:include href>`, relative to
/// `dir`), and theirs, into `included`: their definitions serve the
/// document's nodes. A document included twice is read once; a mistake in
/// one is told at the include that reads it.
fn include(
    document: &Document,
    dir: &Path,
    included: &mut Vec<Document>,
    seen: &mut HashSet<PathBuf>,
) -> Result<(), Diagnostic> {
    for href in &document.includes {
        included_from(href, href, dir, included, seen)?;
    }
    Ok(())
}

/// Reads the document `href` names (relative to `dir`), and those it
/// includes; a mistake anywhere is told at `outer`, the including
/// document's own href that led there.
fn included_from(
    outer: &Attr,
    href: &Attr,
    dir: &Path,
    included: &mut Vec<Document>,
    seen: &mut HashSet<PathBuf>,
) -> Result<(), Diagnostic> {
    let path = dir.join(&href.value);
    let failed = |why: String| {
        Diagnostic::new(
            DiagnosticKind::Structure,
            format!("cannot include {}: {why}", path.display()),
            outer.span.clone(),
        )
        .label("this include")
    };
    // A device (/dev/zero) would be read without end, a FIFO waited on.
    let metadata = std::fs::metadata(&path).map_err(|e| failed(e.to_string()))?;
    if !metadata.is_file() {
        return Err(failed(
            "it is not a regular file (a directory, FIFO, socket or device)".into(),
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| failed(e.to_string()))?;
    if !seen.insert(std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone())) {
        return Ok(());
    }
    let inner = crate::document::read(&text).map_err(|errors| {
        let first = &errors[0];
        let offset = first.span.as_ref().map_or(0, |s| s.start);
        let (line, column) = tessera_scene::SceneSource::new(&path, text.as_str()).line_col(offset);
        failed(format!("{line}:{column}: {}", first.message))
    })?;
    let inner_dir = path
        .parent()
        .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
    for inner_href in &inner.includes {
        included_from(outer, inner_href, &inner_dir, included, seen)?;
    }
    included.push(inner);
    Ok(())
}

/// MaterialX's other names of Tessera's colour spaces, listed.
fn aliases() -> String {
    let names: Vec<&str> = (crate::COLOUR_SPACE_ALIASES.iter())
        .map(|(alias, _)| *alias)
        .collect();
    names.join(", ")
}

/// The error for a `colorspace` naming no space Tessera knows (by its name
/// or MaterialX's: [`crate::COLOUR_SPACE_ALIASES`]), listing both.
fn unknown_colour_space(space: &Attr) -> Diagnostic {
    let known: Vec<&str> = ColorSpace::names().collect();
    Diagnostic::new(
        DiagnosticKind::WrongType,
        format!("unknown colour space `{}`", space.value),
        space.span.clone(),
    )
    .label("this colorspace")
    .note(format!("Tessera knows {}", known.join(", ")))
    .note(format!("and MaterialX's names for them: {}", aliases()))
}

/// A MaterialX node Tessera renders neither natively nor by a graph.
fn unsupported(category: &Attr) -> Diagnostic {
    Diagnostic::new(
        DiagnosticKind::UnknownNodeType,
        format!("MaterialX node `{}` is not supported", category.value),
        category.span.clone(),
    )
    .label("this node")
    .note("`tessera nodes --materialx` lists the nodes and types Tessera renders")
}
