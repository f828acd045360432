//! Running one external program: CSV on stdin, output collected from
//! stdout/stderr, an optional timeout, and a small parallel task runner shared
//! by the external simulator and the external integrand.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How many trailing stderr lines failure messages quote.
pub(crate) const STDERR_TAIL_LINES: usize = 10;

/// Longest stderr line (in characters) quoted in a failure message.
const STDERR_LINE_CHARS: usize = 300;

/// How long to wait for the output pipes to close after a timed-out program
/// was killed (a grandchild may still hold them; its readers are then left
/// behind rather than blocking the run).
const KILL_GRACE: Duration = Duration::from_millis(200);

/// How a finished program ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ending {
    /// Exit status 0.
    Success,
    /// A non-zero exit status.
    Code(i32),
    /// Killed by a signal (Unix).
    Signal(i32),
    /// Killed by us after running longer than the timeout (seconds).
    TimedOut(f64),
    /// Waiting for the program failed.
    WaitFailed(String),
}

/// What a program run produced.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    /// How it ended.
    pub ending: Ending,
    /// Everything it wrote to stdout (possibly partial after a timeout).
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr (possibly partial after a timeout).
    pub stderr: Vec<u8>,
}

impl Finished {
    /// `None` on success, else e.g. `exit status 3; stderr: boom`.
    pub fn failure(&self) -> Option<String> {
        let what = match &self.ending {
            Ending::Success => return None,
            Ending::Code(code) => format!("exit status {code}"),
            Ending::Signal(signal) => format!("killed by signal {signal}"),
            Ending::TimedOut(seconds) => format!("timed out after {seconds} s (killed)"),
            Ending::WaitFailed(e) => format!("waiting for the program failed: {e}"),
        };
        Some(format!("{what}; {}", self.stderr_tail()))
    }

    /// `stderr: <last lines, joined by " | ">` or `stderr: (empty)`.
    pub fn stderr_tail(&self) -> String {
        stderr_tail(&self.stderr)
    }
}

/// `stderr: <last lines of `stderr`, joined by " | ">` or `stderr: (empty)`.
pub(crate) fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "stderr: (empty)".to_string();
    }
    let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
    let shown: Vec<String> = lines[start..]
        .iter()
        .map(|l| {
            let l = l.trim_end();
            match l.char_indices().nth(STDERR_LINE_CHARS) {
                Some((cut, _)) => format!("{}…", &l[..cut]),
                None => l.to_string(),
            }
        })
        .collect();
    format!("stderr: {}", shown.join(" | "))
}

