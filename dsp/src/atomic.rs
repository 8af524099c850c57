//! Crash-safe file writes: write a temporary file beside the target, flush it to disk, then
//! rename it into place. A reader sees either the old file or the whole new one, never a part.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{DspError, Result};

/// The temporary name used while `path` is being written: `.NAME.tmp-PID` in the same folder.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Atomically replace `path` with `bytes`, flushed to disk before the rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_with(path, true, |w| w.write_all(bytes))
}

/// Atomically replace `path` with `bytes` without waiting for the disk: safe against the
/// process being killed (readers see the old or the new file), not against a power cut. For
/// caches, whose damaged entries are detected and rebuilt, and for generated audio.
pub fn write_atomically_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_with(path, false, |w| w.write_all(bytes))
}

/// Atomically replace `path` with what `write` writes (buffered, not synced): for large cache
/// files produced piece by piece.
pub fn write_atomically_unsynced_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    replace_with(path, false, write)
}

/// Atomically replace `path` with the file that `create` writes at the temporary path it is
/// given (then synced and renamed), for writers that insist on creating the file themselves.
pub fn write_atomically_at(
    path: &Path,
    create: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        create(&tmp)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(DspError::io(path, e));
    }
    Ok(())
}

/// Write the temporary file through a buffer, optionally sync it, rename it into place; on
/// any error remove it and report the target path.
fn replace_with(
    path: &Path,
    sync: bool,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        write(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        if sync {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(DspError::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        write_atomically(&p, b"first version").unwrap();
        write_atomically(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A target in a missing folder is an error naming the file, and leaves nothing behind.
        let bad = dir.path().join("missing/x.bin");
        let e = write_atomically(&bad, b"x").unwrap_err().to_string();
        assert!(e.contains("missing/x.bin"), "{e}");
    }
}
