//! [`ShmRegion`]: the file-backed shared mapping through which a `persistent-shm`
//! worker receives its rows and returns its answers, so that only short header lines
//! travel through the pipes.
//!
//! The file holds [`SLOTS`] slots, one per request in flight; slot `k` is an input
//! area of `in_bytes` followed by an output area of `out_bytes`, at byte
//! `k · (in_bytes + out_bytes)`. Every value is a little-endian IEEE-754 `f64`,
//! row after row. flowinfer writes a request's rows into its slot's input area
//! before sending the header; the worker reads them there and writes its answer
//! into the slot's output area before answering `OK … shm <slot>`; flowinfer reads
//! the answer after that header. A slot is written again only after its answer has
//! been read. The file grows (never while a request is in flight) when a request
//! needs more room; every header carries the file's current length, so a worker
//! maps it again when the length changed.

use memmap2::MmapMut;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Requests in flight per worker, each with a slot of its own.
pub(crate) const SLOTS: usize = 2;

/// Areas grow in steps of this many bytes (a multiple of the page size).
const GRAIN: usize = 64 * 1024;

/// Where one request's rows and answer are in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotSpan {
    /// The slot (0 or 1).
    pub slot: usize,
    /// Byte offset of the rows sent.
    pub in_offset: usize,
    /// Byte offset of the answer.
    pub out_offset: usize,
    /// Bytes the answer may fill.
    pub out_bytes: usize,
}

/// A mapped file of [`SLOTS`] slots, removed when dropped.
pub(crate) struct ShmRegion {
    path: PathBuf,
    file: File,
    map: MmapMut,
    in_bytes: usize,
    out_bytes: usize,
}

/// The directory of the mapped files: `/dev/shm` (memory, never written to disk)
/// where it exists, else the system's temporary directory.
fn region_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

impl ShmRegion {
    /// Creates `flowinfer-shm-<pid>-<n>` in [`region_dir`] with room for requests
    /// of `GRAIN` bytes each way; `Err` names the file and the operating-system
    /// error.
    pub fn create() -> Result<ShmRegion, String> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = region_dir().join(format!("flowinfer-shm-{}-{n}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                format!(
                    "cannot create the shared-memory file {}: {e}",
                    path.display()
                )
            })?;
        let map = map(&file, &path, SLOTS * 2 * GRAIN).inspect_err(|_| {
            let _ = std::fs::remove_file(&path);
        })?;
        Ok(ShmRegion {
            path,
            file,
            map,
            in_bytes: GRAIN,
            out_bytes: GRAIN,
        })
    }

    /// The file (given to the worker in `FLOWINFER_SHM`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Current length of the file in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Makes every slot hold `in_bytes` of rows and `out_bytes` of answer, growing
    /// the file and mapping it again when needed. Call only with no request in
    /// flight: a grown file has its slots at other offsets.
    pub fn reserve(&mut self, in_bytes: usize, out_bytes: usize) -> Result<(), String> {
        if in_bytes <= self.in_bytes && out_bytes <= self.out_bytes {
            return Ok(());
        }
        let in_bytes = in_bytes.max(self.in_bytes).next_multiple_of(GRAIN);
        let out_bytes = out_bytes.max(self.out_bytes).next_multiple_of(GRAIN);
        self.map = map(&self.file, &self.path, SLOTS * (in_bytes + out_bytes))?;
        (self.in_bytes, self.out_bytes) = (in_bytes, out_bytes);
        Ok(())
    }

    /// Whether a request of `in_bytes` rows and `out_bytes` answer fits a slot now.
    pub fn fits(&self, in_bytes: usize, out_bytes: usize) -> bool {
        in_bytes <= self.in_bytes && out_bytes <= self.out_bytes
    }

    /// The place of slot `slot` in the current layout.
    pub fn span(&self, slot: usize) -> SlotSpan {
        let in_offset = slot * (self.in_bytes + self.out_bytes);
        SlotSpan {
            slot,
            in_offset,
            out_offset: in_offset + self.in_bytes,
            out_bytes: self.out_bytes,
        }
    }

    /// Writes `values` as little-endian `f64` at the input area of `span` (they
    /// must fit: see [`ShmRegion::fits`]).
    pub fn write_values(&mut self, span: SlotSpan, values: &[f64]) {
        let area = &mut self.map[span.in_offset..span.in_offset + values.len() * 8];
        for (bytes, v) in area.chunks_exact_mut(8).zip(values) {
            bytes.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// Reads `n` little-endian `f64` from the output area of `span` (`n · 8` at most
    /// `span.out_bytes`).
    pub fn read_values(&self, span: SlotSpan, n: usize) -> Vec<f64> {
        debug_assert!(n * 8 <= span.out_bytes, "an answer larger than its slot");
        self.map[span.out_offset..span.out_offset + n * 8]
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()
    }
}

/// Sets the length of `file` to `bytes` and maps all of it, shared.
fn map(file: &File, path: &Path, bytes: usize) -> Result<MmapMut, String> {
    let what = |e: std::io::Error| {
        format!(
            "cannot map {} bytes of the shared-memory file {}: {e}",
            bytes,
            path.display()
        )
    };
    file.set_len(bytes as u64).map_err(what)?;
    reserve_space(file, bytes).map_err(what)?;
    // SAFETY: the file is created by this process under a fresh name and only its
    // worker writes to it, in an output area that flowinfer reads only after the
    // worker's answer header (see the module docs). A worker that writes elsewhere
    // changes bytes, never the length, so every access stays inside the mapping.
    unsafe { MmapMut::map_mut(file) }.map_err(what)
}

/// Allocates the file's blocks now, so that a full `/dev/shm` is an error here
/// rather than a `SIGBUS` when a page of the mapping is first written.
#[cfg(target_os = "linux")]
fn reserve_space(file: &File, bytes: usize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: posix_fallocate on a descriptor this process owns, within i64 range.
    let code = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, bytes as libc::off_t) };
    match code {
        0 => Ok(()),
        code => Err(std::io::Error::from_raw_os_error(code)),
    }
}

