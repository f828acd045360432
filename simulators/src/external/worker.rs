//! One persistent worker: a long-lived external program that answers framed
//! requests (see [`framed`](super::framed)) on stdin/stdout. Stdin is written and
//! stdout read on background threads, so a hung worker can be abandoned after its
//! timeout and killed.

use super::child::WorkerProcess;
use super::framed::{parse_reply_header, Payload, ReplyHeader, Rows};
use std::io::{BufRead, BufReader, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// What the stdout reader saw for one request.
enum Reply {
    /// `OK`: the header's column count and the rows that followed.
    Ok { cols: usize, rows: Rows },
    /// `ERR <message>`.
    Refused(String),
    /// A line that is not a reply header (the stream is out of step).
    Malformed(String),
    /// Stdout closed (the worker ended), with what had been read of the reply.
    Closed(String),
}

/// Why one request failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WorkerFailure {
    /// The worker died or stopped answering (crash, timeout, broken stream): it is
    /// gone and the request may be retried on a fresh worker.
    Lost(String),
    /// The worker answered `ERR` or an answer of the wrong shape: the batch fails,
    /// retrying would give the same answer.
    Refused(String),
}

/// A running worker process speaking the pipe protocols (text or `f64` rows on
/// stdin/stdout). Dropping it closes its stdin (the fields drop in order: the
/// request channel, whose writer thread then drops stdin, before the process), so a
/// well-behaved worker exits; what is left is killed.
pub(crate) struct Worker {
    requests: Option<Sender<Arc<Vec<u8>>>>,
    replies: Receiver<Reply>,
    process: WorkerProcess,
}

impl Worker {
    /// Starts `command` with `FLOWINFER_MODE=persistent`; `Err` names the command and
    /// the operating-system error.
    ///
    /// Several requests may be in flight (sent, not yet answered). This cannot
    /// deadlock: [`Worker::send`] only queues the bytes on an unbounded channel, so
    /// the caller never blocks on the pipe; the writer thread alone may block on a
    /// full stdin pipe, and it blocks only until the worker reads; the worker can
    /// always make progress to that read because its stdout is drained by the reader
    /// thread at all times (into an unbounded channel, whether or not anyone is
    /// waiting for the reply yet), so the worker is never stuck writing a reply
    /// nobody reads. A worker that stops reading or answering is caught by the
    /// caller's timeout in [`Worker::receive`], which kills it, and the killed
    /// process's pipes close, which ends both threads.
    pub fn start(command: &[String]) -> Result<Worker, String> {
        let (process, mut stdin, stdout) = WorkerProcess::start(command, &[])?;
        let (requests, to_write) = mpsc::channel::<Arc<Vec<u8>>>();
        widen_pipe(&stdin);
        thread::spawn(move || {
            for bytes in to_write {
                if stdin.write_all(&bytes).and_then(|_| stdin.flush()).is_err() {
                    break;
                }
            }
        });
        let (send_reply, replies) = mpsc::channel();
        thread::spawn(move || read_replies(BufReader::new(stdout), send_reply));
        Ok(Worker {
            requests: Some(requests),
            replies,
            process,
        })
    }

    /// Queues one encoded request for the stdin writer thread; false when the
    /// worker's stdin is already closed (it was killed or its writer stopped).
    /// Never blocks: see the deadlock note on [`Worker::start`].
    pub fn send(&mut self, request: Arc<Vec<u8>>) -> bool {
        self.requests
            .as_ref()
            .is_some_and(|s| s.send(request).is_ok())
    }

