//! Atomic writes: every output file and directory is built under a temporary name in
//! the same directory and renamed into place only when it is complete, so a failed or
//! interrupted job never leaves a half-written file at the target path.
//!
//! * [`write_atomic`]: bytes to a file;
//! * [`write_atomic_with`]: a writer that needs a path of its own (safetensors,
//!   plotters, a buffered CSV writer);
//! * [`write_dir_atomic`]: a whole directory, built in a staging directory and swapped
//!   in for the previous one (which is set aside as [`previous_dir`] during the swap,
//!   so a crash leaves the old or the new version, never a mixture).
//!
//! Temporary names are hidden (`.name.<pid>-<n>.tmp.<ext>`, the extension kept so that
//! writers choosing the format by extension still work) and removed on failure. Errors
//! are [`Error::File`] naming the target path.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh temporary path beside `path`: `.name.<pid>-<n>.tmp` plus `path`'s extension,
/// unique within the process.
pub fn temp_path(path: &Path) -> PathBuf {
    temp_path_ending(path, path.extension())
}

/// [`temp_path`] ending in `.tmp.<extension>` (nothing after `.tmp` when `None`).
fn temp_path_ending(path: &Path, extension: Option<&std::ffi::OsStr>) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if let Some(ext) = extension {
        name.push(".");
        name.push(ext);
    }
    path.with_file_name(name)
}

/// Write `bytes` to `path` atomically (a temporary file in the same directory, then a
/// rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| Error::file(path, e.to_string()))
    })
}

/// Let `write` create the file at the temporary path it is given, then rename that file
/// to `path`. When `write` fails, its error is returned and the temporary file removed;
/// `write` should name `path` (not the temporary path) in its errors.
pub fn write_atomic_with<T>(path: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    write_atomic_with_extension(path, path.extension(), write)
}

/// [`write_atomic_with`] with a temporary path ending in `.<extension>` whatever
/// `path`'s own extension, for writers that choose the format by extension (a PNG
/// written to a file named without `.png`).
pub fn write_atomic_with_extension<T>(
    path: &Path,
    extension: Option<&std::ffi::OsStr>,
    write: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let tmp = temp_path_ending(path, extension);
    let value = match write(&tmp) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::file(path, e.to_string())
    })?;
    Ok(value)
}

/// Where [`write_dir_atomic`] keeps the previous version of `dir` while it swaps in the
/// new one (`dir.old`). If a crash leaves only this, [`write_dir_atomic`] puts it back
/// before writing, and readers may fall back to it.
pub fn previous_dir(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".old");
    dir.with_file_name(name)
}

/// Build a whole directory in a staging directory beside `out` and move it into place
/// only when `build` succeeds: a failed job leaves no half-written output, and an
/// earlier complete result at `out` is replaced only by a complete one (it is renamed
/// to [`previous_dir`] for the swap and then removed).
pub fn write_dir_atomic<T>(out: &Path, build: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let old = previous_dir(out);
    // A crash between the two renames below leaves only `.old`: put it back first so
    // that there is always one complete version on disk.
    if !out.exists() && old.exists() {
        std::fs::rename(&old, out).map_err(|e| Error::file(out, e.to_string()))?;
    }
    let stage = temp_path(out);
    std::fs::create_dir_all(&stage).map_err(|e| Error::file(out, e.to_string()))?;
    let value = match build(&stage) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&stage);
            return Err(e);
        }
    };
    let _ = std::fs::remove_dir_all(&old);
    if out.exists() {
        if let Err(e) = std::fs::rename(out, &old) {
            let _ = std::fs::remove_dir_all(&stage);
            return Err(Error::file(
                out,
                format!("cannot replace the previous output: {e}"),
            ));
        }
    }
    if let Err(e) = std::fs::rename(&stage, out) {
        let _ = std::fs::remove_dir_all(&stage);
        return Err(Error::file(out, e.to_string()));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("flowinfer-atomic-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn temp_paths_are_hidden_unique_siblings_keeping_the_extension() {
        let p = Path::new("/x/y/plot.png");
        let (a, b) = (temp_path(p), temp_path(p));
        assert_ne!(a, b);
        assert_eq!(a.parent(), p.parent());
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".plot.png.") && name.ends_with(".tmp.png"),
            "{name}"
        );
    }

    #[test]
    fn files_are_replaced_whole_and_failures_leave_nothing() {
        let d = scratch("files");
        let p = d.join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let err = write_atomic_with(&p, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err::<(), _>(Error::file(&p, "boom"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(entries(&d), ["a.json"]);
        let missing = d.join("no-such-dir").join("b.json");
        let err = write_atomic(&missing, b"x").unwrap_err();
        assert!(err.to_string().contains("b.json"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn directories_are_swapped_whole_and_recovered_after_a_crash() {
        let d = scratch("dirs");
        let out = d.join("run");
        write_dir_atomic(&out, |s| Ok(std::fs::write(s.join("v"), "1")?)).unwrap();
        write_dir_atomic(&out, |s| Ok(std::fs::write(s.join("v"), "2")?)).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("v")).unwrap(), "2");
        let err = write_dir_atomic(&out, |s| {
            std::fs::write(s.join("v"), "3")?;
            Err::<(), _>(Error::config("failed"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(out.join("v")).unwrap(), "2");
        assert_eq!(entries(&d), ["run"]);
        // A crash mid-swap left only `run.old`: it is put back before the next write.
        std::fs::rename(&out, previous_dir(&out)).unwrap();
        let err = write_dir_atomic(&out, |_| Err::<(), _>(Error::config("failed")));
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(out.join("v")).unwrap(), "2");
        assert_eq!(entries(&d), ["run"]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
