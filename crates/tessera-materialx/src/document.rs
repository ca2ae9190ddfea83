//! Reading a MaterialX document: its node graphs, nodes, inputs and
//! outputs, each element and attribute with its byte range in the text.

use std::collections::HashMap;
use std::ops::Range;
use tessera_scene::{Diagnostic, DiagnosticKind, Span, Spanned};

/// An attribute's value and the range of the value in the text.
pub type Attr = Spanned<String>;

/// A `<materialx>` document: its top-level nodes and outputs, its node
/// graphs, and its node definitions.
#[derive(Debug, Default)]
pub struct Document {
    /// The document's own scope: top-level nodes, outputs and inputs.
    pub top: Scope,
    pub graphs: Vec<Scope>,
    pub nodedefs: Vec<NodeDef>,
    /// The documents it includes (`<xi:include href="...">`), as written.
    pub includes: Vec<Attr>,
    /// The range of the root element's start tag.
    pub span: Span,
}

/// A `<nodegraph>`, or the document's top level.
#[derive(Debug, Default)]
pub struct Scope {
    /// None for the top level.
    pub name: Option<Attr>,
    /// The node definition a node graph implements (`nodedef="ND_..."`).
    pub nodedef: Option<Attr>,
    /// A nodegraph's interface (`<input>` children).
    pub inputs: Vec<Port>,
    pub nodes: Vec<Element>,
    pub outputs: Vec<Port>,
}

impl Scope {
    pub fn node(&self, name: &str) -> Option<&Element> {
        self.nodes.iter().find(|n| n.name.value == name)
    }

    pub fn input(&self, name: &str) -> Option<&Port> {
        self.inputs.iter().find(|i| i.name.value == name)
    }
}

/// A node: `<category name="..." type="...">` with `<input>` children.
#[derive(Debug)]
pub struct Element {
    /// The element's tag: the node's category (`multiply`).
    pub category: Attr,
    pub name: Attr,
    pub type_name: Option<Attr>,
    pub nodedef: Option<Attr>,
    pub inputs: Vec<Port>,
}

/// A `<nodedef>`: a node's signature, its inputs with their defaults.
#[derive(Debug)]
pub struct NodeDef {
    pub name: Attr,
    /// The category it defines (`node="circle"`).
    pub node: String,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
}

/// An `<input>` or `<output>`: a value, or a connection.
#[derive(Debug)]
pub struct Port {
    /// The element: `input` or `output`.
    pub tag: &'static str,
    pub name: Attr,
    pub type_name: Option<Attr>,
    pub value: Option<Attr>,
    pub nodename: Option<Attr>,
    pub nodegraph: Option<Attr>,
    pub interfacename: Option<Attr>,
    /// Which output of a multi-output node or graph.
    pub output: Option<Attr>,
    /// The `colorspace` in force here: this element's, or an ancestor's.
    pub colorspace: Option<Attr>,
    /// The `fileprefix` in force here: this element's, or an ancestor's.
    pub fileprefix: String,
    /// A nodedef input's geometric default (`UV0`, `Pobject`).
    pub defaultgeomprop: Option<String>,
    pub span: Span,
}

