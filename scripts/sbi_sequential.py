#!/usr/bin/env python3
"""sbi 0.27's own sequential methods (SNLE, TSNPE) for one sbibm task and observation,
with the budget and settings of flowinfer's `nle_sbibm` / `tsnpe_sbibm` runs, for the
like-for-like time comparison in docs/SBI.md ("Sequential methods beside sbi 0.27's own").

Budget and settings, mirrored from flowinfer where sbi has the option:
  * ROUNDS (4) rounds of SIMS / ROUNDS simulations (10,000 in all); round 1 from the
    prior.
  * Density estimator: sbi's NSF with the spec's [flow] blocks, hidden width, bins and
    tail bound (flowinfer's `zero_init` has no sbi option: sbi's initialisation).
  * Training: the spec's [train] batch size, learning rate, patience (sbi's
    stop_after_epochs), epochs (max_num_epochs), clip_grad_norm; 10 % validation.
    A [train] schedule (two_moons: cosine decay) has no sbi option: sbi's constant rate.
    Later rounds continue training the same network on all rounds' pairs (sbi's
    default; flowinfer refits from scratch).
  * SNLE: posterior by sbi's vectorised slice sampler ("slice_np_vectorized"), 100
    chains started by resampling 10,000 prior draws by likelihood ("resample", as
    flowinfer), thin 2, warm-up 50 thinned steps = 100 sweeps (flowinfer: 100 warm-up
    sweeps); sbi's own 50 bracket-tuning sweeps and initial width 0.01 (flowinfer
    0.5, widths adapted in warm-up) are sbi's defaults. Each later round's 2,500 θ
    are drawn from the current posterior with the same sampler, as sbi's SNLE tutorial
    does.
  * TSNPE: NPE with force_first_round_loss=True; after each round
    get_density_thresholder(posterior, quantile=1e-4, num_samples_to_estimate_support
    =10,000 (flowinfer's threshold_draws; sbi's default is 1,000,000)) and
    RestrictedPrior(prior, ..., sample_with="rejection"), as sbi's TSNPE tutorial.
  * 10,000 posterior draws for the observation at the end.

Simulators: numpy ports of flowinfer's (simulators/src/benchmarks/two_moons.rs, sir.rs,
gaussian_linear.rs), vectorised over the batch; gaussian_linear's [flow] kind = "maf" maps
onto sbi's MAF with the spec's blocks and hidden width (sbi's MAF has no LU mixing layer); sir integrates the ODE by classical RK4 with a 0.05-day step
(flowinfer: adaptive Dormand–Prince, rtol 1e-10); the `check` command tests a port
against flowinfer's simulations (θ, x rows written by `sbibm_compare npe`) at flowinfer's θ.

Writes OUT/samples_<k>.csv (the layout scripts/sbibm_c2st.py scores) and appends a row
per observation to OUT/rows.csv: wall and CPU seconds (time.process_time: user + system
of all threads) of simulation, training, sampling for the rounds (proposal draws of
rounds 2…, the density thresholds) and the final 10,000 draws ("final"), plus per-round
epochs.

Usage (the venv with sbi 0.27, outside the repo; one thread as the sbi NPE baseline):
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
  /tmp/sbienv/bin/python scripts/sbi_sequential.py {snle|tsnpe} models/sbibm-TASK.toml \\
      OUT --obs 1,2 [--rounds 4] [--seed 0]
  /tmp/sbienv/bin/python scripts/sbi_sequential.py check models/sbibm-TASK.toml SIMS_CSV
--sbi-defaults: sbi's own choices instead (MAF with 50 hidden units and 5 transforms,
batch 200, patience 20, no epoch cap), to see what the mirrored settings cost sbi.
"""

import argparse
import csv
import json
import math
import os
import sys
import time
import tomllib

import numpy as np
import torch
from torch.distributions import Independent, LogNormal, Uniform

# --- simulators (ports of flowinfer's) ---------------------------------------------

SIR_N = 1_000_000.0
SIR_DAYS = [0, 17, 34, 51, 68, 85, 102, 119, 136, 153]
SIR_STEP = 0.05