/// Other systems allocate the blocks when the pages are first written.
#[cfg(not(target_os = "linux"))]
fn reserve_space(_: &File, _: usize) -> std::io::Result<()> {
    Ok(())
}

impl Drop for ShmRegion {
    /// Removes the file (the mapping goes with the struct).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_hold_rows_and_answers_and_the_file_grows_and_goes() {
        let mut r = ShmRegion::create().unwrap();
        let path = r.path().to_path_buf();
        assert!(path.exists());
        assert_eq!(r.len(), SLOTS * 2 * GRAIN);
        let (a, b) = (r.span(0), r.span(1));
        assert_eq!((a.in_offset, a.out_offset), (0, GRAIN));
        assert_eq!(b.in_offset, 2 * GRAIN);
        r.write_values(b, &[0.5, -2.0]);
        // The bytes are little-endian doubles at the input offset, seen by a reader
        // of the file (as the worker sees them).
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes[b.in_offset..b.in_offset + 8], 0.5f64.to_le_bytes());
        // An answer written through the file is read back from the output area.
        use std::io::{Seek, SeekFrom, Write};
        let mut f = OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(a.out_offset as u64)).unwrap();
        f.write_all(&[1.5f64.to_le_bytes(), 3.0f64.to_le_bytes()].concat())
            .unwrap();
        f.flush().unwrap();
        assert_eq!(r.read_values(a, 2), vec![1.5, 3.0]);
        assert!(!r.fits(GRAIN + 8, 8));
        r.reserve(GRAIN + 8, 8).unwrap();
        assert!(r.fits(GRAIN + 8, 8));
        assert_eq!(r.len(), SLOTS * 3 * GRAIN);
        assert_eq!(r.span(1).in_offset, 3 * GRAIN);
        // No room for the file: an error naming it, not a crash on first write.
        #[cfg(target_os = "linux")]
        {
            let e = r.reserve(1 << 50, 8).unwrap_err();
            assert!(
                e.contains("cannot map") && e.contains("flowinfer-shm-"),
                "{e}"
            );
        }
        drop(r);
        assert!(!path.exists(), "{} left behind", path.display());
    }
}