/// Parses `text` as a MaterialX document.
pub fn read(text: &str) -> Result<Document, Vec<Diagnostic>> {
    // MaterialX (pugixml, blind to namespaces) reads `<xi:include>` whether
    // or not the document declares `xmlns:xi`, and writes it undeclared;
    // roxmltree refuses an undeclared prefix: the tags are read unprefixed.
    let unprefixed;
    let xml = match parse(text) {
        Err(roxmltree::Error::UnknownNamespace(prefix, _)) if prefix == "xi" => {
            unprefixed = without_xi_prefix(text);
            parse(&unprefixed)
        }
        parsed => parsed,
    }
    .map_err(|e| vec![xml_error(text, &e)])?;
    let root = xml.root_element();
    let mut errors = Vec::new();
    if root.tag_name().name() != "materialx" {
        errors.push(
            Diagnostic::new(
                DiagnosticKind::Structure,
                format!(
                    "the root element is <{}>, not <materialx>",
                    root.tag_name().name()
                ),
                tag_span(&root),
            )
            .label("this element"),
        );
        return Err(errors);
    }
    let mut document = Document {
        span: tag_span(&root),
        ..Default::default()
    };
    let inherited = Inherited::default().within(&root);
    let version = Version::of(&root);
    let mut top_names = Names::new("the document");
    for child in root.children().filter(|c| c.is_element()) {
        match child.tag_name().name() {
            "nodegraph" => {
                let Some(name) = attr(&child, "name") else {
                    errors.push(unnamed(&child));
                    continue;
                };
                top_names.claim(&name, &mut errors);
                let mut names = Names::new(format!("node graph `{}`", name.value));
                let mut graph = Scope {
                    name: Some(name),
                    nodedef: attr(&child, "nodedef"),
                    ..Default::default()
                };
                let inherited = inherited.within(&child);
                for element in child.children().filter(|c| c.is_element()) {
                    add_child(
                        &mut graph,
                        &element,
                        &inherited,
                        &version,
                        &mut names,
                        &mut errors,
                    );
                }
                document.graphs.push(graph);
            }
            "include" => match attr(&child, "href") {
                Some(href) => document.includes.push(href),
                None => errors.push(
                    Diagnostic::new(
                        DiagnosticKind::Structure,
                        "<xi:include> has no `href`",
                        tag_span(&child),
                    )
                    .label("this include"),
                ),
            },
            "nodedef" => {
                let Some(name) = attr(&child, "name") else {
                    errors.push(unnamed(&child));
                    continue;
                };
                top_names.claim(&name, &mut errors);
                let Some(node) = child.attribute("node") else {
                    errors.push(
                        Diagnostic::new(
                            DiagnosticKind::Structure,
                            format!(
                                "nodedef `{}` has no `node`: the category it defines",
                                name.value
                            ),
                            tag_span(&child),
                        )
                        .label("this nodedef"),
                    );
                    continue;
                };
                let mut ports = Scope::default();
                let mut names = Names::new(format!("nodedef `{}`", name.value));
                for element in child.children().filter(|c| c.is_element()) {
                    add_child(
                        &mut ports,
                        &element,
                        &inherited,
                        &version,
                        &mut names,
                        &mut errors,
                    );
                }
                document.nodedefs.push(NodeDef {
                    name,
                    node: node.to_string(),
                    inputs: ports.inputs,
                    outputs: ports.outputs,
                });
            }
            // Implementations, materials (a document before 1.38 has
            // <material> elements, of <shaderref>s), looks and the like: not
            // images. Units and geometric properties: definitions, not nodes.
            "implementation" | "typedef" | "material" | "look" | "lookgroup" | "collection"
            | "geominfo" | "propertyset" | "variantset" | "backdrop" | "token" | "unitdef"
            | "unittypedef" | "geompropdef" | "targetdef" | "attributedef" => {}
            _ => add_child(
                &mut document.top,
                &child,
                &inherited,
                &version,
                &mut top_names,
                &mut errors,
            ),
        }
    }
    match errors.is_empty() {
        true => Ok(document),
        false => Err(errors),
    }
}

fn parse(text: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, options)
}

