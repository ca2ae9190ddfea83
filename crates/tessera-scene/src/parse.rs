//! TOML text to [`SceneDesc`].

use crate::{
    Diagnostic, DiagnosticKind, Link, NodeDesc, Param, ParamValue, SceneDesc, SceneErrors, Section,
    Span, Spanned,
};
use toml::de::{DeTable, DeValue};

type TomlSpanned<T> = toml::Spanned<T>;

const SECTIONS: [&str; 4] = ["image", "nodes", "output", "python"];

/// Parses scene text. Every problem found is reported, not just the first.
pub fn parse_scene(text: &str) -> Result<SceneDesc, SceneErrors> {
    let document = DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        Diagnostic::new(
            DiagnosticKind::Syntax,
            format!("invalid TOML: {}", e.message().trim_end()),
            span,
        )
        .label("here")
    })?;
    let mut errors = Vec::new();
    let mut scene = SceneDesc {
        image: None,
        nodes: Vec::new(),
        output: None,
        python: None,
        span: 0..text.len(),
    };
    for (key, value) in document.get_ref() {
        let key_span = key.span();
        match key.get_ref().as_ref() {
            "image" => scene.image = section_of(value, key_span, &mut errors),
            "output" => scene.output = section_of(value, key_span, &mut errors),
            "python" => scene.python = section_of(value, key_span, &mut errors),
            "nodes" => scene.nodes = nodes_of(value, key_span, &mut errors),
            other => errors.push(
                Diagnostic::new(
                    DiagnosticKind::Structure,
                    format!("unknown table `{other}`"),
                    key_span,
                )
                .label("not a scene table")
                .note(format!(
                    "a scene has the tables {}",
                    SECTIONS.map(|s| format!("[{s}]")).join(", ")
                )),
            ),
        }
    }
    if errors.is_empty() {
        Ok(scene)
    } else {
        Err(SceneErrors(errors))
    }
}

fn section_of(
    value: &TomlSpanned<DeValue>,
    key_span: Span,
    errors: &mut Vec<Diagnostic>,
) -> Option<Section> {
    let params = table_params(value, key_span.clone(), errors)?;
    Some(Section {
        span: key_span,
        params,
    })
}

/// The entries of a table as parameters; an error if `value` is no table.
fn table_params(
    value: &TomlSpanned<DeValue>,
    key_span: Span,
    errors: &mut Vec<Diagnostic>,
) -> Option<Vec<Param>> {
    let DeValue::Table(table) = value.get_ref() else {
        errors.push(
            Diagnostic::new(DiagnosticKind::Structure, "expected a table", value.span())
                .label(format!("{} given", toml_type(value.get_ref())))
                .related(key_span, "for this key"),
        );
        return None;
    };
    let mut params = Vec::new();
    for (key, value) in table {
        match convert(value) {
            Ok(converted) => params.push(Param {
                name: Spanned::new(key.get_ref().to_string(), key.span()),
                value: converted,
            }),
            Err(d) => errors.push(d),
        }
    }
    Some(params)
}

fn nodes_of(
    value: &TomlSpanned<DeValue>,
    key_span: Span,
    errors: &mut Vec<Diagnostic>,
) -> Vec<NodeDesc> {
    let DeValue::Table(table) = value.get_ref() else {
        errors.push(
            Diagnostic::new(
                DiagnosticKind::Structure,
                "`nodes` must be a table of node tables, as `[nodes.ID]`",
                value.span(),
            )
            .related(key_span, "here"),
        );
        return Vec::new();
    };
    let mut nodes = Vec::new();
    for (id, node) in table {
        let id = Spanned::new(id.get_ref().to_string(), id.span());
        if let Some(problem) = id_problem(&id.value) {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::Structure,
                    format!("invalid node id {:?}: {problem}", id.value),
                    id.span.clone(),
                )
                .label("this id")
                .note(
                    "node ids are used in links (`@id.output`): use letters, digits, `_` and `-`",
                ),
            );
            continue;
        }
        let Some(mut params) = table_params(node, id.span.clone(), errors) else {
            continue;
        };
        let (Ok(type_name), Ok(value_type)) = (
            take_string(&mut params, "type", &id.value, errors),
            take_string(&mut params, "value_type", &id.value, errors),
        ) else {
            continue;
        };
        let Some(type_name) = type_name else {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::Structure,
                    format!("node `{}` has no `type`", id.value),
                    id.span.clone(),
                )
                .label("this node")
                .note("add a line such as `type = \"noise2d\"`; `tessera nodes` lists the types"),
            );
            continue;
        };
        nodes.push(NodeDesc {
            id,
            type_name,
            value_type,
            params,
        });
    }
    nodes
}

/// Takes the string `key` out of a node's parameters: None when absent,
/// Err (reported) when it is not a string.
fn take_string(
    params: &mut Vec<Param>,
    key: &str,
    node: &str,
    errors: &mut Vec<Diagnostic>,
) -> Result<Option<Spanned<String>>, ()> {
    let Some(at) = params.iter().position(|p| p.name.value == key) else {
        return Ok(None);
    };
    let Param { value, .. } = params.remove(at);
    match value.value {
        ParamValue::String(name) => Ok(Some(Spanned::new(name, value.span))),
        other => {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::WrongType,
                    format!("node `{node}`: `{key}` must be a string"),
                    value.span,
                )
                .label(format!("{} given", other.describe())),
            );
            Err(())
        }
    }
}

fn id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("it is empty")
    } else if id.contains('.') {
        Some("it contains `.`")
    } else if id.starts_with('@') {
        Some("it starts with `@`")
    } else if id.chars().any(char::is_whitespace) {
        Some("it contains white space")
    } else {
        None
    }
}

