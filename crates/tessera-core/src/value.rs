//! Value types, constant values and node specifications.

use glam::{Vec2, Vec3, Vec4};
use std::fmt;

/// The type of a socket or a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    Float,
    Vector2,
    Vector3,
    Color3,
    Color4,
    /// Four floats that are not a colour (MaterialX's vector4).
    Vector4,
    Integer,
    Boolean,
    String,
    /// The stops of a colour ramp: an array of `{ position, color }` tables.
    Ramp,
}

impl ValueType {
    pub const VARYING: [ValueType; 6] = [
        ValueType::Float,
        ValueType::Vector2,
        ValueType::Vector3,
        ValueType::Color3,
        ValueType::Color4,
        ValueType::Vector4,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ValueType::Float => "float",
            ValueType::Vector2 => "vector2",
            ValueType::Vector3 => "vector3",
            ValueType::Color3 => "color3",
            ValueType::Color4 => "color4",
            ValueType::Vector4 => "vector4",
            ValueType::Integer => "integer",
            ValueType::Boolean => "boolean",
            ValueType::String => "string",
            ValueType::Ramp => "ramp",
        }
    }

    /// Varying types are stored per sample and may be linked; the others are
    /// uniform: constants given to the node when it is built.
    pub fn is_varying(self) -> bool {
        self.channels().is_some()
    }

    /// Floats per sample in a buffer of this type.
    pub fn channels(self) -> Option<usize> {
        match self {
            ValueType::Float => Some(1),
            ValueType::Vector2 => Some(2),
            ValueType::Vector3 | ValueType::Color3 => Some(3),
            ValueType::Color4 | ValueType::Vector4 => Some(4),
            _ => None,
        }
    }

    /// The implicit conversions: a float widens to any vector or colour, and
    /// color3 widens to color4 with alpha 1. Nothing else converts.
    pub fn converts_to(self, target: ValueType) -> bool {
        self == target
            || (self == ValueType::Float && target.is_varying())
            || (self == ValueType::Color3 && target == ValueType::Color4)
    }

    /// Where plane `plane` of a `target` value widened from `self` comes
    /// from. Only valid when [`ValueType::converts_to`] holds.
    pub fn widened_plane(self, target: ValueType, plane: usize) -> PlaneSource {
        match (self, target) {
            (from, to) if from == to => PlaneSource::Plane(plane),
            (ValueType::Float, _) => PlaneSource::Plane(0),
            (ValueType::Color3, ValueType::Color4) if plane < 3 => PlaneSource::Plane(plane),
            (ValueType::Color3, ValueType::Color4) => PlaneSource::One,
            (from, to) => unreachable!("no conversion from {from} to {to}"),
        }
    }

    /// Widens planar samples of `self` (in `src`) to `target` (in `dst`, as
    /// many samples). Only valid when [`ValueType::converts_to`] holds.
    pub fn convert_samples(self, target: ValueType, src: &[f32], dst: &mut [f32]) {
        let len = src.len() / self.channels().expect("a fixed type");
        if len == 0 {
            return;
        }
        for (plane, out) in dst.chunks_exact_mut(len).enumerate() {
            match self.widened_plane(target, plane) {
                PlaneSource::Plane(k) => out.copy_from_slice(&src[k * len..(k + 1) * len]),
                PlaneSource::One => out.fill(1.0),
            }
        }
    }
}

/// What a plane of a widened value holds (see [`ValueType::widened_plane`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaneSource {
    /// A copy of this plane of the narrower value.
    Plane(usize),
    /// 1.0 everywhere: the alpha a colour3 widens with.
    One,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a colour ramp blends between stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RampInterpolation {
    Linear,
    Constant,
    Ease,
}

/// One stop of a colour ramp.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RampStop {
    pub position: f32,
    pub color: Vec4,
}

