//! MaterialX's conditional nodes: one of two values, chosen per sample by
//! comparing two floats; and its logical nodes, on booleans carried as
//! floats (true where not 0; results 1 or 0).

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
    let spec = NodeSpec::new(name, doc)
        .generic_over(&ValueType::VARYING)
        .input(InputSpec::float(
            "value1",
            value1,
            "the first value compared",
        ))
        .input(InputSpec::float("value2", 0.0, "the second value compared"))
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

/// How many values a `switch` chooses from.
const SWITCHED: usize = 10;

/// Which of `count` values MaterialX's switch chooses by `which`: the
/// first (from 0) whose number (from 1) is greater than `which`; None where
/// none is (its graph gives 0 then).
pub(crate) fn switched(which: f32, count: usize) -> Option<usize> {
    (1..=count).find(|&k| k as f32 > which).map(|k| k - 1)
}

/// MaterialX's `switch`, its graph's (NG_switch) chain of ifgreaters: the
/// first `in<k>` with `k > which`, or 0 where none is (`which` 10 or more,
/// or NaN).
struct Switch;

impl Node for Switch {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let (values, which) = inputs.split_at(SWITCHED);
        let which = which[0].plane(0);
        let out = &mut outputs[0];
        for c in 0..out.channels() {
            let planes: [&[f32]; SWITCHED] = std::array::from_fn(|k| values[k].plane(c));
            for (s, out) in out.plane_mut(c).iter_mut().enumerate() {
                *out = switched(which[s], SWITCHED).map_or(0.0, |k| planes[k][s]);
            }
        }
        Ok(())
    }
}

pub fn switch() -> Arc<dyn NodeKind> {
    let mut spec = NodeSpec::new(
        "switch",
        "in1 where which < 1, in2 where which < 2, ... in10 where which < 10, else 0 \
         (MaterialX's switch)",
    )
    .generic_over(&ValueType::VARYING);
    for k in 1..=SWITCHED {
        spec = spec.input(InputSpec::generic(&format!("in{k}"), 0.0, "a value chosen"));
    }
    let spec = spec
        .input(InputSpec::fixed(
            "which",
            ValueType::Float,
            Value::Float(0.0),
            "which value: 0 (up to 1) chooses in1, 1 in2, ...; a float or an integer",
        ))
        .output(OutputSpec::new(
            "out",
            SocketType::Generic,
            "the value chosen",
        ));
    kind(spec, |_| Ok(Box::new(Switch)))
}

/// A logical operation per sample; `not` has one input, read as both.
struct Logic {
    op: fn(bool, bool) -> bool,
}

impl Node for Logic {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let (in1, in2) = (inputs[0].plane(0), inputs[inputs.len() - 1].plane(0));
        for ((out, &a), &b) in outputs[0].plane_mut(0).iter_mut().zip(in1).zip(in2) {
            *out = f32::from(u8::from((self.op)(a != 0.0, b != 0.0)));
        }
        Ok(())
    }
}

fn logic(
    name: &str,
    doc: &str,
    operands: &[&str],
    op: fn(bool, bool) -> bool,
) -> Arc<dyn NodeKind> {
    let mut spec = NodeSpec::new(name, doc);
    for operand in operands {
        spec = spec.input(InputSpec::fixed(
            operand,
            ValueType::Float,
            Value::Float(0.0),
            "a boolean: true where not 0",
        ));
    }
    let spec = spec.output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Float),
        "1 where true, else 0",
    ));
    kind(spec, move |_| Ok(Box::new(Logic { op })))
}

pub fn and() -> Arc<dyn NodeKind> {
    logic(
        "and",
        "in1 and in2 (booleans as floats)",
        &["in1", "in2"],
        |a, b| a && b,
    )
}

pub fn or() -> Arc<dyn NodeKind> {
    logic(
        "or",
        "in1 or in2 (booleans as floats)",
        &["in1", "in2"],
        |a, b| a || b,
    )
}

pub fn xor() -> Arc<dyn NodeKind> {
    logic(
        "xor",
        "in1 or in2 but not both (booleans as floats)",
        &["in1", "in2"],
        |a, b| a != b,
    )
}

pub fn not() -> Arc<dyn NodeKind> {
    logic("not", "not in (a boolean as a float)", &["in"], |a, _| !a)
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

    #[test]
    fn switch_chooses_the_first_value_whose_number_exceeds_which() {
        let values: Vec<[f32; 2]> = (1..=10).map(|k| [k as f32 * 10.0, -(k as f32)]).collect();
        let chosen = |which: f32| {
            let mut inputs: Vec<&[f32]> = values.iter().map(|v| &v[..]).collect();
            let which = [which];
            inputs.push(&which);
            eval_one(&switch(), Some(ValueType::Vector2), &inputs)[0].clone()
        };
        assert_eq!(chosen(-3.0), [10.0, -1.0]);
        assert_eq!(chosen(0.99), [10.0, -1.0]);
        assert_eq!(chosen(1.0), [20.0, -2.0]);
        assert_eq!(chosen(9.5), [100.0, -10.0]);
        // Beyond in10, and for NaN: 0.
        assert_eq!(chosen(10.0), [0.0, 0.0]);
        assert_eq!(chosen(f32::NAN), [0.0, 0.0]);
    }

    #[test]
    fn logic_reads_any_value_but_0_as_true_and_gives_1_or_0() {
        let table = |kind: Arc<dyn NodeKind>| {
            [(0.0, 0.0), (0.0, -2.5), (0.5, 0.0), (1.0, 1.0)]
                .map(|(a, b)| eval_one(&kind, None, &[&[a], &[b]])[0][0])
        };
        assert_eq!(table(and()), [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(table(or()), [0.0, 1.0, 1.0, 1.0]);
        assert_eq!(table(xor()), [0.0, 1.0, 1.0, 0.0]);
        let negated = [0.0, 3.0, f32::NAN].map(|a| eval_one(&not(), None, &[&[a]])[0][0]);
        // NaN is not 0: true, as a NaN converted to a boolean is.
        assert_eq!(negated, [1.0, 0.0, 0.0]);
    }
}