/// `text` with each tag of prefix `xi` written without it, as long as it
/// was (`<xi:include href` as `<include    href`): every place in the text
/// stays where it was, so errors are located in the document as written.
/// A `<` is markup or inside a comment, CDATA section or processing
/// instruction (never in a value), which are not read.
fn without_xi_prefix(text: &str) -> String {
    let mut unprefixed = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = text[at..].find("xi:") {
        let prefix = at + found;
        let name_start = prefix + "xi:".len();
        unprefixed.push_str(&text[at..prefix]);
        if !(text[..prefix].ends_with('<') || text[..prefix].ends_with("</")) {
            unprefixed.push_str("xi:");
            at = name_start;
            continue;
        }
        let name_end = (text[name_start..]
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>'))
        .map_or(text.len(), |end| name_start + end);
        unprefixed.push_str(&text[name_start..name_end]);
        unprefixed.push_str("   ");
        at = name_end;
    }
    unprefixed.push_str(&text[at..]);
    unprefixed
}

/// roxmltree's error `e` about `text`, located where it is: a document cut
/// short at its end (roxmltree places that at 1:1), naming the element left
/// open; a DTD at its `<!DOCTYPE`.
fn xml_error(text: &str, e: &roxmltree::Error) -> Diagnostic {
    use roxmltree::Error;
    match e {
        Error::UnclosedRootNode | Error::UnexpectedEndOfStream => {
            let end = text.trim_end().len();
            let error = |message: String| {
                Diagnostic::new(
                    DiagnosticKind::Syntax,
                    format!("not well-formed XML: {message}"),
                    end..end,
                )
                .label("the document ends here")
            };
            match open_elements(text) {
                Open::InTag(name, start) => {
                    error(format!("the document ends inside the tag <{name}>"))
                        .related(start..start + 1 + name.len(), "this tag is not finished")
                        .note("is the file cut short? a tag ends with `>` (or `/>`)")
                }
                Open::Elements(open) => match open.last() {
                    Some((name, start)) => error(format!(
                        "the document ends before <{name}> is closed"
                    ))
                    .related(*start..start + 1 + name.len(), "opened here")
                    .note(format!(
                        "is the file cut short? an element ends with its end tag (</{name}>), \
                         or closes itself (<{name} ... />)"
                    )),
                    None => error(e.to_string()),
                },
            }
        }
        Error::DtdDetected => {
            let start = text.find("<!DOCTYPE").unwrap_or(0);
            Diagnostic::new(
                DiagnosticKind::Syntax,
                "DTDs are not supported: a MaterialX document has no <!DOCTYPE>",
                start..start + "<!DOCTYPE".len().min(text.len() - start),
            )
            .label("this DOCTYPE")
            .note("remove the <!DOCTYPE ...> declaration: Tessera reads no DTD and expands no entity it declares")
        }
        _ => {
            let at = e.pos();
            let offset = offset_of(text, at.row as usize, at.col as usize);
            Diagnostic::new(
                DiagnosticKind::Syntax,
                format!("not well-formed XML: {e}"),
                offset..offset,
            )
        }
    }
}

/// What is left open at the end of a document cut short.
enum Open<'t> {
    /// A start tag not finished: its name and where it starts.
    InTag(&'t str, usize),
    /// The elements opened and not closed, outermost first: each name and
    /// where its start tag starts.
    Elements(Vec<(&'t str, usize)>),
}

/// The elements `text` leaves open at its end: a scan of its tags (their
/// quoted attribute values, comments, CDATA sections and processing
/// instructions skipped), for a document roxmltree found well-formed up to
/// its end.
fn open_elements(text: &str) -> Open<'_> {
    let mut open: Vec<(&str, usize)> = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find('<') {
        let start = at + found;
        let rest = &text[start..];
        let skip_to = |end: &str| rest.find(end).map_or(text.len(), |i| start + i + end.len());
        if rest.starts_with("<!--") {
            at = skip_to("-->");
        } else if rest.starts_with("<![CDATA[") {
            at = skip_to("]]>");
        } else if rest.starts_with("<?") {
            at = skip_to("?>");
        } else if rest.starts_with("<!") {
            at = skip_to(">");
        } else if rest.starts_with("</") {
            open.pop();
            at = skip_to(">");
        } else {
            let name_end = rest[1..]
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .map_or(rest.len(), |i| i + 1);
            let name = &rest[1..name_end];
            // The tag's end: the first `>` outside quotes.
            let mut quote = None;
            let mut end = None;
            for (i, c) in rest.char_indices().skip(name_end) {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '"' | '\'') => quote = Some(c),
                    (None, '>') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let Some(end) = end else {
                return Open::InTag(name, start);
            };
            if !rest[..end].ends_with('/') {
                open.push((name, start));
            }
            at = start + end + 1;
        }
    }
    Open::Elements(open)
}

/// Adds an `<input>`, `<output>` or node element to `scope`, its name one
/// of the scope's `names`. A `<parameter>` is an input where `version`
/// reads it so.
fn add_child(
    scope: &mut Scope,
    element: &roxmltree::Node,
    inherited: &Inherited,
    version: &Version,
    names: &mut Names,
    errors: &mut Vec<Diagnostic>,
) {
    let Some(name) = attr(element, "name") else {
        errors.push(unnamed(element));
        return;
    };
    names.claim(&name, errors);
    match element.tag_name().name() {
        "input" => scope
            .inputs
            .push(port(element, name, inherited, version, errors)),
        "parameter" => match version.refuses_parameter(element) {
            None => scope
                .inputs
                .push(port(element, name, inherited, version, errors)),
            Some(error) => errors.push(error),
        },
        "output" => scope
            .outputs
            .push(port(element, name, inherited, version, errors)),
        // Organisation and comments carry no pixels.
        "backdrop" | "comment" | "token" => {}
        category => {
            let inherited = inherited.within(element);
            let start = element.range().start + 1;
            let mut input_names = Names::new(format!("node `{}`", name.value));
            let mut inputs = Vec::new();
            for child in element.children().filter(|c| c.is_element()) {
                match child.tag_name().name() {
                    "input" => {}
                    "parameter" => {
                        if let Some(error) = version.refuses_parameter(&child) {
                            errors.push(error);
                            continue;
                        }
                    }
                    // A multi-output node's outputs, which its nodedef gives
                    // too; tokens, which only name parts of file names.
                    "output" | "token" => continue,
                    other => {
                        errors.push(
                            Diagnostic::new(
                                DiagnosticKind::Structure,
                                format!("node `{}` has an unknown element <{other}>", name.value),
                                tag_span(&child),
                            )
                            .label("this element")
                            .note(
                                "a node's elements are <input>, <output> and <token> \
                                 (and <parameter>, MaterialX 1.37's input, in a document before 1.38)",
                            ),
                        );
                        continue;
                    }
                }
                match attr(&child, "name") {
                    Some(name) => {
                        input_names.claim(&name, errors);
                        inputs.push(port(&child, name, &inherited, version, errors));
                    }
                    None => errors.push(unnamed(&child)),
                }
            }
            scope.nodes.push(Element {
                category: Spanned::new(category.to_string(), start..start + category.len()),
                name,
                type_name: attr(element, "type"),
                nodedef: attr(element, "nodedef"),
                inputs,
            });
        }
    }
}

/// A document's MaterialX version: its `version`, or (none given) the
/// current one, as MaterialX reads it.
struct Version {
    /// The major and minor numbers; None for a `version` they cannot be
    /// read from.
    number: Option<(u32, u32)>,
    attr: Option<Attr>,
}

impl Version {
    fn of(root: &roxmltree::Node) -> Version {
        let attr = attr(root, "version");
        let number = match &attr {
            Some(version) => {
                let mut parts = version.value.trim().split('.').map(str::parse::<u32>);
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(Ok(major)), Some(Ok(minor)), None) => Some((major, minor)),
                    _ => None,
                }
            }
            None => Some(CURRENT_VERSION),
        };
        Version { number, attr }
    }

    /// None if `parameter`, a `<parameter>`, is read as an input: in a
    /// document before 1.38, whose parameters MaterialX's
    /// Document::upgradeVersion makes inputs (1.37 to 1.38); else the error
    /// refusing it (MaterialX would leave it unread).
    fn refuses_parameter(&self, parameter: &roxmltree::Node) -> Option<Diagnostic> {
        if self
            .number
            .is_some_and(|(major, minor)| major == 1 && minor < 38)
        {
            return None;
        }
        let this_one = match &self.attr {
            Some(version) => format!("this one is version {}", version.value),
            None => {
                let (major, minor) = CURRENT_VERSION;
                format!("this one gives no `version` (read as the current one, {major}.{minor})")
            }
        };
        let mut error = Diagnostic::new(
            DiagnosticKind::Structure,
            format!("<parameter> is read in documents before MaterialX 1.38, and {this_one}"),
            tag_span(parameter),
        )
        .label("this parameter");
        if let Some(version) = &self.attr {
            error = error.related(version.span.clone(), "the document's version");
        }
        Some(error.note(
            "MaterialX 1.38 made <parameter>s <input>s, upgrading older documents' \
             as it reads them: write <input> here, or give the document its version",
        ))
    }

    /// The error refusing the `channels` of `port` (a swizzle: "rrr") in a
    /// document before 1.39, which MaterialX's Document::upgradeVersion
    /// replaces by nodes (1.38 to 1.39) Tessera does not make; None where
    /// it has none, or in a later document, whose `channels` MaterialX
    /// does not read either.
    fn refuses_channels(&self, port: &roxmltree::Node) -> Option<Diagnostic> {
        let channels = attr(port, "channels")?;
        if !self
            .number
            .is_some_and(|(major, minor)| major == 1 && minor < 39)
        {
            return None;
        }
        Some(
            Diagnostic::new(
                DiagnosticKind::Structure,
                "`channels` is not supported: MaterialX replaces it by nodes in a document \
                 before 1.39",
                channels.span,
            )
            .label("these channels")
            .note(
                "write the nodes that read these channels (extract, convert, separate, \
                 combine), as a MaterialX 1.39 document does",
            ),
        )
    }
}

