//! Per-observation output of the sbibm study examples (`tsnpe_sbibm`, `nle_sbibm`), so a
//! long run leaves usable partial results and its posterior samples can be scored by
//! scikit-learn's C2ST (`scripts/sbibm_c2st.py`).
//!
//! With `SBIBM_OUT=DIR` set, each method's draws for observation `k` go to
//! `DIR/<method>/samples_<k>.csv` (the layout `sbibm_c2st.py` and `sbibm_compare c2st`
//! read), and one row per (observation, method) is appended to `DIR/rows.csv`:
//! observation, method, our C2ST, wall seconds, CPU seconds (this process, all threads);
//! `DIR/profile` names the cargo profile the timings come from ([`PROFILE`]).
//! Without `SBIBM_OUT` nothing is written.

use flowinfer::data::Table;
use std::io::Write;
use std::path::PathBuf;

/// The cargo profile of this build, `"release"` or `"dev"` (`debug_assertions` on): the
/// timings of the two differ severalfold, so every timing file names it.
pub const PROFILE: &str = if cfg!(debug_assertions) {
    "dev"
} else {
    "release"
};

/// The output folder named by `SBIBM_OUT`, if any.
pub fn out_dir() -> Option<PathBuf> {
    std::env::var_os("SBIBM_OUT").map(PathBuf::from)
}

/// CPU seconds (user + system, all threads) this process has used so far, from
/// `/proc/self/stat` (Linux; 0 elsewhere).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<f64>().ok())
        .sum::<f64>()
        / 100.0
}

/// Write `draws` (parameter columns `names`) as `DIR/<method>/samples_<k>.csv` and append
/// the row `k,method,c2st,wall_s,cpu_s` to `DIR/rows.csv` (header on first use).
pub fn record(
    names: &[String],
    method: &str,
    k: usize,
    draws: &[Vec<f64>],
    c2st: f64,
    wall_s: f64,
    cpu_s: f64,
) -> anyhow::Result<()> {
    let Some(dir) = out_dir() else {
        return Ok(());
    };
    let sub = dir.join(method);
    std::fs::create_dir_all(&sub)?;
    let values: Vec<f64> = draws.iter().flatten().copied().collect();
    Table::new(names.to_vec(), values)?.write_csv(&sub.join(format!("samples_{k}.csv")))?;
    append_row(
        &dir.join("rows.csv"),
        "observation,method,c2st_flowinfer,wall_s,cpu_s",
        &format!("{k},{method},{c2st},{wall_s:.2},{cpu_s:.2}"),
    )?;
    flowinfer::atomic::write_atomic(&dir.join("profile"), PROFILE.as_bytes())?;
    Ok(())
}

/// Our sbibm-protocol C2ST accuracy of `draws` against `reference`, or NaN when
/// `epochs` is 0 (`C2ST_EPOCHS=0`: leave the scoring to `scripts/sbibm_c2st.py`, which
/// halves a loaded run's CPU time).
pub fn c2st(
    draws: &[Vec<f64>],
    reference: &[Vec<f64>],
    epochs: usize,
    seed: u64,
) -> anyhow::Result<f64> {
    if epochs == 0 {
        return Ok(f64::NAN);
    }
    Ok(
        flowinfer::sbi::diagnostics::reference::c2st_samples(draws, reference, epochs, seed)?
            .accuracy,
    )
}

/// Append the row `k,method,round,wall_s,cpu_s,epochs,detail` to `DIR/rounds.csv`
/// (header on first use): the wall and CPU seconds since the observation's run began,
/// stamped when round `round` ends, so the time of the final posterior draws is the
/// `rows.csv` total less the last round's stamp. `detail` is free text without commas
/// (the round's own wall split where the method reports one). Nothing without
/// `SBIBM_OUT`.
pub fn record_round(
    method: &str,
    k: usize,
    round: usize,
    wall_s: f64,
    cpu_s: f64,
    epochs: usize,
    detail: &str,
) -> anyhow::Result<()> {
    let Some(dir) = out_dir() else {
        return Ok(());
    };
    std::fs::create_dir_all(&dir)?;
    append_row(
        &dir.join("rounds.csv"),
        "observation,method,round,wall_s,cpu_s,epochs,detail",
        &format!("{k},{method},{round},{wall_s:.2},{cpu_s:.2},{epochs},{detail}"),
    )
}

/// Append `row` to the CSV file `path`, writing `header` first when the file is new.
fn append_row(path: &std::path::Path, header: &str, row: &str) -> anyhow::Result<()> {
    let fresh = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if fresh {
        writeln!(f, "{header}")?;
    }
    writeln!(f, "{row}")?;
    Ok(())
}
