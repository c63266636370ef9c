//! Durable, atomic file writes. Every file the pipeline writes goes through here: the bytes go
//! to a temporary file in the target's folder, which is flushed and synced, renamed over the
//! target, and then the folder is synced, so a reader (or a crash) sees the old file or the
//! new one, never a partial one.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically and durably (see the module docs). On an error before
/// the rename the temporary file is removed and `path` is left as it was; an error syncing the
/// folder afterwards means the new file may not survive a crash.
///
/// # Errors
/// Any I/O error (missing folder, `path` is a folder, disk full...); `InvalidInput` if `path`
/// has no file name.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    atomic_write_with(path, |file| file.write_all(bytes))
}

/// [`atomic_write`] with the content produced by `write` into the temporary file.
///
/// # Errors
/// As [`atomic_write`], and whatever `write` returns.
pub fn atomic_write_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no file name", path.display()),
        )
    })?;
    let dir = folder_of(path);
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    // Readable by others as a plain `File::create` would make it (the umask still applies);
    // tempfile's own default is owner-only.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut temp = builder.tempfile_in(dir)?;
    write(temp.as_file_mut())?;
    temp.as_file_mut().flush()?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_folder(dir)
}

/// Creates `dir` and its missing parents, syncing each new folder's parent so the folder
/// itself survives a crash.
///
/// # Errors
/// A folder cannot be created or synced.
pub fn create_dir_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durable(parent)?;
    }
    match std::fs::create_dir(dir) {
        // Made meanwhile by someone else: fine, if it is a folder.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
        Ok(()) => sync_folder(folder_of(dir)),
    }
}

/// The folder a path lives in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Syncs a folder, so renames into it survive a crash (Unix; elsewhere a no-op).
///
/// # Errors
/// The folder cannot be opened or synced.
pub fn sync_folder(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        atomic_write(&path, b"first version, long").unwrap();
        atomic_write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        atomic_write(&path, b"old").unwrap();
        let err = atomic_write_with(&path, |f| {
            f.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn folders_are_made_with_their_parents_and_a_file_in_the_way_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        create_dir_durable(&deep).unwrap();
        assert!(deep.is_dir());
        create_dir_durable(&deep).unwrap();
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        assert!(create_dir_durable(&dir.path().join("file")).is_err());
        assert!(create_dir_durable(&dir.path().join("file/sub")).is_err());
    }

    #[test]
    fn writing_into_a_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(atomic_write(&dir.path().join("no/such/a.txt"), b"x").is_err());
    }
}
