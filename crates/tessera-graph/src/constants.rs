//! Scene constants to typed values, with type, range and choice checks.

use crate::suggest::help_for;
use tessera_core::{InputSpec, RampStop, Value, ValueType};
use tessera_scene::{Diagnostic, DiagnosticKind, ParamValue, Spanned};

fn wrong_type(expected: &str, value: &Spanned<ParamValue>) -> Diagnostic {
    Diagnostic::new(
        DiagnosticKind::WrongType,
        format!("expected {expected}, found {}", value.value.describe()),
        value.span.clone(),
    )
    .label(format!("expected {expected}"))
}

pub fn integer(value: &Spanned<ParamValue>) -> Result<i64, Diagnostic> {
    match value.value {
        ParamValue::Integer(v) => Ok(v),
        _ => Err(wrong_type("an integer", value)),
    }
}

pub fn number(value: &Spanned<ParamValue>) -> Result<f64, Diagnostic> {
    match value.value {
        ParamValue::Integer(v) => Ok(v as f64),
        ParamValue::Float(v) => Ok(v),
        _ => Err(wrong_type("a number", value)),
    }
}

/// The numbers of a constant vector or colour: a number, or an array of numbers.
fn numbers(value: &Spanned<ParamValue>) -> Option<Vec<f64>> {
    match &value.value {
        ParamValue::Integer(_) | ParamValue::Float(_) => number(value).ok().map(|v| vec![v]),
        ParamValue::Array(items) => items.iter().map(|i| number(i).ok()).collect(),
        _ => None,
    }
}

/// The type a constant has by itself: a number is a float, arrays of 2, 3
/// and 4 numbers are vector2, color3 and color4. Used to choose a generic
/// node's type when nothing is linked to it.
pub fn natural_type(value: &ParamValue) -> Option<ValueType> {
    let spanned = Spanned::new(value.clone(), 0..0);
    match numbers(&spanned)?.len() {
        1 if !matches!(value, ParamValue::Array(_)) => Some(ValueType::Float),
        1 => None,
        2 => Some(ValueType::Vector2),
        3 => Some(ValueType::Color3),
        4 => Some(ValueType::Color4),
        _ => None,
    }
}

fn article(ty: ValueType) -> String {
    match ty {
        ValueType::Integer => "an integer".into(),
        ValueType::Float => "a float".into(),
        ValueType::Vector2 => "a vector2 (2 numbers)".into(),
        ValueType::Vector3 => "a vector3 (3 numbers)".into(),
        ValueType::Color3 => "a color3 (3 numbers)".into(),
        ValueType::Color4 => "a color4 (4 numbers)".into(),
        ValueType::Vector4 => "a vector4 (4 numbers)".into(),
        ValueType::Boolean => "a boolean".into(),
        ValueType::String => "a string".into(),
        ValueType::Ramp => "an array of stops `{ position = p, color = [r, g, b] }`".into(),
    }
}

/// Converts the constant `value` for `input`, whose type is `ty`.
pub fn constant(
    value: &Spanned<ParamValue>,
    ty: ValueType,
    input: &InputSpec,
) -> Result<Value, Diagnostic> {
    let converted = match ty {
        ValueType::Integer => Value::Integer(integer(value)?),
        ValueType::Boolean => match value.value {
            ParamValue::Boolean(b) => Value::Boolean(b),
            _ => return Err(wrong_type(&article(ty), value)),
        },
        ValueType::String => match &value.value {
            ParamValue::String(s) => Value::String(s.clone()),
            _ => return Err(wrong_type(&article(ty), value)),
        },
        ValueType::Ramp => Value::Ramp(ramp(value)?),
        varying => varying_constant(value, varying)?,
    };
    check_range(&converted, value, input)?;
    check_choice(&converted, value, input)?;
    Ok(converted)
}

fn varying_constant(value: &Spanned<ParamValue>, ty: ValueType) -> Result<Value, Diagnostic> {
    let Some(found) = natural_type(&value.value) else {
        return Err(wrong_type(&article(ty), value));
    };
    // An array of 3 is a colour by itself, and also a vector3 where one is
    // expected; an array of 4 likewise a vector4.
    let found = match (found, ty) {
        (ValueType::Color3, ValueType::Vector3) => ValueType::Vector3,
        (ValueType::Color4, ValueType::Vector4) => ValueType::Vector4,
        _ => found,
    };
    if !found.converts_to(ty) {
        return Err(wrong_type(&article(ty), value));
    }
    let numbers = numbers(value).expect("natural type implies numbers");
    if numbers.iter().any(|n| !n.is_finite()) {
        return Err(Diagnostic::new(
            DiagnosticKind::OutOfRange,
            "constants must be finite numbers",
            value.span.clone(),
        )
        .label("NaN or infinity"));
    }
    let source: Vec<f32> = numbers.iter().map(|&n| n as f32).collect();
    let mut channels = vec![0.0; ty.channels().expect("varying")];
    found.convert_samples(ty, &source, &mut channels);
    Ok(Value::from_channels(ty, &channels).expect("channels match type"))
}

fn check_range(
    converted: &Value,
    value: &Spanned<ParamValue>,
    input: &InputSpec,
) -> Result<(), Diagnostic> {
    let Some((min, max)) = input.range else {
        return Ok(());
    };
    let numbers: Vec<f64> = match converted {
        Value::Integer(v) => vec![*v as f64],
        other => match other.channels() {
            Some(c) => c.iter().map(|&v| v as f64).collect(),
            None => return Ok(()),
        },
    };
    match numbers.iter().find(|&&n| n < min || n > max) {
        None => Ok(()),
        Some(bad) => Err(Diagnostic::new(
            DiagnosticKind::OutOfRange,
            format!(
                "{bad} is out of range for `{}` ({min} to {max})",
                input.name
            ),
            value.span.clone(),
        )
        .label(format!("must be {min} to {max}"))),
    }
}

