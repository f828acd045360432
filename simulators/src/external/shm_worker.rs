//! [`ShmWorker`]: a persistent worker of `mode = "persistent-shm"`. Its rows and
//! answers travel through a [`ShmRegion`] (a mapped file named in the worker's
//! environment, `FLOWINFER_SHM`); only the header lines go through its stdin and
//! stdout, written and read on the calling thread (no hand-off to other threads),
//! with `poll(2)` for the timeout.

use super::child::WorkerProcess;
use super::framed::{parse_reply_header, shm_request_header, Payload, ReplyHeader, Rows};
use super::shm_region::{ShmRegion, SlotSpan, SLOTS};
use super::worker::WorkerFailure;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::{ChildStdin, ChildStdout};
use std::time::{Duration, Instant};

/// Longest reply header accepted (a longer line is not a header: out of step).
const MAX_HEADER: usize = 64 * 1024;

/// Why no header line was read.
enum LineError {
    /// Nothing complete within the timeout.
    Timeout,
    /// Stdout closed, with the bytes of an unfinished line.
    Closed(String),
    /// A line longer than [`MAX_HEADER`].
    TooLong,
}

/// A running `persistent-shm` worker. The fields drop in order: stdin first (a
/// well-behaved worker sees it closed and exits), then the process (waited for,
/// then killed), then the mapped file (removed).
pub(crate) struct ShmWorker {
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    /// Bytes read from stdout and not yet consumed as a line.
    pending: Vec<u8>,
    /// The slots of the requests sent and not yet answered, oldest first.
    in_flight: VecDeque<SlotSpan>,
    next_slot: usize,
    process: WorkerProcess,
    region: ShmRegion,
}

impl ShmWorker {
    /// Creates the mapped file and starts `command` with `FLOWINFER_MODE=persistent`
    /// and `FLOWINFER_SHM=<file>`; `Err` names the command (or the file) and the
    /// operating-system error.
    pub fn start(command: &[String]) -> Result<ShmWorker, String> {
        let region = ShmRegion::create()?;
        let env = [("FLOWINFER_SHM", region.path().display().to_string())];
        let (process, stdin, stdout) = WorkerProcess::start(command, &env)?;
        Ok(ShmWorker {
            stdin: Some(stdin),
            stdout,
            pending: Vec::with_capacity(256),
            in_flight: VecDeque::with_capacity(SLOTS),
            next_slot: 0,
            process,
            region,
        })
    }

