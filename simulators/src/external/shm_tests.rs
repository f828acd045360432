//! Tests of `persistent-shm` workers: rows and answers through the mapped file,
//! the file growing for a larger call and removed at the end, a crash or a hang with
//! two requests in flight, and the reply headers checked (slot, shape, transport).

use super::persistent_tests::{external_error, have_python, points, starts};
use super::test_util::ScriptDir;
use super::{
    ExternalIntegrand, ExternalSimulator, ExternalSimulatorConfig, PriorSpec, ProgramMode,
};
use crate::integrands::Integrand;
use crate::Simulator;

/// A Python worker answering `x1 + x2` per row through the mapped file. Its first
/// argument picks a misbehaviour: `sum` (none), `crash-once` / `hang` (read the
/// second request while holding the first, then exit 3 — the first time only — or
/// sleep), `wrong-slot`, `wrong-rows`, `text` (an `OK` without `shm`), `nan` (row 3
/// of every request NaN). It logs each start and its mapped file in the directory.
const SHM_SUM: &str = r#"import array, mmap, os, sys, time
behaviour = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
def log(name, text):
    with open(os.path.join(here, name), "a") as f:
        f.write(text + "\n")
log("starts.log", "started")
log("files.log", os.environ["FLOWINFER_SHM"])
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
m = None
seen = 0
while True:
    line = stdin.readline().decode()
    if not line:
        break
    seen += 1
    words = line.split()
    rows, cols = int(words[1]), int(words[2])
    slot, start, out_at, size = (int(w) for w in words[6:10])
    marker = os.path.join(here, "marker")
    if behaviour in ("crash-once", "hang") and seen == 1 and not os.path.exists(marker):
        second = stdin.readline().decode().strip()
        log("held.log", line.strip())
        log("held.log", second)
        sys.stderr.write("holding two requests\n")
        sys.stderr.flush()
        if behaviour == "hang":
            time.sleep(30)
        open(marker, "w").close()
        sys.exit(3)
    if m is None or len(m) != size:
        with open(os.environ["FLOWINFER_SHM"], "r+b") as f:
            m = mmap.mmap(f.fileno(), size)
    x = array.array("d")
    x.frombytes(m[start:start + 8 * rows * cols])
    out = array.array("d", (x[r * cols] + x[r * cols + 1] for r in range(rows)))
    if behaviour == "nan" and rows > 3:
        out[3] = float("nan")
    m[out_at:out_at + 8 * rows] = out.tobytes()
    if behaviour == "wrong-slot":
        slot = 1 - slot
    if behaviour == "wrong-rows":
        rows -= 1
    if behaviour == "text":
        stdout.write(b"OK %d 1\n" % rows)
    else:
        stdout.write(b"OK %d 1 shm %d\n" % (rows, slot))
    stdout.flush()
"#;

/// `python3 <dir>/shm_sum.py <behaviour>`.
fn shm_sum(dir: &ScriptDir, behaviour: &str) -> Vec<String> {
    let mut command = dir.script("shm_sum.py", SHM_SUM, &[behaviour]);
    command[0] = "python3".into();
    command
}

fn integrand(command: Vec<String>, batch: usize, parallel: usize) -> ExternalIntegrand {
    let mut f = ExternalIntegrand::new(command, 2);
    (f.batch_size, f.parallel, f.mode) = (batch, parallel, ProgramMode::PersistentShm);
    f
}

fn sums(x: &[f64]) -> Vec<f64> {
    x.chunks(2).map(|p| p[0] + p[1]).collect()
}

