//! The `[image]` table.

use crate::constants::{integer, number};
use crate::suggest::help_for;
use tessera_scene::{Diagnostic, DiagnosticKind, SceneDesc};

/// The most pixels (width x height) an image may have: 2^28, 4 GiB as RGBA
/// floats (the Python package's array, `compare`'s images). More is
/// refused rather than half-allocated.
pub const MAX_PIXELS: u64 = 1 << 28;
/// The most samples per pixel.
pub const MAX_SAMPLES: i64 = 4096;

const KEYS: [&str; 5] = ["width", "height", "samples", "seed", "fps"];

/// The image's size, sampling and seed.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSettings {
    pub width: u32,
    pub height: u32,
    pub samples: u32,
    pub seed: u32,
    /// Frames per second: a node's time is `frame / fps`.
    pub fps: f32,
}

pub fn image_settings(scene: &SceneDesc, errors: &mut Vec<Diagnostic>) -> Option<ImageSettings> {
    let Some(section) = &scene.image else {
        errors.push(
            Diagnostic::new(
                DiagnosticKind::Structure,
                "the scene has no [image] table",
                0..0,
            )
            .note("add `[image]` with `width = ...` and `height = ...`"),
        );
        return None;
    };
    let before = errors.len();
    for param in &section.params {
        if !KEYS.contains(&param.name.value.as_str()) {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::UnknownInput,
                    format!("unknown [image] setting `{}`", param.name.value),
                    param.name.span.clone(),
                )
                .label("not an image setting")
                .note(help_for(&param.name.value, "image settings", KEYS)),
            );
        }
    }
    let mut int_setting = |key: &str, default: Option<i64>, min: i64, max: i64| -> Option<i64> {
        match section.get(key) {
            None => {
                if default.is_none() {
                    errors.push(
                        Diagnostic::new(
                            DiagnosticKind::Structure,
                            format!("[image] needs `{key}`"),
                            section.span.clone(),
                        )
                        .label("in this table"),
                    );
                }
                default
            }
            Some(param) => {
                let v = integer(&param.value).map_err(|d| errors.push(d)).ok()?;
                if v < min || v > max {
                    errors.push(
                        Diagnostic::new(
                            DiagnosticKind::BadImageSize,
                            format!("[image] {key} = {v} is out of range"),
                            param.value.span.clone(),
                        )
                        .label(format!("must be {min} to {max}")),
                    );
                    return None;
                }
                Some(v)
            }
        }
    };
    let width = int_setting("width", None, 1, 1 << 20);
    let height = int_setting("height", None, 1, 1 << 20);
    let samples = int_setting("samples", Some(1), 1, MAX_SAMPLES);
    let seed = int_setting("seed", Some(0), 0, u32::MAX as i64);
    let fps = match section.get("fps") {
        None => Some(24.0),
        Some(param) => match number(&param.value) {
            Ok(v) if v > 0.0 && v.is_finite() => Some(v as f32),
            Ok(_) => {
                errors.push(Diagnostic::new(
                    DiagnosticKind::OutOfRange,
                    "[image] fps must be a positive number",
                    param.value.span.clone(),
                ));
                None
            }
            Err(d) => {
                errors.push(d);
                None
            }
        },
    };
    if let (Some(w), Some(h)) = (width, height) {
        let pixels = w as u64 * h as u64;
        if pixels > MAX_PIXELS {
            let value_span = |key: &str| section.get(key).map(|p| p.value.span.clone());
            let mut d = Diagnostic::new(
                DiagnosticKind::BadImageSize,
                format!("the image is too large: {w} x {h} = {pixels} pixels"),
                value_span("width").unwrap_or(section.span.clone()),
            )
            .label(format!(
                "at most {MAX_PIXELS} pixels ({} GiB as RGBA floats)",
                (MAX_PIXELS * 16) >> 30
            ));
            if let Some(height) = value_span("height") {
                d = d.related(height, "times this height");
            }
            errors.push(d);
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(ImageSettings {
        width: width? as u32,
        height: height? as u32,
        samples: samples? as u32,
        seed: seed? as u32,
        fps: fps?,
    })
}
