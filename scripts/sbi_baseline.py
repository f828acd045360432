#!/usr/bin/env python3
"""sbi's amortised NPE on the simulations flowinfer drew, for the side-by-side in
docs/SBI.md ("NPE beside sbi").

Reads DIR/simulations.csv (written by `cargo run --release --example sbibm_compare --
npe models/sbibm-TASK.toml DIR`: θ columns, then data_1 … data_m), trains sbi's NPE
(NPE_C, one round, so the plain NPE loss) with sbi's own defaults, which are sbibm's
settings for NPE: NSF with 5 transforms, hidden 50, 10 bins, z-scored θ and x, Adam at
5e-4, 10 % validation, stop after 20 epochs without improvement, clip 5, batch 200
(sbi 0.27's default), then draws 10,000 posterior samples for each reference observation
(rejection on the prior support, as sbi's DirectPosterior does). Writes OUT/samples_<k>.csv
and OUT/timing.json (wall train_s, sample_s; CPU seconds of all threads train_cpu_s,
sample_cpu_s; epochs).

Usage (the venv with sbi 0.27 and scikit-learn, outside the repo):
  /tmp/sbienv/bin/python scripts/sbi_baseline.py TASK SIM_DIR OUT [--obs 1,2,...]
      [--batch 200] [--seed 0]
TASK is two_moons, gaussian_linear or sir; the reference observations are read from
../shared/data/sbibm/TASK/num_observation_<k>/observation.csv.
"""

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch.distributions import Independent, LogNormal, MultivariateNormal, Uniform

from sbi.inference import NPE_C
from sbi.neural_nets import posterior_nn


def prior(task):
    """The sbibm prior of TASK as a torch distribution."""
    if task == "two_moons":
        return Independent(Uniform(-torch.ones(2), torch.ones(2)), 1)
    if task == "gaussian_linear":
        return MultivariateNormal(torch.zeros(10), 0.1 * torch.eye(10))
    if task == "sir":
        loc = torch.tensor([math.log(0.4), math.log(1 / 8)])
        return Independent(LogNormal(loc, torch.tensor([0.5, 0.2])), 1)
    sys.exit(f"unknown task {task!r} (two_moons, gaussian_linear, sir)")


def read_csv(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], dtype=np.float64)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("task")
    p.add_argument("sim_dir")
    p.add_argument("out")
    p.add_argument("--obs", default="1,2,3,4,5,6,7,8,9,10")
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=10_000)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    ref_root = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "sbibm", a.task)

    pr = prior(a.task)
    header, sims = read_csv(os.path.join(a.sim_dir, "simulations.csv"))
    d = pr.event_shape[0]
    theta = torch.tensor(sims[:, :d], dtype=torch.float32)
    x = torch.tensor(sims[:, d:], dtype=torch.float32)
    names = header[:d]

    t0, c0 = time.perf_counter(), time.process_time()
    net = posterior_nn(model="nsf", hidden_features=50, num_transforms=5)
    inference = NPE_C(prior=pr, density_estimator=net, show_progress_bars=False)
    estimator = inference.append_simulations(theta, x).train(training_batch_size=a.batch)
    posterior = inference.build_posterior(estimator)
    train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    summary = inference.summary
    epochs = len(summary["training_loss"])
    best_val = float(summary["best_validation_loss"][-1])

    t1, c1 = time.perf_counter(), time.process_time()
    obs = [int(k) for k in a.obs.split(",")]
    for k in obs:
        _, xo = read_csv(os.path.join(ref_root, f"num_observation_{k}", "observation.csv"))
        xo = torch.tensor(xo[0], dtype=torch.float32)
        s = posterior.sample((a.samples,), x=xo, show_progress_bars=False).numpy()
        with open(os.path.join(a.out, f"samples_{k}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            w.writerows(s.tolist())
    sample_s, sample_cpu_s = time.perf_counter() - t1, time.process_time() - c1

    import sbi

    timing = {
        "tool": f"sbi {sbi.__version__}",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "simulations": int(theta.shape[0]),
        "epochs": epochs,
        "best_val_loss": best_val,
        "batch": a.batch,
        "train_s": train_s,
        "sample_s": sample_s,
        "train_cpu_s": train_cpu_s,
        "sample_cpu_s": sample_cpu_s,
        "observations": obs,
    }
    with open(os.path.join(a.out, "timing.json"), "w") as f:
        json.dump(timing, f, indent=2)
    print(json.dumps(timing))


if __name__ == "__main__":
    main()