/// A constant value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Float(f32),
    Vector2(Vec2),
    Vector3(Vec3),
    Color3(Vec3),
    Color4(Vec4),
    Vector4(Vec4),
    Integer(i64),
    Boolean(bool),
    String(String),
    Ramp(Vec<RampStop>),
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Float(_) => ValueType::Float,
            Value::Vector2(_) => ValueType::Vector2,
            Value::Vector3(_) => ValueType::Vector3,
            Value::Color3(_) => ValueType::Color3,
            Value::Color4(_) => ValueType::Color4,
            Value::Vector4(_) => ValueType::Vector4,
            Value::Integer(_) => ValueType::Integer,
            Value::Boolean(_) => ValueType::Boolean,
            Value::String(_) => ValueType::String,
            Value::Ramp(_) => ValueType::Ramp,
        }
    }

    /// The channels of a varying value, `None` for uniform ones.
    pub fn channels(&self) -> Option<Vec<f32>> {
        Some(match self {
            Value::Float(v) => vec![*v],
            Value::Vector2(v) => v.to_array().to_vec(),
            Value::Vector3(v) | Value::Color3(v) => v.to_array().to_vec(),
            Value::Color4(v) | Value::Vector4(v) => v.to_array().to_vec(),
            _ => return None,
        })
    }

    /// Builds a varying value of type `ty` from its channels.
    pub fn from_channels(ty: ValueType, c: &[f32]) -> Option<Value> {
        Some(match (ty, c.len()) {
            (ValueType::Float, 1) => Value::Float(c[0]),
            (ValueType::Vector2, 2) => Value::Vector2(Vec2::from_slice(c)),
            (ValueType::Vector3, 3) => Value::Vector3(Vec3::from_slice(c)),
            (ValueType::Color3, 3) => Value::Color3(Vec3::from_slice(c)),
            (ValueType::Color4, 4) => Value::Color4(Vec4::from_slice(c)),
            (ValueType::Vector4, 4) => Value::Vector4(Vec4::from_slice(c)),
            _ => return None,
        })
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, items: &[f32]) -> fmt::Result {
            let parts: Vec<String> = items.iter().map(|v| format!("{v}")).collect();
            write!(f, "[{}]", parts.join(", "))
        }
        match self {
            Value::Float(v) => write!(f, "{v}"),
            Value::Vector2(v) => list(f, &v.to_array()),
            Value::Vector3(v) | Value::Color3(v) => list(f, &v.to_array()),
            Value::Color4(v) | Value::Vector4(v) => list(f, &v.to_array()),
            Value::Integer(v) => write!(f, "{v}"),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::String(v) => write!(f, "{v:?}"),
            Value::Ramp(stops) => write!(f, "{} stops", stops.len()),
        }
    }
}

/// The type a socket accepts or produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketType {
    Fixed(ValueType),
    /// The node's resolved type: one of the varying types, chosen at compile
    /// time from what is linked to the node's generic inputs (as MaterialX's
    /// typed variants `add_float`, `add_color3`, ...).
    Generic,
}

impl SocketType {
    /// The type, unless generic.
    pub fn fixed_type(self) -> Option<ValueType> {
        match self {
            SocketType::Fixed(t) => Some(t),
            SocketType::Generic => None,
        }
    }

    /// Floats per sample of a fixed varying type.
    pub fn fixed_channels(self) -> Option<usize> {
        self.fixed_type()?.channels()
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketType::Fixed(t) => t.fmt(f),
            SocketType::Generic => f.write_str("T"),
        }
    }
}

/// A per-sample value the renderer supplies: where an unlinked input of a
/// node reads from by default (MaterialX's `defaultgeomprop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeomProp {
    /// The sample's texture coordinate (u, v), a vector2.
    Texcoord,
    /// The sample's position (u, v, 0) on the image plane, a vector3.
    Position,
}

impl GeomProp {
    pub fn value_type(self) -> ValueType {
        match self {
            GeomProp::Texcoord => ValueType::Vector2,
            GeomProp::Position => ValueType::Vector3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GeomProp::Texcoord => "texcoord",
            GeomProp::Position => "position",
        }
    }
}

