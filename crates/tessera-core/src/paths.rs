//! Paths as messages name them.

use std::path::Path;

/// A path as a user would type it: relative to the working directory when
/// it is inside it.
pub fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_inside_the_working_directory_is_shown_relative_to_it() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(display_path(&cwd.join("a/b.png")), "a/b.png");
        assert_eq!(display_path(Path::new("/nowhere/b.png")), "/nowhere/b.png");
        assert_eq!(display_path(Path::new("rel/b.png")), "rel/b.png");
    }
}
