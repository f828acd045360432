#!/usr/bin/env python3
"""ELBO steps per second in PyTorch, paired with `cargo bench --bench variational`
(benches/variational.rs): the same targets, flows and step.

  nsf2  : banana (x1 ~ N(0, 4), x2 | x1 ~ N(x1^2/4, 1)); zuko.flows.NSF(features=2,
          transforms=4, hidden_features=(64, 64), bins=8, passes=2) = 4 RQ-spline
          couplings, bound 5, ReLU MLPs of 2 x 64 (flowinfer: kind nsf, blocks 4,
          hidden 64, tail_bound 5)
  iaf10 : the 10-D correlated Gaussian of flowinfer (scales log-spaced 0.5..2, AR(1)
          correlation 0.8, mean (i - 4.5)/2); an IAF of 4 affine MADE blocks, 2 x 64
          ReLU: zuko MaskedAutoregressiveTransform(10, hidden_features=(64, 64)),
          inverted (.inv), so that sampling and the density of the flow's own draws are
          one MADE pass per block (flowinfer: kind iaf, blocks 4, hidden 64)

A step: draw S points with their log q in one pass (rsample_and_log_prob), loss =
mean(log q - log p~), backward, clip the global gradient norm to 10, Adam (lr 3e-3),
cosine schedule. float32, 2 threads. Each figure is the median over --windows windows of
about --window-s seconds.

usage: OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 python scripts/bench_elbo_torch.py
           [--models nsf2,iaf10] [--windows 5] [--window-s 2.0] [--samples 1000]
Needs torch and zuko (a scratch venv outside the repository). On a loaded machine add
OMP_WAIT_POLICY=PASSIVE: with the default (spinning) policy and other processes on the
cores, a 1000 x 64 x 64 matmul took 25 ms instead of 0.25 ms here. zuko's NSF with
passes=2 has 29,368 parameters against flowinfer's 23,132: its masked network also
outputs (constant) spline parameters for the conditioning feature; the IAFs match
(24,656).
"""
import argparse
import math
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

import torch
import zuko

torch.set_num_threads(2)


def banana(x):
    x1, x2 = x[:, 0], x[:, 1]
    return -0.5 * (x1 / 2) ** 2 - 0.5 * (x2 - x1**2 / 4) ** 2


def correlated_gaussian(d=10, rho=0.8):
    s = torch.exp(torch.linspace(math.log(0.5), math.log(2.0), d, dtype=torch.float64))
    i = torch.arange(d, dtype=torch.float64)
    cov = s[:, None] * s[None, :] * rho ** (i[:, None] - i[None, :]).abs()
    prec = torch.linalg.inv(cov).float()
    mean = ((i - (d - 1) / 2) / 2).float()

    def logp(x):
        r = x - mean
        return -0.5 * ((r @ prec) * r).sum(-1)

    return logp


def model(name):
    if name == "nsf2":
        flow = zuko.flows.NSF(features=2, transforms=4, hidden_features=(64, 64), bins=8, passes=2)
        return flow, banana
    if name == "iaf10":
        d = 10
        orders = [torch.arange(d) if i % 2 == 0 else torch.arange(d).flip(0) for i in range(4)]
        transforms = [
            zuko.flows.MaskedAutoregressiveTransform(d, hidden_features=(64, 64), order=o).inv
            for o in orders
        ]
        base = zuko.flows.UnconditionalDistribution(
            zuko.distributions.DiagNormal, torch.zeros(d), torch.ones(d), buffer=True
        )
        return zuko.flows.Flow(transforms, base), correlated_gaussian(d)
    raise SystemExit(f"unknown model {name} (nsf2, iaf10)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="nsf2,iaf10")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--window-s", type=float, default=2.0)
    ap.add_argument("--samples", type=int, default=1000)
    a = ap.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, zuko {zuko.__version__}, threads {torch.get_num_threads()}")
    print("model   params  steps/s (median)  windows (steps/s)")
    for name in a.models.split(","):
        flow, logp = model(name)
        params = [p for p in flow.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=3e-3)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10**6, eta_min=1e-5)

        def step():
            x, lq = flow().rsample_and_log_prob((a.samples,))
            loss = (lq - logp(x)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            opt.step()
            sched.step()
            return loss.item()

        t = time.perf_counter()
        for _ in range(5):
            step()
        steps = max(3, round(a.window_s / ((time.perf_counter() - t) / 5)))
        rates = []
        for _ in range(a.windows):
            t = time.perf_counter()
            for _ in range(steps):
                loss = step()
            rates.append(steps / (time.perf_counter() - t))
        n = sum(p.numel() for p in params)
        print(
            f"{name:<7} {n:>7}  {statistics.median(rates):>16.1f}  "
            + " ".join(f"{r:.1f}" for r in rates)
            + f"   (last loss {loss:.3f})"
        )


main()