/// One input of a node.
#[derive(Clone, Debug)]
pub struct InputSpec {
    pub name: String,
    pub ty: SocketType,
    /// The value used when the scene gives none. For generic inputs this is
    /// a float, widened to the node's resolved type.
    pub default: Value,
    /// Inclusive bounds for numeric constants (every channel).
    pub range: Option<(f64, f64)>,
    /// The accepted values of a string input (an enumeration), if limited.
    pub choices: Vec<String>,
    /// When set, an unlinked input without a constant reads this per sample
    /// instead of `default`.
    pub geometry: Option<GeomProp>,
    pub doc: String,
}

impl InputSpec {
    pub fn new(name: &str, ty: SocketType, default: Value, doc: &str) -> InputSpec {
        InputSpec {
            name: name.to_string(),
            ty,
            default,
            range: None,
            choices: Vec::new(),
            geometry: None,
            doc: doc.to_string(),
        }
    }

    pub fn fixed(name: &str, ty: ValueType, default: Value, doc: &str) -> InputSpec {
        InputSpec::new(name, SocketType::Fixed(ty), default, doc)
    }

    pub fn generic(name: &str, default: f32, doc: &str) -> InputSpec {
        InputSpec::new(name, SocketType::Generic, Value::Float(default), doc)
    }

    pub fn range(mut self, min: f64, max: f64) -> InputSpec {
        self.range = Some((min, max));
        self
    }

    pub fn choices(mut self, choices: &[&str]) -> InputSpec {
        self.choices = choices.iter().map(|c| c.to_string()).collect();
        self
    }

    /// A float input of `default`.
    pub fn float(name: &str, default: f32, doc: &str) -> InputSpec {
        InputSpec::fixed(name, ValueType::Float, Value::Float(default), doc)
    }

    /// A vector2 input that defaults to the sample's texture coordinate.
    pub fn texcoord() -> InputSpec {
        let mut input = InputSpec::fixed(
            "texcoord",
            ValueType::Vector2,
            Value::Vector2(Vec2::ZERO),
            "texture coordinate; the image's (u, v) when not given",
        );
        input.geometry = Some(GeomProp::Texcoord);
        input
    }

    /// A vector3 input that defaults to the sample's position (u, v, 0).
    pub fn position() -> InputSpec {
        let mut input = InputSpec::fixed(
            "position",
            ValueType::Vector3,
            Value::Vector3(Vec3::ZERO),
            "position; (u, v, 0) on the image plane when not given",
        );
        input.geometry = Some(GeomProp::Position);
        input
    }

    /// Whether the input is evaluated per sample (and may be linked).
    pub fn is_varying(&self) -> bool {
        match self.ty {
            SocketType::Generic => true,
            SocketType::Fixed(t) => t.is_varying(),
        }
    }
}

/// One output of a node.
#[derive(Clone, Debug)]
pub struct OutputSpec {
    pub name: String,
    pub ty: SocketType,
    pub doc: String,
}

impl OutputSpec {
    pub fn new(name: &str, ty: SocketType, doc: &str) -> OutputSpec {
        OutputSpec {
            name: name.to_string(),
            ty,
            doc: doc.to_string(),
        }
    }
}

/// What a node type takes and produces, as the compiler and `tessera nodes`
/// see it.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub type_name: String,
    pub doc: String,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    /// The varying types a generic node may resolve to.
    pub generic_types: Vec<ValueType>,
    /// Uniform string inputs that choose the node's other sockets (a
    /// Python node's `script` and `class`); see `NodeKind::specialise`.
    pub specialised_by: Vec<String>,
    /// Those of `specialised_by` a scene may leave out: their default is
    /// passed (a PyNode's `class`).
    pub optional_specialisers: Vec<String>,
    /// Input and output names match whatever their case (Blender's PyNode
    /// sockets did).
    pub names_ignore_case: bool,
}