def two_moons(theta, rng):
    """flowinfer's TwoMoons: a ~ U(-π/2, π/2), r ~ N(0.1, 0.01²), p = (r cos a + 0.25,
    r sin a), x = p + (-|θ1 + θ2| / √2, (-θ1 + θ2) / √2)."""
    n = theta.shape[0]
    a = rng.uniform(-math.pi / 2, math.pi / 2, n)
    r = rng.normal(0.1, 0.01, n)
    t1, t2 = theta[:, 0], theta[:, 1]
    return np.stack(
        [r * np.cos(a) + 0.25 - np.abs(t1 + t2) / math.sqrt(2), r * np.sin(a) + (-t1 + t2) / math.sqrt(2)],
        axis=1,
    )


def sir_infected_fractions(theta):
    """I(day)/N on the 10 observation days of sbibm's sir for every row (β, γ) of theta:
    S(0) = N − 1, I(0) = 1, RK4 with step SIR_STEP over 153 days, all rows at once."""
    beta, gamma = theta[:, 0], theta[:, 1]
    u = np.stack([np.full_like(beta, SIR_N - 1), np.ones_like(beta)])  # S, I

    def f(u):
        inf = beta * u[0] * u[1] / SIR_N
        return np.stack([-inf, inf - gamma * u[1]])

    per_day = round(1 / SIR_STEP)
    out, day = [], 0
    for target in SIR_DAYS:
        for _ in range((target - day) * per_day):
            k1 = f(u)
            k2 = f(u + 0.5 * SIR_STEP * k1)
            k3 = f(u + 0.5 * SIR_STEP * k2)
            k4 = f(u + SIR_STEP * k3)
            u = u + SIR_STEP / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        day = target
        out.append(np.clip(u[1] / SIR_N, 0.0, 1.0))
    return np.stack(out, axis=1)


def sir(theta, rng):
    """flowinfer's SbibmSir: x_k ~ Binomial(1000, I(day_k)/N), raw counts."""
    return rng.binomial(1000, sir_infected_fractions(theta)).astype(np.float64)


def gaussian_linear(theta, rng):
    """flowinfer's GaussianLinear: x ~ N(θ, 0.1·I) (0.1 the variance)."""
    return theta + rng.normal(0.0, math.sqrt(0.1), theta.shape)


TASKS = {
    "gaussian_linear": (
        gaussian_linear,
        lambda: Independent(torch.distributions.Normal(torch.zeros(10), math.sqrt(0.1) * torch.ones(10)), 1),
    ),
    "two_moons": (two_moons, lambda: Independent(Uniform(-torch.ones(2), torch.ones(2)), 1)),
    "sir": (
        sir,
        lambda: Independent(
            LogNormal(torch.tensor([math.log(0.4), math.log(1 / 8)]), torch.tensor([0.5, 0.2])), 1
        ),
    ),
}


def read_csv(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], dtype=np.float64)


def check(task, sims_csv):
    """Compare the port with flowinfer's simulations at flowinfer's own θ: the
    distribution of x given θ must match (z-scores against the port's model)."""
    header, rows = read_csv(sims_csv)
    theta, x = rows[:, :2], rows[:, 2:]
    if task == "two_moons":
        p0 = x[:, 0] + np.abs(theta[:, 0] + theta[:, 1]) / math.sqrt(2) - 0.25
        p1 = x[:, 1] - (-theta[:, 0] + theta[:, 1]) / math.sqrt(2)
        r, a = np.hypot(p0, p1), np.arctan2(p1, p0)
        print(f"flowinfer x, {len(r)} rows: radius mean {r.mean():.5f} sd {r.std(ddof=1):.5f} "
              f"(model 0.1, 0.01); angle mean {a.mean():.4f} sd {a.std(ddof=1):.4f} "
              f"(model 0, π/√12 = {math.pi / math.sqrt(12):.4f}), min {a.min():.4f} max {a.max():.4f}")
        from scipy.stats import kstest

        print(f"Kolmogorov–Smirnov p: angle ~ U(−π/2, π/2) {kstest(a, 'uniform', args=(-math.pi / 2, math.pi)).pvalue:.3f}, "
              f"radius ~ N(0.1, 0.01²) {kstest(r, 'norm', args=(0.1, 0.01)).pvalue:.3f}")
        mine = two_moons(theta, np.random.default_rng(0))
    else:
        p = sir_infected_fractions(theta)
        var = 1000 * p * (1 - p)
        m = 1000 * p[:, 1:]  # day 0 (p = 1e-6) is checked by its count below
        z = (x[:, 1:] - m) / np.sqrt(np.maximum(m * (1 - p[:, 1:]), 1e-300))
        for lo, hi in [(0, 1), (1, 5), (5, math.inf)]:
            sel = (m > lo) & (m <= hi)
            print(f"z = (x_flowinfer − 1000 p_port(θ)) / sd, cells with expected count in "
                  f"({lo}, {hi}]: {sel.sum()} cells, mean {z[sel].mean():+.4f} sd {z[sel].std(ddof=1):.4f} "
                  "(model 0, 1; sparse cells are heavy-tailed)")
        print(f"day 0: {int(x[:, 0].sum())} cases in flowinfer's x, the port expects {1000 * p[:, 0].sum():.1f}")
        mine = sir(theta, np.random.default_rng(0))
    se = np.sqrt(x.var(axis=0, ddof=1) / len(x) + mine.var(axis=0, ddof=1) / len(x))
    print("per column: flowinfer mean − port mean, in standard errors:",
          " ".join(f"{v:+.2f}" for v in (x.mean(0) - mine.mean(0)) / se))
    print("per column sd, flowinfer / port:",
          " ".join(f"{v:.3f}" for v in x.std(0, ddof=1) / mine.std(0, ddof=1)))


