//! Files replaced whole: written into a temporary file beside the file
//! they replace and renamed over it, so that the path holds its old
//! content or the complete new one, never a part.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// Writes `bytes` as the file at `path`, replacing it whole (through its
/// symbolic links, as [`through_links`] says); a read-only file is not
/// replaced (a rename would replace it all the same). Errors name no
/// temporary file: the user knows only `path`.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let location = through_links(path)?;
    if std::fs::metadata(&location).is_ok_and(|m| m.is_file() && m.permissions().readonly()) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "it is read-only; not replaced (make it writable, or remove it)",
        ));
    }
    let mut temporary = temporary_beside(&location)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    persist(temporary, &location)
}

/// The file a write to `path` replaces: `path` itself, or, where it is a
/// symbolic link, the file it leads to (which need not exist yet), so that
/// a link the user made at the output stays, and so does what it links.
pub fn through_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    // Linux's own limit on links followed in one path.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(found) if found.file_type().is_symlink() => {
                // A relative link is relative to its own folder.
                path = target_dir(&path).join(std::fs::read_link(&path)?);
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

/// A new temporary file `.<file name>.<random>.tmp` beside `location`,
/// deleted when dropped unless [`persist`]ed: with `location`'s
/// permissions when it is a file already (a private one stays private),
/// else 0666 less the umask, as any program's new file.
pub(crate) fn temporary_beside(location: &Path) -> io::Result<NamedTempFile> {
    // `.<name>.<6 random>.tmp` must fit the 255 bytes a file name may
    // have: a long name is cut (at a character) in the temporary's.
    let name = location.file_name().unwrap_or_default().to_string_lossy();
    let mut cut = name.len().min(240);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut prefix = OsString::from(".");
    prefix.push(&name[..cut]);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let temporary = builder
        .tempfile_in(target_dir(location))
        .map_err(without_temp_path)?;
    #[cfg(unix)]
    if let Ok(existing) = std::fs::metadata(location)
        && existing.is_file()
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(existing.permissions().mode() & 0o7777);
        temporary.as_file().set_permissions(mode)?;
    }
    Ok(temporary)
}

/// Renames the finished `temporary` over `location`, durably where the
/// platform allows it.
pub(crate) fn persist(temporary: NamedTempFile, location: &Path) -> io::Result<()> {
    temporary
        .persist(location)
        .map_err(|e| without_temp_path(e.error))?;
    sync_dir(target_dir(location));
    Ok(())
}

/// The OS error inside one of tempfile's errors, which name the temporary
/// file (`.out.png.x1Yz.tmp`): the user knows only the target.
pub(crate) fn without_temp_path(error: io::Error) -> io::Error {
    // tempfile's wrapper keeps the OS error private; its message is
    // "<OS error> at path <temporary file>".
    let message = error.to_string();
    match message.split_once(" at path ") {
        Some((reason, _)) if error.raw_os_error().is_none() => io::Error::new(error.kind(), reason),
        _ => error,
    }
}

/// The directory a file is written into; `.` for a bare file name.
pub(crate) fn target_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes the rename durable where the platform allows it. Best effort: the
/// file itself is complete either way.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_dir_of_bare_file_name_is_current_directory() {
        assert_eq!(target_dir(Path::new("out.png")), Path::new("."));
        assert_eq!(target_dir(Path::new("a/out.png")), Path::new("a"));
        assert_eq!(target_dir(Path::new("/out.png")), Path::new("/"));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("renders")).unwrap();
        std::fs::write(dir.path().join("renders/v1.txt"), "old").unwrap();
        let link = dir.path().join("latest.txt");
        std::os::unix::fs::symlink("renders/v1.txt", &link).unwrap();
        replace_file(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("renders/v1.txt")).unwrap(),
            "new"
        );
        // A link to a file not made yet makes it.
        let dangling = dir.path().join("next.txt");
        std::os::unix::fs::symlink("renders/v2.txt", &dangling).unwrap();
        replace_file(&dangling, b"two").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("renders/v2.txt")).unwrap(),
            "two"
        );
        // A loop is an error, not a hang.
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", &b).unwrap();
        assert_eq!(
            replace_file(&a, b"x").unwrap_err().raw_os_error(),
            Some(libc::ELOOP)
        );
    }

    #[test]
    fn a_read_only_file_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kept.toml");
        std::fs::write(&path, "old").unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        permissions.set_readonly(true);
        std::fs::set_permissions(&path, permissions).unwrap();
        let error = replace_file(&path, b"new").unwrap_err();
        assert_eq!(
            error.to_string(),
            "it is read-only; not replaced (make it writable, or remove it)"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn a_missing_folder_is_named_without_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let error = replace_file(&dir.path().join("missing/x.toml"), b"x").unwrap_err();
        assert_eq!(error.to_string(), "No such file or directory (os error 2)");
    }
}
