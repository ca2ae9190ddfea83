//! A scene written back as TOML (`tessera convert`): what [`parse_scene`]
//! reads gives the same scene again, spans aside.
//!
//! [`parse_scene`]: crate::parse_scene

use crate::{NodeDesc, Param, ParamValue, SceneDesc, Section};
use toml::{Table, Value};

/// `scene` as the text of a TOML scene file.
pub fn write_scene(scene: &SceneDesc) -> String {
    let mut document = Table::new();
    let mut section = |name: &str, section: &Option<Section>| {
        if let Some(section) = section {
            document.insert(name.to_string(), Value::Table(params(&section.params)));
        }
    };
    section("image", &scene.image);
    section("python", &scene.python);
    let nodes: Table = (scene.nodes.iter())
        .map(|node| (node.id.value.clone(), Value::Table(node_table(node))))
        .collect();
    document.insert("nodes".to_string(), Value::Table(nodes));
    if let Some(output) = &scene.output {
        document.insert("output".to_string(), Value::Table(params(&output.params)));
    }
    document.to_string()
}

fn node_table(node: &NodeDesc) -> Table {
    let mut table = Table::new();
    table.insert("type".into(), Value::String(node.type_name.value.clone()));
    if let Some(ty) = &node.value_type {
        table.insert("value_type".into(), Value::String(ty.value.clone()));
    }
    // An input named as the node table's own keys (ramp's `type`) can only
    // be given in its `inputs` sub-table.
    let (own_keys, inputs): (Vec<Param>, Vec<Param>) =
        (node.params.iter().cloned()).partition(|p| NODE_KEYS.contains(&p.name.value.as_str()));
    table.extend(params(&inputs));
    if !own_keys.is_empty() {
        // Beside any inputs the scene already gave in that sub-table.
        let sub_table = table
            .entry("inputs")
            .or_insert_with(|| Value::Table(Table::new()));
        if let Value::Table(sub_table) = sub_table {
            sub_table.extend(params(&own_keys));
        }
    }
    table
}

/// The keys a node table uses for itself.
const NODE_KEYS: [&str; 2] = ["type", "value_type"];

fn params(params: &[Param]) -> Table {
    (params.iter())
        .map(|p| (p.name.value.clone(), toml_value(&p.value.value)))
        .collect()
}

fn toml_value(value: &ParamValue) -> Value {
    match value {
        ParamValue::Link(link) => Value::String(link.to_string()),
        ParamValue::Boolean(b) => Value::Boolean(*b),
        ParamValue::Integer(i) => Value::Integer(*i),
        ParamValue::Float(f) => Value::Float(*f),
        // A string that starts with `@` is written doubled, not as a link.
        ParamValue::String(s) if s.starts_with('@') => Value::String(format!("@{s}")),
        ParamValue::String(s) => Value::String(s.clone()),
        ParamValue::Array(items) => {
            Value::Array(items.iter().map(|i| toml_value(&i.value)).collect())
        }
        ParamValue::Table(entries) => Value::Table(params(entries)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Spanned, parse_scene};

    #[test]
    fn a_written_scene_parses_to_the_same_scene() {
        let text = r#"
[image]
width = 64
height = 32

[nodes.tex]
type = "texcoord"

[nodes.v]
type = "add"
value_type = "vector3"
in1 = [1.0, 2, 3.5]
in2 = "@tex.out"
label = "@@not a link"
table = { a = 1, b = true }

[output]
color = "@v"
alpha = 1.0
"#;
        let scene = parse_scene(text).unwrap();
        let written = write_scene(&scene);
        let again = parse_scene(&written).unwrap_or_else(|e| panic!("{written}\n{e:?}"));
        // Read back, it is the same scene: its nodes, types, links and
        // values (spans aside), and it writes the same text.
        assert_eq!(again.nodes.len(), 2);
        assert_eq!(again.nodes[1].value_type.as_ref().unwrap().value, "vector3");
        let values = |s: &SceneDesc| -> Vec<(String, ParamValue)> {
            (s.nodes.iter().flat_map(|n| &n.params))
                .filter(|p| !matches!(p.value.value, ParamValue::Array(_) | ParamValue::Table(_)))
                .map(|p| (p.name.value.clone(), p.value.value.clone()))
                .collect()
        };
        assert_eq!(values(&again), values(&scene));
        assert_eq!(write_scene(&again), written);
        assert!(written.contains("in1 = [1.0, 2, 3.5]\n"), "{written}");
        assert!(written.contains("label = \"@@not a link\"\n"), "{written}");
    }

    #[test]
    fn an_input_named_as_a_node_key_is_written_in_the_inputs_sub_table() {
        // As a MaterialX ramp translates: its input `type` among the others.
        let mut scene = parse_scene("[nodes.r]\ntype = \"ramp\"\nnum_intervals = 3\n").unwrap();
        let input = |name: &str, value| Param {
            name: Spanned::new(name.to_string(), 0..0),
            value: Spanned::new(value, 0..0),
        };
        (scene.nodes[0].params).push(input("type", ParamValue::Integer(2)));
        (scene.nodes[0].params).push(input("value_type", ParamValue::Float(1.5)));
        let written = write_scene(&scene);
        assert!(
            written.ends_with(
                "type = \"ramp\"\nnum_intervals = 3\n\n[nodes.r.inputs]\ntype = 2\nvalue_type = 1.5\n"
            ),
            "{written}"
        );
        let again = parse_scene(&written).unwrap_or_else(|e| panic!("{written}\n{e:?}"));
        assert_eq!(again.nodes[0].type_name.value, "ramp");
        assert_eq!(write_scene(&again), written);
    }
}
