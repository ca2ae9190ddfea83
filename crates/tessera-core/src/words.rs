//! Counts as messages say them.

/// "1 node", "2 nodes", "0 nodes": `noun` is a singular whose plural takes
/// an s.
pub fn counted(count: u64, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "sample"), "1 sample");
        assert_eq!(counted(0, "thread"), "0 threads");
        assert_eq!(counted(4096, "sample"), "4096 samples");
    }
}