# --- timing -------------------------------------------------------------------------


class Clock:
    """Wall and CPU seconds (all threads) accumulated per phase."""

    def __init__(self):
        self.wall, self.cpu = {}, {}

    def run(self, phase, fn, *args, **kw):
        w, c = time.perf_counter(), time.process_time()
        out = fn(*args, **kw)
        self.wall[phase] = self.wall.get(phase, 0.0) + time.perf_counter() - w
        self.cpu[phase] = self.cpu.get(phase, 0.0) + time.process_time() - c
        return out


# --- the methods --------------------------------------------------------------------


def train_kwargs(spec):
    if spec.get("sbi_defaults"):
        return {}
    t = spec["train"]
    return dict(
        training_batch_size=t["batch_size"],
        learning_rate=t["lr"],
        validation_fraction=spec.get("npe", {}).get("validation_fraction", 0.1),
        stop_after_epochs=t["patience"],
        max_num_epochs=t["epochs"],
        clip_max_norm=t.get("clip_grad_norm", 5.0),
    )


def flow_kwargs(spec):
    if spec.get("sbi_defaults"):
        return dict(model="maf")  # sbi's default density estimator for NPE and NLE
    f = spec["flow"]
    if f.get("kind") == "maf":  # sbi's MAF has no LU mixing layer: its default permutations
        return dict(model="maf", hidden_features=f.get("hidden", 50), num_transforms=f.get("blocks", 5))
    if f.get("kind", "nsf") != "nsf":
        sys.exit("only [flow] kind = \"nsf\" is mirrored")
    return dict(
        model="nsf",
        hidden_features=f.get("hidden", 64),
        num_transforms=f.get("blocks", 5),
        num_bins=f.get("bins", 8),
        tail_bound=f.get("tail_bound", 4.0),
    )


def simulate(sim, theta, rng):
    x = sim(theta.numpy().astype(np.float64), rng)
    return torch.tensor(x, dtype=torch.float32)


def run_snle(spec, sim, prior, x_o, rounds, per_round, rng, clock):
    from sbi.inference import NLE
    from sbi.neural_nets import likelihood_nn

    mcmc = dict(
        num_chains=100,
        thin=2,
        warmup_steps=50,
        init_strategy="resample",
        init_strategy_parameters={"num_candidate_samples": 10_000},
    )
    inference = NLE(prior=prior, density_estimator=likelihood_nn(**flow_kwargs(spec)), show_progress_bars=False)
    proposal, epochs = prior, []
    for r in range(rounds):
        if r == 0:
            theta = clock.run("sample", prior.sample, (per_round,))
        else:
            theta = clock.run("sample", proposal.sample, (per_round,), show_progress_bars=False)
        x = clock.run("simulate", simulate, sim, theta, rng)
        est = clock.run("train", lambda: inference.append_simulations(theta, x).train(**train_kwargs(spec)))
        epochs.append(inference.summary["epochs_trained"][-1])
        posterior = inference.build_posterior(est, mcmc_method="slice_np_vectorized", mcmc_parameters=mcmc)
        proposal = posterior.set_default_x(x_o)
    draws = clock.run("final", proposal.sample, (10_000,), show_progress_bars=False)
    return draws, epochs


