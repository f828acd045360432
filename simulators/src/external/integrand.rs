//! [`ExternalIntegrand`]: an [`Integrand`] evaluated by an external program
//! (points as CSV on stdin, one value per line on stdout; see the [module
//! docs](super)).

use super::framed::Rows;
use super::mode::{default_retries, is_oneshot, ProgramMode};
use super::pool::SharedPool;
use super::process::{chunked_settings_problem, describe_command, run_chunked};
use super::program::{pipeline_parts, CallError, ProgramCall};
use super::wire::parse_value;
use crate::integrands::{check_batch, Integrand, IntegrandError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An integrand on `[0,1]^dim` computed by an external program, in chunks of
/// `batch_size` points, at most `parallel` programs at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIntegrand {
    /// Program and arguments (started directly, no shell).
    pub command: Vec<String>,
    /// Dimension of the domain (columns per point).
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

/// Default [`ExternalIntegrand::batch_size`]: 1000.
fn default_batch_size() -> usize {
    1000
}

/// Default [`ExternalIntegrand::parallel`]: the rayon thread count.
fn default_parallel() -> usize {
    rayon::current_num_threads()
}

impl ExternalIntegrand {
    /// An integrand running `command` on `dim`-dimensional points, with the
    /// default batch size (1000), parallelism (rayon threads) and no timeout.
    pub fn new(command: Vec<String>, dim: usize) -> Self {
        ExternalIntegrand {
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

    /// Checks the settings (non-empty command, positive sizes and timeout).
    pub fn validate(&self) -> Result<(), IntegrandError> {
        let problem = chunked_settings_problem(
            &self.command,
            self.dim,
            self.batch_size,
            self.parallel,
            self.timeout_s,
        );
        match problem {
            Some(message) => Err(IntegrandError::InvalidSetting {
                integrand: self.name().to_string(),
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
                "{context}: wrote {} lines for {n} points; {}",
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
}

impl Integrand for ExternalIntegrand {
    /// The program (first word of the command).
    fn name(&self) -> &str {
        self.command.first().map_or("external", String::as_str)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    /// Runs chunks of `batch_size` points in parallel. Errors
    /// ([`IntegrandError::External`]) name the command, the chunk's point
    /// range and the program's stderr; the lowest failing chunk is reported
    /// and no new chunks start after a failure. Values that parse (NaN,
    /// negative) are returned as they are.
    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        self.validate()?;
        check_batch(self, points, out)?;
        run_chunked(
            points,
            self.dim,
            self.batch_size,
            self.parallel,
            out,
            &|chunk, first| self.run_chunk(chunk, first),
        )
        .map_err(|message| IntegrandError::External {
            integrand: self.name().to_string(),
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::external::test_util::ScriptDir;

    /// `n` points in `[0,1]^2` on a simple grid-like sequence.
    fn points(n: usize) -> Vec<f64> {
        (0..n)
            .flat_map(|i| [(i as f64 * 0.37) % 1.0, (i as f64 * 0.61) % 1.0])
            .collect()
    }

    fn integrand(command: Vec<String>) -> ExternalIntegrand {
        let mut f = ExternalIntegrand::new(command, 2);
        f.batch_size = 7;
        f.parallel = 3;
        f
    }

    fn error_message(r: Result<(), IntegrandError>) -> String {
        match r {
            Err(e @ IntegrandError::External { .. }) => e.to_string(),
            other => panic!("expected an External error, got {other:?}"),
        }
    }

    #[test]
    fn evaluates_x0_plus_x1_in_parallel_chunks() {
        let dir = ScriptDir::new("integrand-sum");
        let body = r#"awk -F, '{ printf "%.17g\n", $1 + $2 }'"#;
        let f = integrand(dir.script("sum.sh", body, &[]));
        let x = points(50);
        let mut out = vec![0.0; 50];
        f.evaluate(&x, &mut out).unwrap();
        for (i, v) in out.iter().enumerate() {
            assert_eq!(*v, x[2 * i] + x[2 * i + 1], "point {i}");
        }
        assert_eq!((f.name(), f.dim()), ("sh", 2));
        // NaN and negative values are returned as they are.
        let body =
            r#"awk -F, 'NR == 1 { print "nan"; next } NR == 2 { print -1; next } { print 1 }'"#;
        let f = integrand(dir.script("odd.sh", body, &[]));
        f.evaluate(&x, &mut out).unwrap();
        assert!(out[0].is_nan() && out[7].is_nan());
        assert_eq!((out[1], out[8], out[2]), (-1.0, -1.0, 1.0));
        // A shape mismatch is caught before anything runs.
        assert!(matches!(
            f.evaluate(&x[..5], &mut out),
            Err(IntegrandError::Shape { .. })
        ));
    }

    #[test]
    fn failing_programs_are_errors_naming_the_chunk() {
        let dir = ScriptDir::new("integrand-fail");
        let mut x = points(30);
        x[2 * 15] = 0.999; // point 15 lies in chunk 2 (points 14..21)
        let mut out = vec![0.0; 30];
        let body = r#"awk -F, '$1 > 0.99 { bad = 1 } { print $1 + $2 }
END { if (bad) { print "license check failed" | "cat 1>&2"; exit 2 } }'"#;
        let msg = error_message(integrand(dir.script("exit.sh", body, &[])).evaluate(&x, &mut out));
        assert!(
            msg.contains("points 14..21")
                && msg.contains("exit status 2")
                && msg.contains("license check failed"),
            "{msg}"
        );
        let body = r#"awk -F, 'NR != 3 { print $1 + $2 }'"#;
        let msg =
            error_message(integrand(dir.script("short.sh", body, &[])).evaluate(&x, &mut out));
        assert!(
            msg.contains("points 0..7") && msg.contains("wrote 6 lines for 7 points"),
            "{msg}"
        );
        let body = r#"awk -F, '{ print (NR == 4 ? "oops" : $1 + $2) }'"#;
        let msg =
            error_message(integrand(dir.script("parse.sh", body, &[])).evaluate(&x, &mut out));
        assert!(
            msg.contains("line 4 (point 3): cannot parse `oops`"),
            "{msg}"
        );
        let missing = integrand(vec!["/nonexistent/flowinfer-integrand".into()]);
        let msg = error_message(missing.evaluate(&x, &mut out));
        assert!(
            msg.contains("cannot start `/nonexistent/flowinfer-integrand`"),
            "{msg}"
        );
        let mut bad = integrand(vec!["sh".into()]);
        bad.batch_size = 0;
        assert!(matches!(
            bad.evaluate(&x, &mut out),
            Err(IntegrandError::InvalidSetting { .. })
        ));
    }
}