fn check_choice(
    converted: &Value,
    value: &Spanned<ParamValue>,
    input: &InputSpec,
) -> Result<(), Diagnostic> {
    let Value::String(s) = converted else {
        return Ok(());
    };
    if input.choices.is_empty() || input.choices.contains(s) {
        return Ok(());
    }
    Err(Diagnostic::new(
        DiagnosticKind::OutOfRange,
        format!("{s:?} is not a valid `{}`", input.name),
        value.span.clone(),
    )
    .label("not one of the choices")
    .note(help_for(
        s,
        "choices",
        input.choices.iter().map(String::as_str),
    )))
}

fn ramp(value: &Spanned<ParamValue>) -> Result<Vec<RampStop>, Diagnostic> {
    let ParamValue::Array(items) = &value.value else {
        return Err(wrong_type(&article(ValueType::Ramp), value));
    };
    if items.is_empty() {
        return Err(Diagnostic::new(
            DiagnosticKind::OutOfRange,
            "a colour ramp needs at least one stop",
            value.span.clone(),
        ));
    }
    let mut stops: Vec<RampStop> = Vec::with_capacity(items.len());
    for item in items {
        let ParamValue::Table(fields) = &item.value else {
            return Err(wrong_type(
                "a stop `{ position = p, color = [r, g, b] }`",
                item,
            ));
        };
        let mut position = None;
        let mut color = None;
        for field in fields {
            match field.name.value.as_str() {
                "position" => position = Some(number(&field.value)?),
                "color" => color = Some(varying_constant(&field.value, ValueType::Color4)?),
                other => {
                    return Err(Diagnostic::new(
                        DiagnosticKind::UnknownInput,
                        format!("unknown stop field `{other}`"),
                        field.name.span.clone(),
                    )
                    .note("a stop has `position` and `color`"));
                }
            }
        }
        let (Some(position), Some(Value::Color4(color))) = (position, color) else {
            return Err(Diagnostic::new(
                DiagnosticKind::Structure,
                "a stop needs both `position` and `color`",
                item.span.clone(),
            ));
        };
        if !(0.0..=1.0).contains(&position) {
            return Err(Diagnostic::new(
                DiagnosticKind::OutOfRange,
                format!("stop position {position} is outside 0 to 1"),
                item.span.clone(),
            ));
        }
        if let Some(previous) = stops.last()
            && (position as f32) < previous.position
        {
            return Err(Diagnostic::new(
                DiagnosticKind::OutOfRange,
                "stops must be in increasing order of position",
                item.span.clone(),
            )
            .label(format!("{position} comes after {}", previous.position)));
        }
        stops.push(RampStop {
            position: position as f32,
            color,
        });
    }
    Ok(stops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::{Vec2, Vec3, Vec4};
    use tessera_core::SocketType;

    fn spanned(v: ParamValue) -> Spanned<ParamValue> {
        Spanned::new(v, 0..1)
    }

    fn floats(v: &[f64]) -> ParamValue {
        ParamValue::Array(v.iter().map(|&f| spanned(ParamValue::Float(f))).collect())
    }

    #[test]
    fn arrays_convert_to_their_types() {
        let input = InputSpec::new(
            "c",
            SocketType::Fixed(ValueType::Color4),
            Value::Float(0.0),
            "",
        );
        assert_eq!(
            constant(
                &spanned(floats(&[0.1, 0.2, 0.3])),
                ValueType::Color4,
                &input
            )
            .unwrap(),
            Value::Color4(Vec4::new(0.1, 0.2, 0.3, 1.0))
        );
        assert_eq!(
            constant(&spanned(ParamValue::Integer(2)), ValueType::Vector2, &input).unwrap(),
            Value::Vector2(Vec2::splat(2.0))
        );
        assert_eq!(
            constant(
                &spanned(floats(&[1.0, 2.0, 3.0])),
                ValueType::Vector3,
                &input
            )
            .unwrap(),
            Value::Vector3(Vec3::new(1.0, 2.0, 3.0))
        );
        let err = constant(&spanned(floats(&[1.0, 2.0])), ValueType::Color3, &input).unwrap_err();
        assert_eq!(
            err.message,
            "expected a color3 (3 numbers), found an array of 2 items"
        );
    }

    #[test]
    fn ranges_and_choices_are_enforced() {
        let mix = InputSpec::new(
            "mix",
            SocketType::Fixed(ValueType::Float),
            Value::Float(0.0),
            "",
        )
        .range(0.0, 1.0);
        let err = constant(&spanned(ParamValue::Float(1.5)), ValueType::Float, &mix).unwrap_err();
        assert_eq!(err.message, "1.5 is out of range for `mix` (0 to 1)");
        let mode = InputSpec::new(
            "mode",
            SocketType::Fixed(ValueType::String),
            Value::String("linear".into()),
            "",
        )
        .choices(&["linear", "ease"]);
        let err = constant(
            &spanned(ParamValue::String("eaze".into())),
            ValueType::String,
            &mode,
        )
        .unwrap_err();
        assert_eq!(err.notes, ["did you mean `ease`?"]);
    }

    #[test]
    fn non_finite_constants_are_rejected() {
        let input = InputSpec::new(
            "x",
            SocketType::Fixed(ValueType::Float),
            Value::Float(0.0),
            "",
        );
        let err = constant(
            &spanned(ParamValue::Float(f64::NAN)),
            ValueType::Float,
            &input,
        )
        .unwrap_err();
        assert_eq!(err.kind, DiagnosticKind::OutOfRange);
    }
}
