//! "Did you mean" for misspelt names.

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Edit distance costs the product of the lengths: past this, a name is
    // no typo worth the time (a megabyte-long id would take minutes).
    const LONGEST: usize = 128;
    let length = name.chars().count();
    if length > LONGEST {
        return None;
    }
    let limit = (length / 3).max(2);
    candidates
        .into_iter()
        // The distance is at least the difference in length.
        .filter(|c| c.len() <= LONGEST * 4 && c.chars().count().abs_diff(length) <= limit)
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// `"help: did you mean `x`?"`, or a list of what exists when nothing is close.
pub fn help_for<'a>(
    name: &str,
    what: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> String {
    match did_you_mean(name, candidates.clone()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => {
            let all: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            if all.is_empty() {
                format!("there are no {what}")
            } else {
                format!("the {what} are {}", all.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["noise2d", "noise3d", "checkerboard"];
        assert_eq!(did_you_mean("nosie2d", names), Some("noise2d"));
        assert_eq!(did_you_mean("checker", names), None);
        let long = "n".repeat(1 << 20);
        assert_eq!(did_you_mean(&long, [long.as_str(), "noise2d"]), None);
        assert_eq!(
            help_for("zzz", "inputs", ["a", "b"]),
            "the inputs are `a`, `b`"
        );
    }
}
