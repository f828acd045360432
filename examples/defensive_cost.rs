//! What the evaluation defensive mixture costs, measured on the *same* trained flow and
//! the *same* draws (issue 21: the mixture must cost at most 20 % in rel. std on the
//! camels).
//!
//! For a flow `q`, a fraction `α` and `q_α = (1 − α) q + α`, the mixture estimator's
//! second moment per event is `∫ f²/q_α = E_q[w · w_α]` with `w = f/q` and
//! `w_α = f/q_α`. So the rel. std of the flow alone, `r`, and of the mixture, `r_α`,
//! both come from one set of flow draws, and their ratio is not blurred by the heavy
//! tail the two share (the ratio of second moments is an average of `q/q_α ≤ 1/(1 − α)`
//! weighted by `w²`). Exact bound: `1 + r_α² ≤ (1 + r²)/(1 − α)`.
//!
//! It also prints the rel. std of each independent block of draws (smallest, median,
//! largest): how far apart two runs of the same flow can put their rel. std when the
//! weights' tail is heavy (k̂ near 0.7) — the noise that a comparison of separately
//! trained flows, one run each, has to beat.
//!
//! Run (run directories written by `flowinfer integrate --out`):
//! `cargo run --release --example defensive_cost -- [--alpha A] [--block N] [--blocks B]
//! [--seed S] RUN_DIR...`
//! (`--alpha` defaults to each run's own `[eval] defensive`, or to the shipped default
//! when the run had none; `--block 1000000 --blocks 4` by default.)

use anyhow::{bail, Context};
use candle_core::Device;
use flowinfer::integrate::batch::draw_weighted;
use flowinfer::integrate::{IntegrationRun, InvalidCounts, Proposal, DEFENSIVE_EVAL};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::path::PathBuf;

/// Points per flow draw (bounds the memory of one batch).
const DRAW: usize = 100_000;

/// Options of the command line (module docs).
struct Options {
    alpha: Option<f64>,
    block: usize,
    blocks: usize,
    seed: u64,
    runs: Vec<PathBuf>,
}

fn parse_args() -> anyhow::Result<Options> {
    let mut o = Options {
        alpha: None,
        block: 1_000_000,
        blocks: 4,
        seed: 12_345,
        runs: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--alpha" => o.alpha = Some(value("--alpha")?.parse().context("--alpha")?),
            "--block" => o.block = value("--block")?.parse().context("--block")?,
            "--blocks" => o.blocks = value("--blocks")?.parse().context("--blocks")?,
            "--seed" => o.seed = value("--seed")?.parse().context("--seed")?,
            s if s.starts_with("--") => bail!("unknown option {s} (see the example's docs)"),
            _ => o.runs.push(PathBuf::from(a)),
        }
    }
    if o.runs.is_empty() || o.block < 2 || o.blocks == 0 {
        bail!(
            "usage: defensive_cost [--alpha A] [--block N ≥ 2] [--blocks B ≥ 1] [--seed S] RUN_DIR..."
        );
    }
    if let Some(a) = o.alpha {
        if !(0.0..1.0).contains(&a) {
            bail!("--alpha must be in [0, 1), got {a}");
        }
    }
    Ok(o)
}

/// Running sums of one block (or of all of them).
#[derive(Default, Clone, Copy)]
struct Sums {
    n: f64,
    w: f64,
    w2: f64,
    w_wa: f64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.n += o.n;
        self.w += o.w;
        self.w2 += o.w2;
        self.w_wa += o.w_wa;
    }
    fn mean(&self) -> f64 {
        self.w / self.n
    }
    /// Rel. std of the flow alone (unbiased variance).
    fn rel_std(&self) -> f64 {
        let m = self.mean();
        ((self.w2 - self.n * m * m) / (self.n - 1.0))
            .max(0.0)
            .sqrt()
            / m
    }
    /// Rel. std of the mixture, from the same draws (`E_q[w w_α]/Î² − 1`).
    fn rel_std_mixture(&self) -> f64 {
        let m = self.mean();
        (self.w_wa / self.n / (m * m) - 1.0).max(0.0).sqrt()
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let k = v.len();
    if k % 2 == 1 {
        v[k / 2]
    } else {
        0.5 * (v[k / 2 - 1] + v[k / 2])
    }
}

fn main() -> anyhow::Result<()> {
    let o = parse_args()?;
    println!(
        "| run | d | train α | eval α | k̂ (run) | rel. std, flow | rel. std, mixture | mixture / flow | bound | block rel. std min / median / max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for dir in &o.runs {
        let run = IntegrationRun::load(dir, &Device::Cpu)
            .with_context(|| format!("reading {}", dir.display()))?;
        let alpha = o.alpha.unwrap_or(if run.spec.eval.defensive > 0.0 {
            run.spec.eval.defensive
        } else {
            DEFENSIVE_EVAL
        });
        let user = run.spec.build_integrand()?;
        let target = run.target(user.as_ref())?;
        let opts = run.spec.eval_options();
        let proposal = Proposal::flow_only(&run.flow);
        let mut rng = StdRng::seed_from_u64(o.seed);
        let mut invalid = InvalidCounts::default();
        let (ln_keep, ln_alpha) = ((1.0 - alpha).ln(), alpha.ln());
        let mut blocks = Vec::with_capacity(o.blocks);
        for _ in 0..o.blocks {
            let mut s = Sums::default();
            let mut left = o.block;
            while left > 0 {
                let n = left.min(DRAW);
                left -= n;
                let b = draw_weighted(
                    &proposal,
                    target.integrand(),
                    n,
                    &mut rng,
                    &opts,
                    &mut invalid,
                    "defensive_cost",
                )?;
                for ((w, f), lq) in b.w.iter().zip(&b.f).zip(&b.log_q) {
                    // w_α = f / ((1 − α) q + α), with the sum taken in log space.
                    let (a, c) = (ln_keep + lq, ln_alpha);
                    let m = a.max(c);
                    let ln_qa = m + ((a - m).exp() + (c - m).exp()).ln();
                    let wa = if *f == 0.0 { 0.0 } else { f * (-ln_qa).exp() };
                    s.n += 1.0;
                    s.w += w;
                    s.w2 += w * w;
                    s.w_wa += w * wa;
                }
            }
            blocks.push(s);
        }
        let mut all = Sums::default();
        blocks.iter().for_each(|b| all.add(b));
        let mut per_block: Vec<f64> = blocks.iter().map(Sums::rel_std).collect();
        let (lo, hi) = per_block
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(*v), h.max(*v)));
        let mid = median(&mut per_block);
        let (r, ra) = (all.rel_std(), all.rel_std_mixture());
        let bound = (((1.0 + r * r) / (1.0 - alpha)) - 1.0).sqrt();
        ratios.push(ra / r);
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} / {:.4} / {:.4} |",
            dir.display(),
            target.dim(),
            run.spec.train.defensive,
            alpha,
            run.result.flow.pareto_k.unwrap_or(f64::NAN),
            r,
            ra,
            ra / r,
            bound / r,
            lo,
            mid,
            hi
        );
    }
    let (lo, hi) = ratios
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(*v), h.max(*v)));
    println!(
        "\n{} runs, {} × {} flow draws each: mixture / flow rel. std median {:.4}, min {:.4}, max {:.4}",
        ratios.len(),
        o.blocks,
        o.block,
        median(&mut ratios),
        lo,
        hi
    );
    Ok(())
}