fn convert(value: &TomlSpanned<DeValue>) -> Result<Spanned<ParamValue>, Diagnostic> {
    let span = value.span();
    let converted = match value.get_ref() {
        DeValue::String(s) => string_value(s, span.clone())?,
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(v) => ParamValue::Integer(v),
            Err(_) => {
                return Err(Diagnostic::new(
                    DiagnosticKind::OutOfRange,
                    "integer does not fit in 64 bits",
                    span,
                ));
            }
        },
        DeValue::Float(f) => match f.as_str().parse::<f64>() {
            Ok(v) => ParamValue::Float(v),
            Err(_) => {
                return Err(Diagnostic::new(
                    DiagnosticKind::Syntax,
                    format!("cannot read `{}` as a number", f.as_str()),
                    span,
                ));
            }
        },
        DeValue::Boolean(b) => ParamValue::Boolean(*b),
        DeValue::Datetime(_) => {
            return Err(Diagnostic::new(
                DiagnosticKind::WrongType,
                "dates and times are not scene values",
                span,
            )
            .label("a datetime"));
        }
        DeValue::Array(items) => {
            ParamValue::Array(items.iter().map(convert).collect::<Result<Vec<_>, _>>()?)
        }
        DeValue::Table(table) => ParamValue::Table(
            table
                .iter()
                .map(|(k, v)| {
                    Ok(Param {
                        name: Spanned::new(k.get_ref().to_string(), k.span()),
                        value: convert(v)?,
                    })
                })
                .collect::<Result<Vec<_>, Diagnostic>>()?,
        ),
    };
    Ok(Spanned::new(converted, span))
}

/// `"@id"` and `"@id.output"` are links, `"@@text"` is the literal `"@text"`.
pub fn string_value(s: &str, span: Span) -> Result<ParamValue, Diagnostic> {
    let Some(target) = s.strip_prefix('@') else {
        return Ok(ParamValue::String(s.to_string()));
    };
    if target.starts_with('@') {
        return Ok(ParamValue::String(target.to_string()));
    }
    let (node, output) = match target.split_once('.') {
        Some((node, output)) => (node, Some(output.to_string())),
        None => (target, None),
    };
    if node.is_empty() || output.as_deref() == Some("") {
        return Err(Diagnostic::new(
            DiagnosticKind::BadLink,
            format!("malformed link {s:?}"),
            span,
        )
        .label("expected `@node` or `@node.output`")
        .note("to write a string that starts with `@`, double it: \"@@text\""));
    }
    Ok(ParamValue::Link(Link {
        node: node.to_string(),
        output,
    }))
}

fn toml_type(value: &DeValue) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENE: &str = r#"
[image]
width = 64
height = 32

[nodes.uv]
type = "texcoord"

[nodes.grain]
type = "noise2d"
texcoord = "@uv"
label = "@@home"
pivot = 0.5

[output]
color = "@grain.out"
"#;

    #[test]
    fn parses_nodes_in_file_order_with_spans() {
        let scene = parse_scene(SCENE).unwrap();
        let ids: Vec<&str> = scene.nodes.iter().map(|n| n.id.value.as_str()).collect();
        assert_eq!(ids, ["uv", "grain"]);
        let grain = &scene.nodes[1];
        assert_eq!(grain.type_name.value, "noise2d");
        assert_eq!(&SCENE[grain.type_name.span.clone()], "\"noise2d\"");
        let texcoord = &grain.params[0];
        assert_eq!(texcoord.name.value, "texcoord");
        assert_eq!(
            texcoord.value.value,
            ParamValue::Link(Link {
                node: "uv".into(),
                output: None
            })
        );
        assert_eq!(
            grain.params[1].value.value,
            ParamValue::String("@home".into())
        );
        let output = scene.output.unwrap();
        assert_eq!(
            output.get("color").unwrap().value.value,
            ParamValue::Link(Link {
                node: "grain".into(),
                output: Some("out".into())
            })
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse_scene("[image]\nwidth = = 3\n").unwrap_err();
        assert_eq!(err.0[0].kind, DiagnosticKind::Syntax);
        assert!(
            err.0[0].message.starts_with("invalid TOML"),
            "{}",
            err.0[0].message
        );
        assert_eq!(err.0[0].span.clone().unwrap().start, 16);
    }

    #[test]
    fn a_node_without_type_is_reported_at_its_id() {
        let text = "[nodes.lonely]\ncolor = 1.0\n";
        let err = parse_scene(text).unwrap_err();
        assert_eq!(err.0[0].message, "node `lonely` has no `type`");
        assert_eq!(&text[err.0[0].span.clone().unwrap()], "lonely");
    }

    #[test]
    fn unknown_tables_and_bad_links_are_all_reported() {
        let text = "[imgae]\nwidth = 3\n[nodes.a]\ntype = \"mix\"\nfg = \"@\"\n";
        let err = parse_scene(text).unwrap_err();
        let messages: Vec<&str> = err.0.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["unknown table `imgae`", "malformed link \"@\""]);
    }

    #[test]
    fn dotted_ids_are_rejected() {
        let err = parse_scene("[nodes.\"a.b\"]\ntype = \"mix\"\n").unwrap_err();
        assert_eq!(err.0[0].message, "invalid node id \"a.b\": it contains `.`");
    }

    #[test]
    fn line_and_column_count_characters() {
        let source = crate::SceneSource::new("s.toml", "a = 1\nbé = \"x\"\n");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(6), (2, 1));
        assert_eq!(source.line_col(12), (2, 6));
    }
}
