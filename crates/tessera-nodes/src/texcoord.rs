//! `texcoord`, `position`, `time`, `frame` and `constant`.

use crate::kind::kind;
use std::sync::Arc;
use tessera_core::{
    Buffer, FrameInfo, InputSpec, Node, NodeError, NodeKind, NodeSpec, OutputSpec, SocketType,
    TileCtx, ValueType,
};

/// Copies its only input to its only output. The renderer fills `texcoord`'s
/// input with the sample's texture coordinate, and a constant's with its value.
struct Pass;

impl Node for Pass {
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        outputs[0].data_mut().copy_from_slice(inputs[0].data());
        Ok(())
    }
}

pub fn texcoord() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "texcoord",
        "the sample's texture coordinate: u from 0 at the left edge to 1 at the right, v from 0 at the bottom to 1 at the top",
    )
    .input(InputSpec::texcoord())
    .output(OutputSpec::new("out", SocketType::Fixed(ValueType::Vector2), "(u, v)"));
    kind(spec, |_| Ok(Box::new(Pass)))
}

pub fn position() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(
        "position",
        "the sample's position on the image plane: (u, v, 0), for the 3D nodes",
    )
    .input(InputSpec::position())
    .output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Vector3),
        "(u, v, 0)",
    ));
    kind(spec, |_| Ok(Box::new(Pass)))
}

/// A value of the frame being rendered, the same for every sample.
struct OfFrame {
    value: fn(&FrameInfo) -> f32,
}

impl Node for OfFrame {
    fn eval_tile(
        &self,
        ctx: &TileCtx,
        _: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        outputs[0].data_mut().fill((self.value)(ctx.frame));
        Ok(())
    }
}

fn of_frame(
    name: &str,
    doc: &str,
    output: &str,
    value: fn(&FrameInfo) -> f32,
) -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new(name, doc).output(OutputSpec::new(
        "out",
        SocketType::Fixed(ValueType::Float),
        output,
    ));
    kind(spec, move |_| Ok(Box::new(OfFrame { value })))
}

pub fn time() -> Arc<dyn NodeKind> {
    of_frame(
        "time",
        "the current time in seconds: the frame (`--frame`) divided by [image] fps",
        "seconds",
        |frame| frame.time,
    )
}

pub fn frame() -> Arc<dyn NodeKind> {
    of_frame(
        "frame",
        "the number of the frame being rendered (`--frame`, 0 by default)",
        "the frame number",
        |frame| frame.frame as f32,
    )
}

pub fn constant() -> Arc<dyn NodeKind> {
    let spec = NodeSpec::new("constant", "a constant value of any type")
        .generic_over(&ValueType::VARYING)
        .input(InputSpec::generic("value", 0.0, "the value"))
        .output(OutputSpec::new("out", SocketType::Generic, "the value"));
    kind(spec, |_| Ok(Box::new(Pass)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::eval_one;

    #[test]
    fn time_and_frame_are_the_frames() {
        let mut frame = crate::test_util::frame(2, 1);
        frame.time = 1.5;
        frame.frame = -36;
        let of = |kind: Arc<dyn NodeKind>| {
            let rect = tessera_core::Rect::new(0, 0, 2, 1);
            let out = crate::test_util::eval_node(&kind, None, &[], &frame, rect, &[]);
            out.unwrap()[0].data().to_vec()
        };
        assert_eq!(of(time()), [1.5, 1.5]);
        assert_eq!(of(self::frame()), [-36.0, -36.0]);
    }

    #[test]
    fn texcoord_and_constant_pass_their_input_through() {
        assert_eq!(
            eval_one(&texcoord(), None, &[&[0.25, 0.75]])[0],
            [0.25, 0.75]
        );
        assert_eq!(
            eval_one(&position(), None, &[&[0.25, 0.75, 0.0]])[0],
            [0.25, 0.75, 0.0]
        );
        assert_eq!(
            eval_one(
                &constant(),
                Some(ValueType::Color4),
                &[&[1.0, 2.0, 3.0, 4.0]]
            )[0],
            [1.0, 2.0, 3.0, 4.0]
        );
    }
}
