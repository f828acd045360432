//! [`WorkerProcess`]: the process of one persistent worker (either transport): its
//! start, the tail of its stderr, how it ended, killing it.

use super::process::{describe_command, stderr_tail};
use std::io::Read;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Most stderr bytes kept per worker (the tail quoted in failure messages).
const STDERR_KEEP: usize = 64 * 1024;

/// How long a closed worker gets to exit before it is killed.
pub(crate) const EXIT_GRACE: Duration = Duration::from_millis(500);

/// A started worker whose stderr is collected on a background thread. Dropping it
/// waits up to [`EXIT_GRACE`] for the process to exit (its owner closes stdin
/// first), then kills it.
pub(crate) struct WorkerProcess {
    child: Child,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<thread::JoinHandle<()>>,
}

impl WorkerProcess {
    /// Starts `command` with `FLOWINFER_MODE=persistent` and the extra environment
    /// `env`; returns the process and its stdin and stdout. `Err` names the command
    /// and the operating-system error.
    pub fn start(
        command: &[String],
        env: &[(&str, String)],
    ) -> Result<(WorkerProcess, ChildStdin, ChildStdout), String> {
        let Some((program, args)) = command.split_first() else {
            return Err("empty command".to_string());
        };
        let described = describe_command(command);
        let mut child = Command::new(program)
            .args(args)
            .env("FLOWINFER_MODE", "persistent")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start `{described}`: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("cannot start `{described}`: no pipes"));
        };
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stderr_reader = child.stderr.take().map(|mut pipe| {
            let stderr = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(k) = pipe.read(&mut chunk) {
                    if k == 0 {
                        break;
                    }
                    let mut kept = stderr.lock().unwrap_or_else(|p| p.into_inner());
                    kept.extend_from_slice(&chunk[..k]);
                    if kept.len() > 2 * STDERR_KEEP {
                        let cut = kept.len() - STDERR_KEEP;
                        kept.drain(..cut);
                    }
                }
            })
        });
        let process = WorkerProcess {
            child,
            stderr,
            stderr_reader,
        };
        Ok((process, stdin, stdout))
    }

    /// `stderr: <last lines>` of this worker.
    pub fn stderr_tail(&self) -> String {
        stderr_tail(&self.stderr.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// `worker lost: <what>; stderr: …`, the stderr read to its end (or for at most
    /// [`EXIT_GRACE`] when something else still holds the pipe).
    pub fn lost(&self, what: String) -> String {
        if let Some(reader) = &self.stderr_reader {
            let start = Instant::now();
            while !reader.is_finished() && start.elapsed() < EXIT_GRACE {
                thread::sleep(Duration::from_millis(2));
            }
        }
        format!("worker lost: {what}; {}", self.stderr_tail())
    }

    /// Waits briefly for the ended worker and describes how it ended (killing it
    /// when it has not ended: it closed its stdout but lives on).
    pub fn wait_for_exit(&mut self) -> String {
        let start = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return match status.code() {
                        Some(code) => format!("exited with status {code}"),
                        None => format!("ended ({status})"),
                    }
                }
                Ok(None) if start.elapsed() < EXIT_GRACE => thread::sleep(Duration::from_millis(5)),
                _ => {
                    self.kill();
                    return "closed its stdout".to_string();
                }
            }
        }
    }

    /// Kills the process and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    /// Waits up to [`EXIT_GRACE`] for an exit (stdin was closed by the owner), then
    /// kills what is left.
    fn drop(&mut self) {
        let start = Instant::now();
        while start.elapsed() < EXIT_GRACE {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(2));
        }
        self.kill();
    }
}