    /// Waits (at most `timeout`) for the answer to the oldest request not yet
    /// answered: `rows` lines of `cols` values. Answers come in the order the
    /// requests were sent. A lost worker is killed before this returns.
    pub fn receive(
        &mut self,
        rows: usize,
        cols: usize,
        timeout: Option<Duration>,
    ) -> Result<Rows, WorkerFailure> {
        let reply = if self.requests.is_none() {
            Reply::Closed("its stdin is closed".into())
        } else {
            let received = match timeout {
                Some(t) => self.replies.recv_timeout(t),
                None => self
                    .replies
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(reply) => reply,
                Err(RecvTimeoutError::Disconnected) => Reply::Closed(String::new()),
                Err(RecvTimeoutError::Timeout) => {
                    self.kill();
                    let seconds = timeout.map_or(0.0, |t| t.as_secs_f64());
                    return Err(self.lost(format!("no answer within {seconds} s (worker killed)")));
                }
            }
        };
        match reply {
            Reply::Ok { cols: c, rows: r } if c == cols && r.count(c) == rows => Ok(r),
            Reply::Ok { cols: c, rows: r } => Err(WorkerFailure::Refused(format!(
                "answered {} rows × {c} columns for {rows} rows × {cols} columns; {}",
                r.count(c),
                self.process.stderr_tail()
            ))),
            Reply::Refused(message) => Err(WorkerFailure::Refused(format!(
                "answered ERR {message}; {}",
                self.process.stderr_tail()
            ))),
            Reply::Malformed(message) => {
                self.kill();
                Err(self.lost(message))
            }
            Reply::Closed(partial) => {
                let status = self.process.wait_for_exit();
                let what = if partial.is_empty() {
                    status
                } else {
                    format!("{status} ({partial})")
                };
                Err(self.lost(what))
            }
        }
    }

    /// A [`WorkerFailure::Lost`] quoting the worker's stderr.
    fn lost(&self, what: String) -> WorkerFailure {
        WorkerFailure::Lost(self.process.lost(what))
    }

    /// Closes the request channel, kills the process and reaps it.
    fn kill(&mut self) {
        self.requests = None;
        self.process.kill();
    }
}

/// Asks Linux for a 1 MiB pipe buffer on the worker's stdin, so a batch of up to
/// 1 MiB is written in one go instead of 64 KiB at a time, each waiting for the
/// worker to read (a failure leaves the default size).
#[cfg(target_os = "linux")]
fn widen_pipe(stdin: &std::process::ChildStdin) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ on a pipe descriptor we own only resizes its buffer.
    unsafe {
        libc::fcntl(stdin.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

/// Other systems keep their default pipe buffer.
#[cfg(not(target_os = "linux"))]
fn widen_pipe(_: &std::process::ChildStdin) {}

/// Reads replies from a worker's stdout until it closes, sending one [`Reply`] per
/// request.
fn read_replies(mut stdout: impl BufRead, send: Sender<Reply>) {
    let mut line = String::new();
    loop {
        line.clear();
        match stdout.read_line(&mut line) {
            Ok(0) | Err(_) => {
                let _ = send.send(Reply::Closed(String::new()));
                return;
            }
            Ok(_) => {}
        }
        let reply = match parse_reply_header(&line) {
            Ok(ReplyHeader::Err(message)) => Reply::Refused(message),
            Ok(ReplyHeader::Ok {
                rows,
                cols,
                payload: Payload::F64,
            }) => {
                let mut bytes = vec![0u8; rows * cols * 8];
                match stdout.read_exact(&mut bytes) {
                    Ok(()) => Reply::Ok {
                        cols,
                        rows: Rows::Values(
                            bytes
                                .chunks_exact(8)
                                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                                .collect(),
                        ),
                    },
                    Err(_) => Reply::Closed(format!(
                        "stdout ended within the {} announced bytes",
                        rows * cols * 8
                    )),
                }
            }
            Ok(ReplyHeader::Ok {
                payload: Payload::Shm(slot),
                ..
            }) => Reply::Malformed(format!(
                "answered a shared-memory reply (slot {slot}) to a request sent on stdin"
            )),
            Ok(ReplyHeader::Ok { rows, cols, .. }) => {
                let mut lines = Vec::with_capacity(rows);
                let mut closed = false;
                for _ in 0..rows {
                    line.clear();
                    match stdout.read_line(&mut line) {
                        Ok(0) | Err(_) => {
                            closed = true;
                            break;
                        }
                        Ok(_) => lines.push(line.trim_end_matches(['\n', '\r']).to_string()),
                    }
                }
                if closed {
                    Reply::Closed(format!(
                        "stdout ended after {} of the {rows} announced lines",
                        lines.len()
                    ))
                } else {
                    Reply::Ok {
                        cols,
                        rows: Rows::Lines(lines),
                    }
                }
            }
            Err(message) => Reply::Malformed(message),
        };
        let stop = matches!(reply, Reply::Closed(_) | Reply::Malformed(_));
        if send.send(reply).is_err() || stop {
            return;
        }
    }
}