/// The MaterialX version Tessera reads (its library's: 1.39.5).
const CURRENT_VERSION: (u32, u32) = (1, 39);

/// An `<input>` or `<output>` (or an input's `<parameter>`); its
/// `channels` is reported where `version` refuses it.
fn port(
    element: &roxmltree::Node,
    name: Attr,
    inherited: &Inherited,
    version: &Version,
    errors: &mut Vec<Diagnostic>,
) -> Port {
    errors.extend(version.refuses_channels(element));
    let Inherited {
        fileprefix,
        colorspace,
    } = inherited.within(element);
    Port {
        tag: match element.tag_name().name() {
            "output" => "output",
            _ => "input",
        },
        name,
        type_name: attr(element, "type"),
        value: attr(element, "value"),
        nodename: attr(element, "nodename"),
        nodegraph: attr(element, "nodegraph"),
        interfacename: attr(element, "interfacename"),
        output: attr(element, "output"),
        colorspace,
        fileprefix,
        defaultgeomprop: element.attribute("defaultgeomprop").map(str::to_string),
        span: tag_span(element),
    }
}

/// The names given in one scope (a document's top level, a node graph, a
/// node's inputs), each once: MaterialX's siblings have distinct names.
struct Names {
    /// The scope, as a message names it: "node graph `G`".
    scope: String,
    first: HashMap<String, Span>,
}