fn lines(dir: &ScriptDir, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.path().join(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn shm_workers_answer_through_the_file_which_grows_and_is_removed() {
    if !have_python() {
        return;
    }
    let dir = ScriptDir::new("shm-sum");
    let f = integrand(shm_sum(&dir, "sum"), 7, 2);
    let x = points(30);
    let mut out = vec![0.0; 30];
    for _ in 0..2 {
        f.evaluate(&x, &mut out).unwrap();
        assert_eq!(out, sums(&x));
    }
    // A clone shares the workers; its chunks of 10 000 rows (two parts of 80 000
    // bytes) do not fit the first layout: the file grows, the worker maps it again.
    let mut g = f.clone();
    (g.batch_size, g.parallel) = (10_000, 1);
    let big = points(10_000);
    let mut big_out = vec![0.0; 10_000];
    g.evaluate(&big, &mut big_out).unwrap();
    assert_eq!(big_out, sums(&big));
    let n = starts(&dir);
    assert!((1..=2).contains(&n), "{n} workers started");
    let files = lines(&dir, "files.log");
    assert_eq!(files.len(), n);
    assert!(files.iter().all(|p| std::path::Path::new(p).exists()));
    drop((f, g));
    for p in &files {
        assert!(!std::path::Path::new(p).exists(), "{p} left behind");
    }
}

#[test]
fn a_crash_with_two_shm_requests_in_flight_retries_both() {
    if !have_python() {
        return;
    }
    let dir = ScriptDir::new("shm-crash");
    let mut f = integrand(shm_sum(&dir, "crash-once"), 2048, 1);
    f.timeout_s = Some(20.0);
    let x = points(2048);
    let mut out = vec![0.0; 2048];
    f.evaluate(&x, &mut out).unwrap();
    assert_eq!(out, sums(&x));
    let held = lines(&dir, "held.log");
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(held[0].starts_with("BATCH 1024 2 0 0 shm 0 0 "), "{held:?}");
    assert!(held[1].starts_with("BATCH 1024 2 0 0 shm 1 "), "{held:?}");
    assert_eq!(starts(&dir), 2);
}

#[test]
fn a_hung_shm_worker_is_killed_retried_then_reported() {
    if !have_python() {
        return;
    }
    let dir = ScriptDir::new("shm-hang");
    let mut f = integrand(shm_sum(&dir, "hang"), 2048, 1);
    // 2 s: long enough for Python to start on a loaded host, far below the sleep.
    (f.timeout_s, f.retries) = (Some(2.0), 1);
    let x = points(2048);
    let mut out = vec![0.0; 2048];
    let start = std::time::Instant::now();
    let msg = external_error(f.evaluate(&x, &mut out));
    assert!(
        start.elapsed().as_secs_f64() < 12.0,
        "{:?}",
        start.elapsed()
    );
    assert!(
        msg.contains("shm_sum.py hang` on points 0..2048")
            && msg.contains("attempt 2 of 2")
            && msg.contains("no answer within 2 s")
            && msg.contains("holding two requests"),
        "{msg}"
    );
    // Both workers held both requests: each was sent twice.
    assert_eq!(lines(&dir, "held.log").len(), 4);
}

#[test]
fn wrong_reply_headers_fail_naming_the_program() {
    if !have_python() {
        return;
    }
    let dir = ScriptDir::new("shm-wrong");
    let x = points(30);
    let mut out = vec![0.0; 30];
    let run = |behaviour: &str, retries: usize| {
        let mut f = integrand(shm_sum(&dir, behaviour), 7, 1);
        f.retries = retries;
        external_error(f.evaluate(&x, &mut out.clone()))
    };
    let msg = run("wrong-slot", 1);
    assert!(
        msg.contains("shm_sum.py wrong-slot` on points 0..7")
            && msg.contains("attempt 2 of 2")
            && msg.contains("answered slot 1 where slot 0 was due"),
        "{msg}"
    );
    let msg = run("wrong-rows", 1);
    assert!(
        msg.contains("shm_sum.py wrong-rows` on points 0..7")
            && msg.contains("answered 6 rows × 1 columns for 7 rows × 1 columns"),
        "{msg}"
    );
    let msg = run("text", 0);
    assert!(
        msg.contains("shm_sum.py text` on points 0..7")
            && msg.contains("answered `OK 7 1` to a shared-memory request")
            && msg.contains("attempt 1 of 1"),
        "{msg}"
    );
    // An integrand's NaN is a value (counted by the integrator) ...
    let f = integrand(shm_sum(&dir, "nan"), 7, 1);
    f.evaluate(&x, &mut out).unwrap();
    assert!(out[3].is_nan() && out[10].is_nan() && out[4] == x[8] + x[9]);
    // ... a simulator's NaN fails its row, naming the column.
    let mut c = ExternalSimulatorConfig::new(
        shm_sum(&dir, "nan"),
        vec!["a".into(), "b".into()],
        vec![
            PriorSpec::Uniform {
                low: 0.0,
                high: 1.0
            };
            2
        ],
        1,
    );
    (c.batch_size, c.mode) = (8, ProgramMode::PersistentShm);
    let s = ExternalSimulator::new(c).unwrap();
    let thetas: Vec<Vec<f64>> = x.chunks(2).take(10).map(<[f64]>::to_vec).collect();
    let rows = s.simulate_rows(&thetas, 1).unwrap();
    let failed: Vec<usize> = rows
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|f| f.row)
        .collect();
    assert_eq!(failed, [3]);
    let reason = &rows[3].as_ref().unwrap_err().reason;
    assert!(
        reason.contains("column 1: non-finite value NaN"),
        "{reason}"
    );
    assert_eq!(rows[0].as_ref().unwrap(), &vec![x[0] + x[1]]);
}
