//! `tessera new-node NAME`: a starter Python node.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// The file stem (snake_case) and class name (CamelCase) for `name`, or
/// why it cannot name a node.
pub fn names(name: &str) -> anyhow::Result<(String, String)> {
    let words = words(name);
    if words.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        bail!(
            "node name {name:?} must be letters, digits, `_` or `-`, such as wood_grain or WoodGrain"
        );
    }
    if words[0].starts_with(|c: char| c.is_ascii_digit()) {
        bail!("node name {name:?} must not start with a digit");
    }
    let file = words.join("_");
    let class: String = words
        .iter()
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect();
    Ok((file, class))
}

/// Writes `<snake_name>.py` in `dir` with a class `<CamelName>`; never
/// overwrites a file.
pub fn write(name: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let (file, class) = names(name)?;
    let path = dir.join(format!("{file}.py"));
    let text = TEMPLATE.replace("CLASS", &class).replace("FILE", &file);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    let mut handle = options.open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            anyhow::anyhow!("{} exists; not overwritten", path.display())
        }
        _ => anyhow::Error::new(e).context(format!("cannot create {}", path.display())),
    })?;
    std::io::Write::write_all(&mut handle, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// `WoodGrain`, `wood_grain` and `wood-grain` all give `["wood", "grain"]`;
/// `RGBNoise` gives `["rgb", "noise"]`.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let previous = i.checked_sub(1).map(|p| chars[p]);
        let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        let starts_word = c.is_ascii_uppercase()
            && previous.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next_is_lower)
            });
        if starts_word && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

const TEMPLATE: &str = r#"# A Tessera node, written by `tessera new-node`. Use it in a scene with:
#
#   [nodes.my_node]
#   type = "python"
#   script = "FILE.py"        # relative to the scene file
#   class = "CLASS"
#   scale = 4.0
#
# The tutorial and the rules are in docs/python-nodes.md.
import math

import tessera


class CLASS(tessera.Node):
    """Stripes along u, tinted by a colour."""

    inputs = {
        # tessera.TEXCOORD: the sample's (u, v) unless the scene links one.
        "uv": tessera.Vector2(tessera.TEXCOORD),
        "color": tessera.Color((1.0, 0.8, 0.4)),
        "scale": tessera.Float(4.0, min=0.0, max=1000.0, doc="stripes across the image"),
    }
    outputs = {"color": tessera.Color()}
    # True promises every call depends only on its arguments.
    pure = True

    def setup(self):
        # Runs once per node instance, before any call.
        pass

    def __call__(self, ctx, uv, color, scale):
        # ctx.x, ctx.y: the pixel; ctx.random(): a deterministic random float.
        stripe = 0.5 + 0.5 * math.sin(uv[0] * scale * 2.0 * math.pi)
        return tuple(c * stripe for c in color[:3]) + (color[3],)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words() {
        assert_eq!(words("WoodGrain"), ["wood", "grain"]);
        assert_eq!(words("wood_grain"), ["wood", "grain"]);
        assert_eq!(words("wood-grain2"), ["wood", "grain2"]);
        assert_eq!(words("RGBNoise"), ["rgb", "noise"]);
    }
}