impl Names {
    fn new(scope: impl Into<String>) -> Names {
        Names {
            scope: scope.into(),
            first: HashMap::new(),
        }
    }

    /// Takes `name`, or reports it at this second use, naming the first.
    fn claim(&mut self, name: &Attr, errors: &mut Vec<Diagnostic>) {
        match self.first.get(&name.value) {
            Some(first) => errors.push(
                Diagnostic::new(
                    DiagnosticKind::Structure,
                    format!("{} has two elements named `{}`", self.scope, name.value),
                    name.span.clone(),
                )
                .label("the second")
                .related(first.clone(), "the first")
                .note("an element's children have distinct names in MaterialX: rename one"),
            ),
            None => {
                self.first.insert(name.value.clone(), name.span.clone());
            }
        }
    }
}

fn unnamed(element: &roxmltree::Node) -> Diagnostic {
    Diagnostic::new(
        DiagnosticKind::Structure,
        format!("<{}> has no `name`", element.tag_name().name()),
        tag_span(element),
    )
    .label("this element")
}

/// The attribute `name` of `element`, located at its value.
fn attr(element: &roxmltree::Node, name: &str) -> Option<Attr> {
    let attribute = element.attributes().find(|a| a.name() == name)?;
    Some(Spanned::new(
        attribute.value().to_string(),
        attribute.range_value(),
    ))
}

/// The attributes an element takes from its ancestors unless it has its own.
#[derive(Debug, Clone, Default)]
struct Inherited {
    fileprefix: String,
    colorspace: Option<Attr>,
}

impl Inherited {
    /// What is in force within `element`.
    fn within(&self, element: &roxmltree::Node) -> Inherited {
        Inherited {
            fileprefix: (element.attribute("fileprefix"))
                .map_or_else(|| self.fileprefix.clone(), str::to_string),
            // MaterialX's aliases become Tessera's names here, once: the
            // value and file reading them, and a converted scene, see those.
            // An empty one is none (MaterialX's, over an ancestor's): the
            // working space, read as it is.
            colorspace: attr(element, "colorspace")
                .map(|space| {
                    let name = match space.value.as_str() {
                        "" => "lin_rec709",
                        name => crate::colour_space_name(name),
                    };
                    Spanned::new(name.to_string(), space.span)
                })
                .or_else(|| self.colorspace.clone()),
        }
    }
}

/// The element's start tag: `<` to the end of its name.
fn tag_span(element: &roxmltree::Node) -> Range<usize> {
    let start = element.range().start;
    start..start + 1 + element.tag_name().name().len()
}

