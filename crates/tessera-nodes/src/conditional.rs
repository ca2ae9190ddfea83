//! MaterialX's conditional nodes: one of two values, chosen per sample by
//! comparing two floats.

use crate::kind::kind;
use std::sync::Arc;
use tessera_core::{
    Buffer, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType, TileCtx, Value,
    ValueType,
};

/// `in1` where `test(value1, value2)`, else `in2`, per sample.
struct Choose {
    test: fn(f32, f32) -> bool,
}

impl Node for Choose {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let [value1, value2, in1, in2] = [inputs[0], inputs[1], inputs[2], inputs[3]];
        let (value1, value2) = (value1.plane(0), value2.plane(0));
        let out = &mut outputs[0];
        for c in 0..out.channels() {
            let (in1, in2) = (in1.plane(c), in2.plane(c));
            for (s, out) in out.plane_mut(c).iter_mut().enumerate() {
                *out = if (self.test)(value1[s], value2[s]) {
                    in1[s]
                } else {
                    in2[s]
                };
            }
        }
        Ok(())
    }
}

fn choose(name: &str, doc: &str, value1: f32, test: fn(f32, f32) -> bool) -> Arc<dyn NodeKind> {
    let float = |name: &str, default: f32, doc: &str| {
        InputSpec::fixed(name, ValueType::Float, Value::Float(default), doc)
    };
    let spec = NodeSpec::new(name, doc)
        .generic_over(&ValueType::VARYING)
        .input(float("value1", value1, "the first value compared"))
        .input(float("value2", 0.0, "the second value compared"))
        .input(InputSpec::generic(
            "in1",
            0.0,
            "the result where the test holds",
        ))
        .input(InputSpec::generic(
            "in2",
            0.0,
            "the result where it does not",
        ))
        .output(OutputSpec::new("out", SocketType::Generic, "in1 or in2"));
    kind(spec, move |_| Ok(Box::new(Choose { test })))
}

pub fn ifgreater() -> Arc<dyn NodeKind> {
    choose(
        "ifgreater",
        "in1 where value1 > value2, else in2",
        1.0,
        |a, b| a > b,
    )
}

pub fn ifgreatereq() -> Arc<dyn NodeKind> {
    choose(
        "ifgreatereq",
        "in1 where value1 >= value2, else in2",
        1.0,
        |a, b| a >= b,
    )
}

pub fn ifequal() -> Arc<dyn NodeKind> {
    choose(
        "ifequal",
        "in1 where value1 == value2, else in2",
        0.0,
        |a, b| a == b,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::eval_one;

    #[test]
    fn the_test_chooses_in1_or_in2_per_sample() {
        let pick = |kind: Arc<dyn NodeKind>, a: f32, b: f32| {
            eval_one(
                &kind,
                Some(ValueType::Color3),
                &[&[a], &[b], &[1.0, 2.0, 3.0], &[-1.0, -2.0, -3.0]],
            )[0][0]
        };
        assert_eq!(
            [pick(ifgreater(), 1.0, 0.5), pick(ifgreater(), 0.5, 0.5)],
            [1.0, -1.0]
        );
        assert_eq!(
            [pick(ifgreatereq(), 0.5, 0.5), pick(ifgreatereq(), 0.4, 0.5)],
            [1.0, -1.0]
        );
        assert_eq!(
            [pick(ifequal(), 0.5, 0.5), pick(ifequal(), 0.4, 0.5)],
            [1.0, -1.0]
        );
        // NaN compares false: in2.
        assert_eq!(pick(ifgreatereq(), f32::NAN, 0.0), -1.0);
    }
}