    /// Writes `points` (`cols` values per row) into the next free slot and sends
    /// the request header; the answer will have `out_cols` values per row. At most
    /// [`SLOTS`] requests may be in flight. Never blocks for long: a header is
    /// far shorter than the pipe's buffer and at most [`SLOTS`] are unread.
    pub fn send(
        &mut self,
        points: &[f64],
        cols: usize,
        out_cols: usize,
        seed: u64,
        batch: usize,
    ) -> Result<(), WorkerFailure> {
        let rows = points.len() / cols.max(1);
        let (in_bytes, out_bytes) = (points.len() * 8, rows * out_cols * 8);
        if self.in_flight.len() >= SLOTS {
            return Err(WorkerFailure::Lost(format!(
                "internal: more than {SLOTS} requests in flight"
            )));
        }
        if self.in_flight.is_empty() {
            self.region
                .reserve(in_bytes, out_bytes)
                .map_err(WorkerFailure::Lost)?;
        } else if !self.region.fits(in_bytes, out_bytes) {
            return Err(WorkerFailure::Lost(
                "internal: a request larger than the one in flight".into(),
            ));
        }
        let span = self.region.span(self.next_slot);
        self.next_slot = (self.next_slot + 1) % SLOTS;
        self.region.write_values(span, points);
        let header = shm_request_header(
            rows,
            cols,
            seed,
            batch,
            span.slot,
            span.in_offset,
            span.out_offset,
            self.region.len(),
        );
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(&header).and_then(|_| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        if written.is_err() {
            self.stdin = None;
            let status = self.process.wait_for_exit();
            return Err(WorkerFailure::Lost(
                self.process.lost(format!("{status} (its stdin is closed)")),
            ));
        }
        self.in_flight.push_back(span);
        Ok(())
    }

    /// Waits (at most `timeout`) for the answer to the oldest request in flight:
    /// `rows` rows of `cols` values, read from its slot's output area. A lost worker
    /// is killed before this returns.
    pub fn receive(
        &mut self,
        rows: usize,
        cols: usize,
        timeout: Option<Duration>,
    ) -> Result<Rows, WorkerFailure> {
        let Some(span) = self.in_flight.pop_front() else {
            return Err(WorkerFailure::Lost("internal: no request in flight".into()));
        };
        let deadline = timeout.map(|t| Instant::now() + t);
        let line = match self.read_line(deadline) {
            Ok(line) => line,
            Err(LineError::Timeout) => {
                self.kill();
                let seconds = timeout.map_or(0.0, |t| t.as_secs_f64());
                return Err(self.lost(format!("no answer within {seconds} s (worker killed)")));
            }
            Err(LineError::Closed(partial)) => {
                let status = self.process.wait_for_exit();
                let what = if partial.is_empty() {
                    status
                } else {
                    format!("{status} (unfinished line `{partial}`)")
                };
                return Err(self.lost(what));
            }
            Err(LineError::TooLong) => {
                self.kill();
                return Err(self.lost(format!(
                    "a stdout line of more than {MAX_HEADER} bytes: expected a reply header"
                )));
            }
        };
        let expected = span.slot;
        match parse_reply_header(&line) {
            Ok(ReplyHeader::Ok {
                rows: r,
                cols: c,
                payload: Payload::Shm(slot),
            }) => {
                if slot != expected {
                    self.kill();
                    Err(self.lost(format!(
                        "answered slot {slot} where slot {expected} was due \
                         (`{}`): the replies are out of step",
                        line.trim_end()
                    )))
                } else if r != rows || c != cols {
                    Err(WorkerFailure::Refused(format!(
                        "answered {r} rows × {c} columns for {rows} rows × {cols} columns; {}",
                        self.process.stderr_tail()
                    )))
                } else {
                    // It fits: the slot was reserved for `rows × cols` values (send).
                    Ok(Rows::Values(self.region.read_values(span, rows * cols)))
                }
            }
            Ok(ReplyHeader::Ok { .. }) => {
                self.kill();
                Err(self.lost(format!(
                    "answered `{}` to a shared-memory request: expected \
                     `OK <rows> <cols> shm <slot>` (the rows in the mapped file, not on stdout)",
                    line.trim_end()
                )))
            }
            Ok(ReplyHeader::Err(message)) => Err(WorkerFailure::Refused(format!(
                "answered ERR {message}; {}",
                self.process.stderr_tail()
            ))),
            Err(message) => {
                self.kill();
                Err(self.lost(message))
            }
        }
    }

    /// The next line of stdout (without its end), waiting until `deadline`.
    fn read_line(&mut self, deadline: Option<Instant>) -> Result<String, LineError> {
        let mut scanned = 0;
        loop {
            if let Some(end) = self.pending[scanned..].iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=scanned + end).collect();
                return Ok(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
            }
            scanned = self.pending.len();
            if scanned > MAX_HEADER {
                return Err(LineError::TooLong);
            }
            if !wait_readable(&self.stdout, deadline) {
                return Err(LineError::Timeout);
            }
            let mut chunk = [0u8; 4096];
            match self.stdout.read(&mut chunk) {
                Ok(0) | Err(_) => {
                    let partial = String::from_utf8_lossy(&self.pending).into_owned();
                    return Err(LineError::Closed(partial));
                }
                Ok(k) => self.pending.extend_from_slice(&chunk[..k]),
            }
        }
    }

    /// A [`WorkerFailure::Lost`] quoting the worker's stderr.
    fn lost(&self, what: String) -> WorkerFailure {
        WorkerFailure::Lost(self.process.lost(what))
    }

    /// Closes stdin, kills the process and reaps it.
    fn kill(&mut self) {
        self.stdin = None;
        self.in_flight.clear();
        self.process.kill();
    }
}

/// Waits until `stdout` has bytes to read (or is closed), at most until
/// `deadline`; false when the deadline passed first.
fn wait_readable(stdout: &ChildStdout, deadline: Option<Instant>) -> bool {
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    0
                } else {
                    // Rounded up, so the wait never ends early.
                    left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
                }
            }
        };
        let mut fd = libc::pollfd {
            fd: stdout.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for a descriptor this process owns.
        let ready = unsafe { libc::poll(&mut fd, 1, ms) };
        if ready > 0 {
            return true; // readable, closed (POLLHUP) or failed: `read` tells which
        }
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return true; // poll itself failed: `read` reports it
        }
        if ready == 0 && ms == 0 {
            return false;
        }
        // A timeout rounded up, or an interrupted call: check the deadline again.
        if ready == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
    }
}
