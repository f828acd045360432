//! [`ExternalLogDensity`]: an unnormalised log density on `R^dim` evaluated by an
//! external program — the integrand protocol with log densities for values (points as
//! CSV rows on stdin, one log density per line on stdout; see the [module
//! docs](super)) — and [`LogDensityError`], the error of a log-density target.

use super::framed::Rows;
use super::mode::{default_retries, is_oneshot, ProgramMode};
use super::pool::SharedPool;
use super::process::{chunked_settings_problem, describe_command, run_chunked};
use super::program::{pipeline_parts, CallError, ProgramCall};
use super::wire::parse_value;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;

/// Why a log-density target failed as a whole (a single non-finite value is not an
/// error here: it is returned as it is and counted by the caller).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LogDensityError {
    /// An external program failed (could not start, non-zero exit, timeout, wrong
    /// number of lines, an unparsable line).
    #[error("target `{target}`: {message}")]
    External {
        /// Target name (the command).
        target: String,
        /// What went wrong, with the program's stderr where available.
        message: String,
    },
    /// Too many points gave a non-finite log density, or the values had the wrong shape.
    #[error("target `{target}`: {message}")]
    Invalid {
        /// Target name.
        target: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A setting was invalid (empty command, zero sizes, bad timeout).
    #[error("target `{target}`: {message}")]
    InvalidSetting {
        /// Target name.
        target: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// An unnormalised log density on `R^dim` computed by an external program, in chunks
/// of `batch_size` points, at most `parallel` programs at once.
///
/// ```
/// # #[cfg(unix)] {
/// use flowinfer_simulators::external::ExternalLogDensity;
/// // log p̃(x) = −(x1² + x2²)/2, computed by awk.
/// let cmd = ["awk", "-F,", r#"{ printf "%.17g\n", -($1*$1 + $2*$2)/2 }"#];
/// let target = ExternalLogDensity::new(cmd.iter().map(|s| s.to_string()).collect(), 2);
/// let mut out = [0.0; 2];
/// target.evaluate(&[0.0, 0.0, 1.0, 2.0], &mut out).unwrap();
/// assert_eq!(out, [0.0, -2.5]);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalLogDensity {
    /// Program and arguments (started directly, no shell).
    pub command: Vec<String>,
    /// Dimension of the points (columns per row).
    pub dim: usize,
    /// Points per program run (default 1000).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Most program runs at once (default: the rayon thread count).
    #[serde(default = "default_parallel")]
    pub parallel: usize,
    /// Seconds after which a program run is killed (an error; default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// One program run per chunk (`oneshot`, the default) or persistent workers.
    #[serde(default, skip_serializing_if = "is_oneshot")]
    pub mode: ProgramMode,
    /// Retries of a chunk whose program run (one-shot) or worker (persistent) crashed
    /// or hung (default 2).
    #[serde(default = "default_retries")]
    pub retries: usize,
    /// The persistent workers (runtime state, shared by clones).
    #[serde(skip)]
    pub pool: SharedPool,
}

/// Default [`ExternalLogDensity::batch_size`]: 1000.
fn default_batch_size() -> usize {
    1000
}

/// Default [`ExternalLogDensity::parallel`]: the rayon thread count.
fn default_parallel() -> usize {
    rayon::current_num_threads()
}

impl ExternalLogDensity {
    /// A target running `command` on `dim`-dimensional points, with the default batch
    /// size (1000), parallelism (rayon threads) and no timeout.
    pub fn new(command: Vec<String>, dim: usize) -> Self {
        Self {
            command,
            dim,
            batch_size: default_batch_size(),
            parallel: default_parallel(),
            timeout_s: None,
            mode: ProgramMode::Oneshot,
            retries: default_retries(),
            pool: SharedPool::default(),
        }
    }

    /// The program (first word of the command).
    pub fn name(&self) -> &str {
        self.command.first().map_or("external", String::as_str)
    }

    /// The whole command as one readable string.
    pub fn describe(&self) -> String {
        describe_command(&self.command)
    }

    /// Checks the settings (non-empty command, positive sizes and timeout).
    pub fn validate(&self) -> Result<(), LogDensityError> {
        let problem = chunked_settings_problem(
            &self.command,
            self.dim,
            self.batch_size,
            self.parallel,
            self.timeout_s,
        );
        match problem {
            Some(message) => Err(LogDensityError::InvalidSetting {
                target: self.name().to_string(),
                message,
            }),
            None => Ok(()),
        }
    }

    /// Evaluates one chunk whose first point has index `first` in the call.
    fn run_chunk(&self, points: &[f64], first: usize) -> Result<Vec<f64>, String> {
        let n = points.len() / self.dim;
        let call = ProgramCall {
            command: &self.command,
            mode: self.mode,
            pool: &self.pool,
            timeout: self.timeout_s.map(Duration::from_secs_f64),
            retries: self.retries,
            parts: pipeline_parts(n),
        };
        let cmd = describe_command(&self.command);
        let context = format!("`{cmd}` on points {first}..{}", first + n);
        let answer = call
            .run(points, self.dim, 1, 0, first / self.batch_size)
            .map_err(|e| match e {
                CallError::CannotStart(m) => m,
                CallError::Failed(reason) => format!("{context}: {reason}"),
            })?;
        let lines = match answer.rows {
            Rows::Values(values) => return Ok(values),
            Rows::Lines(lines) => lines,
        };
        if lines.len() != n {
            return Err(format!(
                "{context}: wrote {} lines for {n} points (expected one log density per line); {}",
                lines.len(),
                answer.stderr_tail
            ));
        }
        lines
            .iter()
            .enumerate()
            .map(|(k, line)| {
                parse_value(line).map_err(|e| {
                    format!(
                        "{context}: line {} (point {}): {e}; {}",
                        k + 1,
                        first + k,
                        answer.stderr_tail
                    )
                })
            })
            .collect()
    }

    /// Evaluate `log p̃` at `points` (`n × dim`, row-major) into `out` (`n` values), in
    /// parallel chunks. Errors ([`LogDensityError::External`]) name the command, the
    /// chunk's point range and the program's stderr; the lowest failing chunk is
    /// reported and no new chunks start after a failure. Values that parse (`nan`,
    /// `inf`, `-inf`) are returned as they are.
    pub fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), LogDensityError> {
        self.validate()?;
        if !points.len().is_multiple_of(self.dim) || points.len() / self.dim != out.len() {
            return Err(LogDensityError::Invalid {
                target: self.name().to_string(),
                message: format!(
                    "expected n × {} point values and n outputs, got {} values and {} outputs",
                    self.dim,
                    points.len(),
                    out.len()
                ),
            });
        }
        run_chunked(
            points,
            self.dim,
            self.batch_size,
            self.parallel,
            out,
            &|chunk, first| self.run_chunk(chunk, first),
        )
        .map_err(|message| LogDensityError::External {
            target: self.name().to_string(),
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::external::test_util::ScriptDir;

    fn target(command: Vec<String>) -> ExternalLogDensity {
        let mut t = ExternalLogDensity::new(command, 2);
        t.batch_size = 4;
        t.parallel = 2;
        t
    }

    fn message(r: Result<(), LogDensityError>) -> String {
        match r {
            Err(e @ LogDensityError::External { .. }) => e.to_string(),
            other => panic!("expected an External error, got {other:?}"),
        }
    }

    #[test]
    fn evaluates_in_chunks_and_passes_non_finite_values_through() {
        let dir = ScriptDir::new("logdensity-ok");
        let body = r#"awk -F, '{ if ($1 > 9) print "nan"; else if ($1 < -9) print "-inf"; else printf "%.17g\n", -($1*$1 + $2*$2)/2 }'"#;
        let t = target(dir.script("gauss.sh", body, &[]));
        let x: Vec<f64> = (0..10)
            .flat_map(|i| [i as f64 * 0.5 - 2.0, 1.0])
            .chain([10.0, 0.0, -10.0, 0.0])
            .collect();
        let mut out = vec![0.0; 12];
        t.evaluate(&x, &mut out).unwrap();
        for (i, v) in out.iter().take(10).enumerate() {
            let a = i as f64 * 0.5 - 2.0;
            assert_eq!(*v, -(a * a + 1.0) / 2.0, "point {i}");
        }
        assert!(out[10].is_nan() && out[11] == f64::NEG_INFINITY);
    }

    #[test]
    fn failing_programs_name_the_command_and_the_points() {
        let dir = ScriptDir::new("logdensity-fail");
        let x: Vec<f64> = (0..10).flat_map(|i| [i as f64, 0.0]).collect();
        let mut out = vec![0.0; 10];
        let body = r#"echo "model blew up" 1>&2; exit 3"#;
        let msg = message(target(dir.script("exit.sh", body, &[])).evaluate(&x, &mut out));
        assert!(
            msg.contains("exit.sh")
                && msg.contains("points 0..4")
                && msg.contains("exit status 3")
                && msg.contains("model blew up"),
            "{msg}"
        );
        let body = r#"awk -F, 'NR != 2 { print 0 }'"#;
        let msg = message(target(dir.script("short.sh", body, &[])).evaluate(&x, &mut out));
        assert!(msg.contains("wrote 3 lines for 4 points"), "{msg}");
        let mut bad = target(vec!["sh".into()]);
        bad.dim = 0;
        assert!(matches!(
            bad.evaluate(&x, &mut out),
            Err(LogDensityError::InvalidSetting { .. })
        ));
    }
}