/// The byte offset of a 1-based row and column (in characters).
fn offset_of(text: &str, row: usize, col: usize) -> usize {
    let line_start = (text.split_inclusive('\n'))
        .take(row.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let line = &text[line_start.min(text.len())..];
    line_start
        + (line.char_indices())
            .nth(col.saturating_sub(1))
            .map_or(line.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0"?>
<materialx version="1.39" fileprefix="textures/">
  <nodegraph name="NG">
    <input name="scale" type="float" value="2" />
    <multiply name="m" type="color3">
      <input name="in1" type="color3" value="0.5, 0.25, 1" />
      <input name="in2" type="float" interfacename="scale" />
    </multiply>
    <image name="i" type="color4">
      <input name="file" type="filename" value="wood.png" colorspace="srgb_texture" />
    </image>
    <output name="out" type="color3" nodename="m" />
  </nodegraph>
  <standard_surface name="s" type="surfaceshader" />
</materialx>
"#;

    #[test]
    fn graphs_nodes_and_ports_are_read_with_their_places() {
        let document = read(DOC).unwrap();
        let graph = &document.graphs[0];
        assert_eq!(graph.name.as_ref().unwrap().value, "NG");
        assert_eq!(
            graph.input("scale").unwrap().value.as_ref().unwrap().value,
            "2"
        );
        let m = graph.node("m").unwrap();
        assert_eq!(&DOC[m.category.span.clone()], "multiply");
        let in1 = m.inputs[0].value.as_ref().unwrap();
        assert_eq!(&DOC[in1.span.clone()], "0.5, 0.25, 1");
        let file = &graph.node("i").unwrap().inputs[0];
        assert_eq!(file.fileprefix, "textures/");
        assert_eq!(file.colorspace.as_ref().unwrap().value, "srgb_texture");
        assert_eq!(graph.outputs[0].nodename.as_ref().unwrap().value, "m");
        assert_eq!(document.top.nodes[0].category.value, "standard_surface");
    }

    #[test]
    fn malformed_documents_are_located() {
        let errors = read("<materialx>\n  <nodegraph name='a'>\n</materialx>").unwrap_err();
        assert!(
            errors[0].message.starts_with("not well-formed XML"),
            "{}",
            errors[0].message
        );
        let errors = read("<mtlx/>").unwrap_err();
        assert_eq!(
            errors[0].message,
            "the root element is <mtlx>, not <materialx>"
        );
        let errors = read("<materialx><add type='float'/></materialx>").unwrap_err();
        assert_eq!(errors[0].message, "<add> has no `name`");
        assert_eq!(errors[0].span, Some(11..15));
    }

    #[test]
    fn a_document_cut_short_is_located_at_its_end_naming_what_is_open() {
        // roxmltree places these at 1:1.
        let text = "<materialx>\n  <nodegraph name='a'>\n    <!-- <b> -->\n    <add name='x' note='a>b'/>\n";
        let errors = read(text).unwrap_err();
        assert_eq!(
            errors[0].message,
            "not well-formed XML: the document ends before <nodegraph> is closed"
        );
        let end = text.trim_end().len();
        assert_eq!(errors[0].span, Some(end..end));
        assert_eq!(errors[0].related[0].0, 14..24);
        let errors = read("<materialx>\n  <nodegraph name='a>").unwrap_err();
        assert_eq!(
            errors[0].message,
            "not well-formed XML: the document ends inside the tag <nodegraph>"
        );
    }

    #[test]
    fn an_undeclared_xi_prefix_is_read_away_keeping_every_place() {
        let text = "<materialx>\n  <!-- xi: -->\n  <xi:include href=\"a.mtlx\"/>\n  <xi:include href=\"b.mtlx\"></xi:include>\n</materialx>";
        let unprefixed = without_xi_prefix(text);
        assert_eq!(
            unprefixed,
            "<materialx>\n  <!-- xi: -->\n  <include    href=\"a.mtlx\"/>\n  <include    href=\"b.mtlx\"></include   >\n</materialx>"
        );
        let document = read(text).unwrap();
        let hrefs: Vec<&str> = (document.includes.iter())
            .map(|href| &text[href.span.clone()])
            .collect();
        assert_eq!(hrefs, ["a.mtlx", "b.mtlx"]);
        // Another undeclared prefix is still refused.
        let errors = read("<materialx><ns:include href='a.mtlx'/></materialx>").unwrap_err();
        assert_eq!(
            errors[0].message,
            "not well-formed XML: an unknown namespace prefix 'ns' at 1:13"
        );
    }

    #[test]
    fn a_dtd_is_refused_at_its_doctype() {
        let text = "<?xml version='1.0'?>\n<!DOCTYPE materialx>\n<materialx/>\n";
        let errors = read(text).unwrap_err();
        assert_eq!(
            errors[0].message,
            "DTDs are not supported: a MaterialX document has no <!DOCTYPE>"
        );
        assert_eq!(errors[0].span, Some(22..31));
    }

    #[test]
    fn an_empty_colour_space_is_the_working_space_over_an_ancestors() {
        let document = read(
            r#"<materialx colorspace="srgb_texture"><nodegraph name="g" colorspace=""><image name="i" type="color3"><input name="file" type="filename" value="a.png" /></image></nodegraph></materialx>"#,
        )
        .unwrap();
        let file = &document.graphs[0].nodes[0].inputs[0];
        assert_eq!(file.colorspace.as_ref().unwrap().value, "lin_rec709");
    }
}