def run_tsnpe(spec, sim, prior, x_o, rounds, per_round, rng, clock):
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn
    from sbi.utils import RestrictedPrior, get_density_thresholder

    inference = NPE(prior=prior, density_estimator=posterior_nn(**flow_kwargs(spec)), show_progress_bars=False)
    proposal, epochs = prior, []
    for r in range(rounds):
        theta = clock.run("sample", proposal.sample, (per_round,))
        x = clock.run("simulate", simulate, sim, theta, rng)
        est = clock.run(
            "train",
            lambda: inference.append_simulations(theta, x).train(force_first_round_loss=True, **train_kwargs(spec)),
        )
        epochs.append(inference.summary["epochs_trained"][-1])
        posterior = inference.build_posterior(est).set_default_x(x_o)
        if r + 1 < rounds:
            accept = clock.run(
                "sample", get_density_thresholder, posterior, quantile=1e-4, num_samples_to_estimate_support=10_000
            )
            proposal = RestrictedPrior(prior, accept, sample_with="rejection")
    draws = clock.run("final", posterior.sample, (10_000,), show_progress_bars=False)
    return draws, epochs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("method", choices=["snle", "tsnpe", "check"])
    p.add_argument("spec", help="models/sbibm-TASK.toml (the flowinfer spec whose settings are mirrored)")
    p.add_argument("out", help="output folder (check: flowinfer's simulations.csv)")
    p.add_argument("--obs", default="1")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sims", type=int, help="total simulations (default: the spec's [npe] simulations)")
    p.add_argument(
        "--sbi-defaults",
        action="store_true",
        help="sbi's own density estimator (MAF) and training defaults instead of the spec's",
    )
    a = p.parse_args()
    with open(a.spec, "rb") as f:
        spec = tomllib.load(f)
    spec["sbi_defaults"] = a.sbi_defaults
    task = spec["simulator"]["name"]
    if task not in TASKS:
        sys.exit(f"{a.spec}: simulator {task!r} is not ported (two_moons, sir, gaussian_linear)")
    if a.method == "check":
        return check(task, a.out)
    torch.set_num_threads(1)
    sim, make_prior = TASKS[task]
    budget = a.sims or spec.get("npe", {}).get("simulations", 10_000)
    ref_root = os.path.join(os.path.dirname(os.path.abspath(a.spec)), "..", spec["diagnose"]["reference"])
    os.makedirs(a.out, exist_ok=True)
    import sbi

    for k in [int(v) for v in a.obs.split(",")]:
        torch.manual_seed(a.seed + k)
        np.random.seed(a.seed + k)  # sbi's slice sampler draws from np.random
        rng = np.random.default_rng(a.seed + k)
        _, xo = read_csv(os.path.join(ref_root, f"num_observation_{k}", "observation.csv"))
        x_o = torch.tensor(xo[0], dtype=torch.float32)
        clock = Clock()
        w0, c0 = time.perf_counter(), time.process_time()
        run = run_snle if a.method == "snle" else run_tsnpe
        draws, epochs = run(spec, sim, make_prior(), x_o, a.rounds, budget // a.rounds, rng, clock)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        names = (
            ["beta", "gamma"] if task == "sir" else [f"parameter_{i + 1}" for i in range(draws.shape[1])]
        )
        with open(os.path.join(a.out, f"samples_{k}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            w.writerows(draws.numpy().astype(np.float64).tolist())
        row = {
            "observation": k,
            "method": f"sbi-{a.method}" + ("-defaults" if a.sbi_defaults else ""),
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            **{f"{ph}_wall_s": round(clock.wall.get(ph, 0.0), 2) for ph in ("simulate", "train", "sample", "final")},
            **{f"{ph}_cpu_s": round(clock.cpu.get(ph, 0.0), 2) for ph in ("simulate", "train", "sample", "final")},
            "epochs": " ".join(map(str, epochs)),
            "sbi": sbi.__version__,
            "torch_threads": torch.get_num_threads(),
        }
        path = os.path.join(a.out, "rows.csv")
        fresh = not os.path.exists(path)
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if fresh:
                w.writeheader()
            w.writerow(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