/// The command as one readable string, arguments with spaces or quotes in
/// single quotes: `python3 'my sim.py'`.
pub(crate) fn describe_command(command: &[String]) -> String {
    command
        .iter()
        .map(|a| {
            if !a.is_empty() && !a.contains(|c: char| c.is_whitespace() || "'\"\\$`".contains(c)) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Starts `command` (program + arguments, no shell) with the extra
/// environment variables `env`, writes `input` to its stdin from a separate
/// thread, collects stdout and stderr, and waits for it to end, killing it
/// after `timeout`.
///
/// `Err` only when the program cannot be started (the message names the
/// command and the operating-system error); everything after that is
/// reported in [`Finished`].
pub(crate) fn run_program(
    command: &[String],
    env: &[(&str, String)],
    input: Arc<Vec<u8>>,
    timeout: Option<Duration>,
) -> Result<Finished, String> {
    let Some((program, args)) = command.split_first() else {
        return Err("empty command".to_string());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", describe_command(command)))?;
    let start = Instant::now();

    // Stdin is written from its own thread so that a program writing lots of
    // output before reading all its input cannot deadlock us. Write errors
    // (a program that exits without reading) show up as its exit status or
    // missing output lines, so they are ignored here.
    if let Some(mut stdin) = child.stdin.take() {
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = Collector::start(child.stdout.take());
    let stderr = Collector::start(child.stderr.take());

    let deadline = timeout.map(|t| start + t);
    let mut ending = wait_until(&mut child, start, timeout);
    let grace_deadline = match ending {
        Ending::TimedOut(_) => Some(Instant::now() + KILL_GRACE),
        _ => deadline,
    };
    let closed = stdout.wait_closed(grace_deadline) && stderr.wait_closed(grace_deadline);
    if !closed && !matches!(ending, Ending::TimedOut(_)) {
        // The program ended but something it started still holds its output
        // open past the deadline.
        ending = Ending::TimedOut(timeout.map_or(0.0, |t| t.as_secs_f64()));
    }
    Ok(Finished {
        ending,
        stdout: stdout.take(),
        stderr: stderr.take(),
    })
}

/// Polls `child` until it exits or `timeout` (counted from `start`) passes,
/// then kills it.
fn wait_until(child: &mut Child, start: Instant, timeout: Option<Duration>) -> Ending {
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return ending_of(status),
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Ending::WaitFailed(e.to_string());
            }
        }
        let mut nap = pause;
        if let Some(limit) = timeout {
            let elapsed = start.elapsed();
            if elapsed >= limit {
                let _ = child.kill();
                let _ = child.wait();
                return Ending::TimedOut(limit.as_secs_f64());
            }
            nap = nap.min(limit - elapsed);
        }
        thread::sleep(nap);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Maps an exit status to an [`Ending`].
fn ending_of(status: ExitStatus) -> Ending {
    if status.success() {
        return Ending::Success;
    }
    if let Some(code) = status.code() {
        return Ending::Code(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Ending::Signal(signal);
        }
    }
    Ending::WaitFailed(format!("unrecognised exit status {status}"))
}

/// Reads one output pipe to its end on a background thread.
struct Collector {
    buffer: Arc<Mutex<Vec<u8>>>,
    handle: Option<JoinHandle<()>>,
}

impl Collector {
    /// Starts reading `pipe` (nothing to read when `None`).
    fn start<R: Read + Send + 'static>(pipe: Option<R>) -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let handle = pipe.map(|mut pipe| {
            let buffer = Arc::clone(&buffer);
            thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(k) => buffer
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend_from_slice(&chunk[..k]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            })
        });
        Collector { buffer, handle }
    }

    /// Waits until the pipe is closed (true) or `deadline` passes (false; the
    /// reader thread is then left to finish on its own).
    fn wait_closed(&self, deadline: Option<Instant>) -> bool {
        let Some(handle) = &self.handle else {
            return true;
        };
        while !handle.is_finished() {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// What has been read so far.
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.buffer.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Runs `task(0..n)` on at most `workers` threads at once (tasks are handed
/// out in index order) and returns the results by index. Before taking a new
/// task a worker checks `stop`; tasks never started are `None`.
pub(crate) fn run_indexed<T: Send>(
    n: usize,
    workers: usize,
    stop: &(dyn Fn() -> bool + Sync),
    task: &(dyn Fn(usize) -> T + Sync),
) -> Vec<Option<T>> {
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let work = || loop {
        if stop() {
            break;
        }
        let i = next.fetch_add(1, Ordering::SeqCst);
        if i >= n {
            break;
        }
        let r = task(i);
        results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
    };
    let workers = workers.clamp(1, n.max(1));
    if workers == 1 {
        work();
    } else {
        thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(work);
            }
        });
    }
    results.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Evaluates one chunk of rows, given the index of its first row: its values, or a
/// message naming what failed.
pub(crate) type ChunkRunner<'a> = dyn Fn(&[f64], usize) -> Result<Vec<f64>, String> + Sync + 'a;

/// Evaluate `points` (rows of `dim` values) in chunks of `batch_size` rows with up to
/// `workers` in parallel, each chunk by `run_chunk(chunk, index of its first row)`,
/// writing the values into `out` in order. The lowest failing chunk's message is
/// returned, and no new chunk starts after a failure.
pub(crate) fn run_chunked(
    points: &[f64],
    dim: usize,
    batch_size: usize,
    workers: usize,
    out: &mut [f64],
    run_chunk: &ChunkRunner<'_>,
) -> Result<(), String> {
    let n = out.len();
    let chunk_values = batch_size * dim;
    let n_chunks = n.div_ceil(batch_size);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let stop = || failed.load(std::sync::atomic::Ordering::SeqCst);
    let task = |c: usize| {
        let start = c * chunk_values;
        let end = (start + chunk_values).min(points.len());
        let r = run_chunk(&points[start..end], c * batch_size);
        if r.is_err() {
            failed.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        r
    };
    let results = run_indexed(n_chunks, workers, &stop, &task);
    let mut first_error = None;
    for (c, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(values)) => {
                let start = c * batch_size;
                out[start..start + values.len()].copy_from_slice(&values);
            }
            Some(Err(message)) => {
                first_error.get_or_insert(message);
            }
            None => {}
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// What is wrong with the settings of an external program run in chunks (empty command,
/// a zero size, a timeout that is not positive), or `None`.
pub(crate) fn chunked_settings_problem(
    command: &[String],
    dim: usize,
    batch_size: usize,
    parallel: usize,
    timeout_s: Option<f64>,
) -> Option<String> {
    if command.first().is_none_or(|p| p.is_empty()) {
        Some("`command` must name a program".to_string())
    } else if dim == 0 || batch_size == 0 || parallel == 0 {
        Some(format!(
            "`dim`, `batch_size` and `parallel` must be at least 1, got {dim}, {batch_size} and {parallel}"
        ))
    } else {
        match timeout_s {
            Some(t) if !(t.is_finite() && t > 0.0) => {
                Some(format!("`timeout_s` must be positive, got {t}"))
            }
            _ => None,
        }
    }
}
