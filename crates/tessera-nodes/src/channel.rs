//! MaterialX's channel nodes: floats combined into a vector or colour, a
//! vector or colour separated into floats, one channel extracted.

use crate::kind::kind;
use std::sync::Arc;
use tessera_core::{
    Buffer, BuildError, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType,
    TileCtx, Value, ValueType,
};

/// Copies input `c` into channel `c` of the output.
struct Combine;

impl Node for Combine {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let out = &mut outputs[0];
        for (c, input) in inputs.iter().enumerate() {
            out.plane_mut(c).copy_from_slice(input.plane(0));
        }
        Ok(())
    }
}

fn combine(name: &str, types: &[ValueType]) -> Arc<dyn NodeKind> {
    let channels = types[0].channels().expect("varying");
    let mut spec = NodeSpec::new(
        name,
        &format!(
            "a {} from {channels} floats, in1 the first channel",
            types
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    )
    .generic_over(types);
    for k in 1..=channels {
        let doc = format!("channel {k}");
        spec = spec.input(InputSpec::fixed(
            &format!("in{k}"),
            ValueType::Float,
            Value::Float(0.0),
            &doc,
        ));
    }
    let spec = spec.output(OutputSpec::new(
        "out",
        SocketType::Generic,
        "the combined value",
    ));
    kind(spec, |_| Ok(Box::new(Combine)))
}

pub fn combine2() -> Arc<dyn NodeKind> {
    combine("combine2", &[ValueType::Vector2])
}

pub fn combine3() -> Arc<dyn NodeKind> {
    combine("combine3", &[ValueType::Color3, ValueType::Vector3])
}

pub fn combine4() -> Arc<dyn NodeKind> {
    combine("combine4", &[ValueType::Color4, ValueType::Vector4])
}

/// Copies channel `c` of the input into output `c`.
struct Separate;

impl Node for Separate {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        for (c, output) in outputs.iter_mut().enumerate() {
            output.plane_mut(0).copy_from_slice(inputs[0].plane(c));
        }
        Ok(())
    }
}

/// A node splitting a value of `types` into one float output per channel,
/// named `outputs` (MaterialX's names for the first type; the translator of
/// documents maps a vector's outx, outy, outz, outw onto outr, outg, outb,
/// outa).
fn separate(name: &str, types: &[ValueType], outputs: &[&str]) -> Arc<dyn NodeKind> {
    let mut spec = NodeSpec::new(
        name,
        &format!(
            "the channels of a {} as floats: {}",
            types
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" or "),
            outputs.join(", ")
        ),
    )
    .generic_over(types)
    .input(InputSpec::generic("in", 0.0, "the value to separate"));
    for (c, output) in outputs.iter().enumerate() {
        let doc = format!("channel {}", c + 1);
        spec = spec.output(OutputSpec::new(
            output,
            SocketType::Fixed(ValueType::Float),
            &doc,
        ));
    }
    kind(spec, |_| Ok(Box::new(Separate)))
}

pub fn separate2() -> Arc<dyn NodeKind> {
    separate("separate2", &[ValueType::Vector2], &["outx", "outy"])
}

pub fn separate3() -> Arc<dyn NodeKind> {
    separate(
        "separate3",
        &[ValueType::Color3, ValueType::Vector3],
        &["outr", "outg", "outb"],
    )
}

pub fn separate4() -> Arc<dyn NodeKind> {
    separate(
        "separate4",
        &[ValueType::Color4, ValueType::Vector4],
        &["outr", "outg", "outb", "outa"],
    )
}

/// Channel `index` of the input.
struct Extract {
    index: usize,
}

impl Node for Extract {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        outputs[0]
            .plane_mut(0)
            .copy_from_slice(inputs[0].plane(self.index));
        Ok(())
    }
}

pub fn extract() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new("extract", "one channel of a vector or colour, as a float")
        .generic_over(&[
            ValueType::Color3,
            ValueType::Color4,
            ValueType::Vector2,
            ValueType::Vector3,
            ValueType::Vector4,
        ])
        .input(InputSpec::generic("in", 0.0, "the value"))
        .input(
            InputSpec::fixed(
                "index",
                ValueType::Integer,
                Value::Integer(0),
                "the channel, from 0",
            )
            .range(0.0, 3.0),
        )
        .output(OutputSpec::new(
            "out",
            SocketType::Fixed(ValueType::Float),
            "the channel",
        ));
    kind(spec, |args| {
        let ty = args.generic_type();
        let channels = ty.channels().expect("varying");
        let index = args.integer("index");
        if index as usize >= channels {
            return Err(BuildError::at_input(
                "index",
                format!(
                    "a {} has channels 0 to {}, not {index}",
                    ty.name(),
                    channels - 1
                ),
            ));
        }
        Ok(Box::new(Extract {
            index: index as usize,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{eval_node, eval_one, frame};
    use tessera_core::{BuildArgs, Rect};

    #[test]
    fn combine_and_separate_are_inverse() {
        let combined = eval_one(
            &combine3(),
            Some(ValueType::Vector3),
            &[&[1.0], &[-2.0], &[0.5]],
        );
        assert_eq!(combined[0], [1.0, -2.0, 0.5]);
        let separated = eval_one(
            &separate4(),
            Some(ValueType::Color4),
            &[&[0.1, 0.2, 0.3, 0.4]],
        );
        assert_eq!(separated, [[0.1], [0.2], [0.3], [0.4]]);
        assert_eq!(
            eval_one(&combine2(), Some(ValueType::Vector2), &[&[3.0], &[4.0]])[0],
            [3.0, 4.0]
        );
    }

    #[test]
    fn extract_takes_one_channel_and_refuses_one_the_type_lacks() {
        let third = eval_node(
            &extract(),
            Some(ValueType::Color3),
            &[("index", Value::Integer(2))],
            &frame(1, 1),
            Rect::new(0, 0, 1, 1),
            &[Buffer::filled(&[0.25, 0.5, 0.75], 1)],
        )
        .unwrap();
        assert_eq!(third[0].data(), [0.75]);
        let args = BuildArgs {
            node_id: "x",
            generic: Some(ValueType::Color3),
            uniforms: &[("index".to_string(), Value::Integer(3))],
            base_dir: std::path::Path::new("."),
        };
        let error = extract().build(&args).err().expect("index 3 of a color3");
        assert_eq!(
            error,
            BuildError::at_input("index", "a color3 has channels 0 to 2, not 3")
        );
    }
}
