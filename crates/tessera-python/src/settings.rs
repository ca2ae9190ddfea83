//! The scene's `[python]` table.

use crate::policy::Policy;
use crate::processes::PythonWorkers;
use std::path::{Path, PathBuf};
use tessera_scene::{Diagnostic, DiagnosticKind, Param, ParamValue, SceneErrors, Section};

/// How Python nodes are found and run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PythonSettings {
    /// Folders searched for scripts not found beside the scene.
    pub paths: Vec<PathBuf>,
    /// The scene's default policy for its Python nodes.
    pub policy: Option<Policy>,
    /// Seconds, for `sys.setswitchinterval` during the render.
    pub switch_interval: Option<f64>,
    /// Where Python nodes run: threads of this process, or worker processes.
    pub workers: Option<PythonWorkers>,
}

/// The switch intervals a scene or `--switch-interval` may set, in
/// seconds: Python keeps the interval in whole microseconds (below one it
/// reports 0) and, past about 9e12 seconds, silently sets 0.
pub const SWITCH_INTERVALS: std::ops::RangeInclusive<f64> = 1e-6..=1e9;

/// What a switch interval outside [`SWITCH_INTERVALS`] is told.
pub const SWITCH_INTERVAL_EXPECTED: &str = "a number of seconds from 1e-6 to 1e9";

const KEYS: [&str; 4] = ["paths", "policy", "switch_interval", "workers"];

fn policy_names() -> String {
    Policy::ALL.map(Policy::name).join(", ")
}

/// "[python] NAME must be EXPECTED, found WHAT", at the value.
fn out_of_range(param: &Param, expected: &str, label: &str) -> Diagnostic {
    Diagnostic::new(
        DiagnosticKind::OutOfRange,
        format!(
            "[python] {} must be {expected}, found {}",
            param.name.value,
            // The value itself says what is wrong with it.
            match &param.value.value {
                ParamValue::Integer(n) => n.to_string(),
                ParamValue::Float(x) => format!("{x:?}"),
                ParamValue::String(text) => format!("{text:?}"),
                other => other.describe(),
            }
        ),
        param.value.span.clone(),
    )
    .label(label)
}

/// Reads `[python]` (absent: the defaults). `base_dir` is the scene's folder.
pub fn python_settings(
    section: Option<&Section>,
    base_dir: &Path,
) -> Result<PythonSettings, SceneErrors> {
    let mut settings = PythonSettings::default();
    let Some(section) = section else {
        return Ok(settings);
    };
    let mut errors = Vec::new();
    for param in &section.params {
        match param.name.value.as_str() {
            "paths" => {
                let items = match &param.value.value {
                    ParamValue::Array(items) => items.as_slice(),
                    _ => std::slice::from_ref(&param.value),
                };
                for item in items {
                    match &item.value {
                        ParamValue::String(path) => settings.paths.push(base_dir.join(path)),
                        other => errors.push(
                            Diagnostic::new(
                                DiagnosticKind::WrongType,
                                format!(
                                    "[python] paths must be strings, found {}",
                                    other.describe()
                                ),
                                item.span.clone(),
                            )
                            .label("expected a folder name"),
                        ),
                    }
                }
            }
            "policy" => match &param.value.value {
                ParamValue::String(name) if Policy::parse(name).is_some() => {
                    settings.policy = Policy::parse(name)
                }
                _ => errors.push(out_of_range(
                    param,
                    &format!("one of {}", policy_names()),
                    "not a policy",
                )),
            },
            "switch_interval" => {
                let seconds = match param.value.value {
                    ParamValue::Float(s) => Some(s),
                    ParamValue::Integer(s) => Some(s as f64),
                    _ => None,
                };
                match seconds {
                    Some(s) if SWITCH_INTERVALS.contains(&s) => settings.switch_interval = Some(s),
                    _ => errors.push(out_of_range(
                        param,
                        SWITCH_INTERVAL_EXPECTED,
                        "seconds, such as 0.005",
                    )),
                }
            }
            "workers" => match &param.value.value {
                ParamValue::String(name) if PythonWorkers::parse(name).is_some() => {
                    settings.workers = PythonWorkers::parse(name)
                }
                _ => errors.push(out_of_range(
                    param,
                    "\"threads\" or \"processes\"",
                    "threads or processes",
                )),
            },
            other => errors.push(
                Diagnostic::new(
                    DiagnosticKind::UnknownInput,
                    format!("unknown [python] setting `{other}`"),
                    param.name.span.clone(),
                )
                .label("not a python setting")
                .note(format!(
                    "[python] takes {}",
                    KEYS.map(|k| format!("`{k}`")).join(", ")
                )),
            ),
        }
    }
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(SceneErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_scene::parse_scene;

    fn section(text: &str) -> Section {
        parse_scene(text).unwrap().python.unwrap()
    }

    #[test]
    fn paths_are_relative_to_the_scene() {
        let settings = python_settings(
            Some(&section("[python]\npaths = [\"lib\", \"../shared\"]\n")),
            Path::new("scenes"),
        )
        .unwrap();
        assert_eq!(
            settings.paths,
            [
                PathBuf::from("scenes/lib"),
                PathBuf::from("scenes/../shared")
            ]
        );
    }

    #[test]
    fn workers_are_threads_or_processes() {
        let settings = python_settings(
            Some(&section("[python]\nworkers = \"processes\"\n")),
            Path::new("."),
        )
        .unwrap();
        assert_eq!(settings.workers, Some(PythonWorkers::Processes));
        let text = "[python]\nworkers = \"forks\"\n";
        let errors = python_settings(Some(&section(text)), Path::new(".")).unwrap_err();
        assert_eq!(
            errors.0[0].message,
            "[python] workers must be \"threads\" or \"processes\", found \"forks\""
        );
        assert_eq!(&text[errors.0[0].span.clone().unwrap()], "\"forks\"");
    }

    #[test]
    fn a_switch_interval_python_would_not_keep_is_refused_by_its_value() {
        let message = |value: &str| {
            let text = format!("[python]\nswitch_interval = {value}\n");
            let errors = python_settings(Some(&section(&text)), Path::new(".")).unwrap_err();
            errors.0[0].message.clone()
        };
        let expected =
            "[python] switch_interval must be a number of seconds from 1e-6 to 1e9, found";
        assert_eq!(message("0"), format!("{expected} 0"));
        assert_eq!(message("-0.5"), format!("{expected} -0.5"));
        // Python would report 0.
        assert_eq!(message("1e-9"), format!("{expected} 1e-9"));
        // Python would set 0 for it, silently.
        assert_eq!(message("1e300"), format!("{expected} 1e300"));
        assert_eq!(message("\"fast\""), format!("{expected} \"fast\""));
        assert_eq!(message("[1]"), format!("{expected} an array of 1 item"));
        let settings = |value: &str| {
            let text = format!("[python]\nswitch_interval = {value}\n");
            python_settings(Some(&section(&text)), Path::new(".")).unwrap()
        };
        assert_eq!(settings("2").switch_interval, Some(2.0));
        assert_eq!(settings("1e9").switch_interval, Some(1e9));
    }

    #[test]
    fn unknown_settings_and_wrong_types_are_located() {
        let text = "[python]\npathz = 1\npaths = [3]\n";
        let errors = python_settings(Some(&section(text)), Path::new(".")).unwrap_err();
        let messages: Vec<&str> = errors.0.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "unknown [python] setting `pathz`",
                "[python] paths must be strings, found an integer"
            ]
        );
        assert_eq!(&text[errors.0[0].span.clone().unwrap()], "pathz");
    }
}