impl NodeSpec {
    pub fn new(type_name: &str, doc: &str) -> NodeSpec {
        NodeSpec {
            type_name: type_name.to_string(),
            doc: doc.to_string(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            generic_types: Vec::new(),
            specialised_by: Vec::new(),
            optional_specialisers: Vec::new(),
            names_ignore_case: false,
        }
    }

    pub fn input(mut self, input: InputSpec) -> NodeSpec {
        self.inputs.push(input);
        self
    }

    pub fn output(mut self, output: OutputSpec) -> NodeSpec {
        self.outputs.push(output);
        self
    }

    /// Makes the node generic over `types` (the first is used when nothing
    /// links to a generic input and no constant decides).
    pub fn generic_over(mut self, types: &[ValueType]) -> NodeSpec {
        self.generic_types = types.to_vec();
        self
    }

    /// Marks `inputs` (uniform strings already in the spec) as choosing the
    /// node's other sockets.
    pub fn specialised_by(mut self, inputs: &[&str]) -> NodeSpec {
        self.specialised_by = inputs.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Lets a scene leave out `inputs` (of `specialised_by`): their
    /// defaults choose then.
    pub fn optionally_specialised_by(mut self, inputs: &[&str]) -> NodeSpec {
        self.optional_specialisers = inputs.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Makes input and output names match whatever their case.
    pub fn names_ignore_case(mut self) -> NodeSpec {
        self.names_ignore_case = true;
        self
    }

    fn same_name(&self, a: &str, b: &str) -> bool {
        a == b || (self.names_ignore_case && a.eq_ignore_ascii_case(b))
    }

    pub fn find_input(&self, name: &str) -> Option<(usize, &InputSpec)> {
        self.inputs
            .iter()
            .enumerate()
            .find(|(_, i)| self.same_name(&i.name, name))
    }

    /// The last input named `name`: in a node's `inputs` sub-table, a name
    /// means the node's own socket even where a fixed input (a Python
    /// node's `script`, `class`, `policy`) has the same name.
    pub fn find_own_input(&self, name: &str) -> Option<(usize, &InputSpec)> {
        self.inputs
            .iter()
            .enumerate()
            .rfind(|(_, i)| self.same_name(&i.name, name))
    }

    pub fn find_output(&self, name: &str) -> Option<(usize, &OutputSpec)> {
        self.outputs
            .iter()
            .enumerate()
            .find(|(_, o)| self.same_name(&o.name, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_conversions_exist() {
        use ValueType::*;
        assert!(Float.converts_to(Color3));
        assert!(Float.converts_to(Color4));
        assert!(Color3.converts_to(Color4));
        assert!(!Color4.converts_to(Color3));
        assert!(!Vector3.converts_to(Color3));
        assert!(!Color3.converts_to(Vector3));
        assert!(!Integer.converts_to(Float));
        assert!(!Float.converts_to(String));
    }

    #[test]
    fn color3_widens_with_opaque_alpha() {
        let mut out = [0.0; 4];
        ValueType::Color3.convert_samples(ValueType::Color4, &[0.1, 0.2, 0.3], &mut out);
        assert_eq!(out, [0.1, 0.2, 0.3, 1.0]);
        ValueType::Float.convert_samples(ValueType::Color3, &[0.5], &mut out[..3]);
        assert_eq!(out[..3], [0.5, 0.5, 0.5]);
        // Planar: two samples.
        let mut out = [0.0; 8];
        ValueType::Color3.convert_samples(
            ValueType::Color4,
            &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            &mut out,
        );
        assert_eq!(out, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0, 1.0]);
        ValueType::Float.convert_samples(ValueType::Vector2, &[0.1, 0.2], &mut out[..4]);
        assert_eq!(out[..4], [0.1, 0.2, 0.1, 0.2]);
        // What the render's output stage reads instead of a widened copy.
        let rgba = |from: ValueType| (0..4).map(move |c| from.widened_plane(ValueType::Color4, c));
        let (plane, one) = (PlaneSource::Plane, PlaneSource::One);
        assert!(rgba(ValueType::Color3).eq([plane(0), plane(1), plane(2), one]));
        assert!(rgba(ValueType::Float).eq([plane(0); 4]));
        assert!(rgba(ValueType::Color4).eq((0..4).map(plane)));
    }

    #[test]
    fn channels_round_trip_through_values() {
        for ty in ValueType::VARYING {
            let n = ty.channels().unwrap();
            let c: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let v = Value::from_channels(ty, &c).unwrap();
            assert_eq!(v.value_type(), ty);
            assert_eq!(v.channels().unwrap(), c);
        }
    }
}
