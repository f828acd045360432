#!/usr/bin/env python3
"""PyTorch side of the `npe` and `integ` rows of `cargo bench --bench throughput`
(`-- --configs npe,integ`): the flows that `flowinfer sbi` (NPE) and `flowinfer integrate`
train, rebuilt in plain PyTorch, timed like ../shared/bench/pytorch_flows_bench.py and
written in the same JSON shape (config, impl, params, train_steps_s, logprob_ev_s,
sample_ev_s), so the two runs compare row by row.

npe   : NPE of a 2-D parameter given a 2-D observation (two_moons' shapes). A fixed
        standardisation, then 5 blocks of [reverse order (not before the first) →
        rational-quadratic spline coupling, K = 8, linear tails outside [-4, 4]]; each
        conditioner is MLP(1 + 2 context → 64 → 64 → 23) on [identity half, context],
        ReLU, output layer zero-initialised (flowinfer's NPE default). Training step:
        batch 128 of (θ, x), loss −mean log q(θ | x), backward, gradient-norm clipping at
        5, Adam lr 5e-4. log_prob at 10k (θ, x) pairs; sample 10k θ for one observation.
integ : the 8-D unit-hypercube flow of `flowinfer integrate` (defaults): 6 couplings with
        the binary-digit masks (coupling 2b conditions on the features with bit b set,
        2b + 1 on the others), each a unit-interval RQ spline (K = 8, free derivatives at
        all K + 1 knots, 3K + 1 = 25 parameters per feature) conditioned by
        MLP(4 → 64 → 64 → 100), output layer zero-initialised; uniform base on [0, 1]^8.
        Training step (as integrate's online KL step): draw 4,096 points from the flow
        without gradient, weight them by a Gaussian-peak integrand, a = f/q, loss
        −mean(a · log q(x)) with the graph, backward, gradient-norm clipping at 10, Adam.
        log_prob and sample at 10k.

usage: OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 python scripts/pytorch_jobs_bench.py \
           [--configs npe,integ] [--windows 5] [--window-s 1.0] [--json OUT.json]
"""
import argparse, json, math, os, statistics, time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
K = 8
MIN_W = MIN_H = MIN_D = 1e-3
EVAL_BATCH = 10_000
LOG2PI = math.log(2 * math.pi)


def mlp(n_in, n_out, h, zero_out=True):
    net = nn.Sequential(nn.Linear(n_in, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, n_out))
    if zero_out:
        nn.init.zeros_(net[-1].weight)
        nn.init.zeros_(net[-1].bias)
    return net


def knots(u, min_size, lo, hi):
    e = torch.exp(u - u.amax(-1, keepdim=True))
    w = e / e.sum(-1, keepdim=True)
    w = min_size + (1 - min_size * u.shape[-1]) * w
    c = F.pad(torch.cumsum(w, dim=-1), (1, 0))
    c = (hi - lo) * c + lo
    c = torch.cat([torch.full_like(c[..., :1], lo), c[..., 1:-1], torch.full_like(c[..., :1], hi)], dim=-1)
    return c, c[..., 1:] - c[..., :-1]


def rqs(x, uw, uh, d, lo, hi, inverse=False):
    """RQ spline on [lo, hi] with knot derivatives d (..., K+1); identity outside."""
    inside = (x >= lo) & (x <= hi)
    xc = x.clamp(lo, hi)
    cw, w = knots(uw, MIN_W, lo, hi)
    ch, h = knots(uh, MIN_H, lo, hi)
    locs = ch if inverse else cw
    locs = torch.cat([locs[..., :-1], locs[..., -1:] + 1e-6], dim=-1)
    k = ((xc[..., None] >= locs).sum(-1, keepdim=True) - 1).clamp(0, uw.shape[-1] - 1)
    g = lambda t: t.gather(-1, k).squeeze(-1)
    xk, wk, yk, hk = g(cw[..., :-1]), g(w), g(ch[..., :-1]), g(h)
    dk, dk1 = g(d[..., :-1]), g(d[..., 1:])
    sk = hk / wk
    if not inverse:
        t = (xc - xk) / wk
        t1m = t * (1 - t)
        y = yk + hk * (sk * t * t + dk * t1m) / (sk + (dk + dk1 - 2 * sk) * t1m)
        den = sk + (dk + dk1 - 2 * sk) * t1m
        dnum = sk * sk * (dk1 * t * t + 2 * sk * t1m + dk * (1 - t) * (1 - t))
        lad = torch.log(dnum) - 2 * torch.log(den)
        return torch.where(inside, y, x), torch.where(inside, lad, torch.zeros_like(lad))
    dy = xc - yk
    a = dy * (dk + dk1 - 2 * sk) + hk * (sk - dk)
    b = hk * dk - dy * (dk + dk1 - 2 * sk)
    c = -sk * dy
    t = (2 * c) / (-b - torch.sqrt((b * b - 4 * a * c).clamp_min(0)))
    y = t * wk + xk
    t1m = t * (1 - t)
    den = sk + (dk + dk1 - 2 * sk) * t1m
    dnum = sk * sk * (dk1 * t * t + 2 * sk * t1m + dk * (1 - t) * (1 - t))
    lad = -(torch.log(dnum) - 2 * torch.log(den))
    return torch.where(inside, y, x), torch.where(inside, lad, torch.zeros_like(lad))


class SplineCoupling(nn.Module):
    """Features `ident` condition the others (`trans`) through MLP([x_ident, ctx])."""

    def __init__(self, dim, ident, ctx_dim, hidden, unit, bound=4.0):
        super().__init__()
        self.ident = torch.tensor(ident)
        self.trans = torch.tensor([i for i in range(dim) if i not in ident])
        self.restore = torch.argsort(torch.cat([self.ident, self.trans]))
        self.unit, self.bound = unit, bound
        self.per = 3 * K + 1 if unit else 3 * K - 1
        self.prefix = ident == list(range(len(ident)))
        self.net = mlp(len(ident) + ctx_dim, len(self.trans) * self.per, hidden)
        if unit:  # identity spline at initialisation: every derivative 1
            with torch.no_grad():
                b = self.net[-1].bias.view(len(self.trans), self.per)
                b[:, 2 * K:] = math.log(math.expm1(1 - MIN_D))

    def split(self, x):
        if self.prefix:
            n = len(self.ident)
            return x[:, :n], x[:, n:]
        return x[:, self.ident], x[:, self.trans]

    def join(self, a, b):
        y = torch.cat([a, b], -1)
        return y if self.prefix else y[:, self.restore]

    def run(self, x, ctx, inverse):
        a, b = self.split(x)
        inp = a if ctx is None else torch.cat([a, ctx], -1)
        p = self.net(inp).reshape(x.shape[0], len(self.trans), self.per)
        uw, uh, ud = p[..., :K].contiguous(), p[..., K:2 * K].contiguous(), p[..., 2 * K:].contiguous()
        d = MIN_D + F.softplus(ud)
        if self.unit:
            yb, lad = rqs(b, uw, uh, d, 0.0, 1.0, inverse)
        else:
            yb, lad = rqs(b, uw, uh, F.pad(d, (1, 1), value=1.0), -self.bound, self.bound, inverse)
        return self.join(a, yb), lad.sum(-1)


class NpeFlow(nn.Module):
    def __init__(self, dim=2, ctx_dim=2, blocks=5, hidden=64):
        super().__init__()
        self.dim = dim
        self.register_buffer("mean", torch.randn(dim) * 0.1)
        self.register_buffer("std", torch.rand(dim) + 0.5)
        self.layers = nn.ModuleList(
            SplineCoupling(dim, list(range(dim // 2)), ctx_dim, hidden, unit=False) for _ in range(blocks))

    def log_prob(self, x, ctx):
        x = (x - self.mean) / self.std
        ld = -self.std.log().sum().expand(x.shape[0])
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = x.flip(-1)
            x, l = layer.run(x, ctx, False)
            ld = ld + l
        return -0.5 * (x * x).sum(-1) - 0.5 * self.dim * LOG2PI + ld

    def sample(self, n, ctx_row):
        ctx = ctx_row.expand(n, -1)
        z = torch.randn(n, self.dim)
        for i in reversed(range(len(self.layers))):
            z, _ = self.layers[i].run(z, ctx, True)
            if i > 0:
                z = z.flip(-1)
        return z * self.std + self.mean


def binary_masks(dim):
    bits = max(1, math.ceil(math.log2(dim)))
    out = []
    for b in range(bits):
        ones = [i for i in range(dim) if (i >> b) & 1]
        zeros = [i for i in range(dim) if not (i >> b) & 1]
        if ones and zeros:
            out += [ones, zeros]
    return out


class UnitFlow(nn.Module):
    def __init__(self, dim=8, hidden=64):
        super().__init__()
        masks = binary_masks(dim)
        n = max(4, len(masks))
        self.dim = dim
        self.layers = nn.ModuleList(
            SplineCoupling(dim, masks[i % len(masks)], 0, hidden, unit=True) for i in range(n))

    def log_prob(self, x):
        ld = torch.zeros(x.shape[0])
        for layer in self.layers:
            x, l = layer.run(x, None, False)
            ld = ld + l
        return ld

    def sample_and_log_prob(self, n):
        u = torch.rand(n, self.dim)
        ld = torch.zeros(n)
        for layer in reversed(self.layers):
            u, l = layer.run(u, None, True)
            ld = ld + l
        return u, -ld


def rate(fn, window_s, windows, warmup_s=1.0):
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < warmup_s or n < 3:
        fn(); n += 1
    reps = max(1, int(window_s / ((time.perf_counter() - t0) / n)))
    rates = []
    for _ in range(windows):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        rates.append(reps / (time.perf_counter() - t))
    return statistics.median(rates), min(rates), max(rates)


def bench(cfg, windows, window_s):
    torch.manual_seed(0)
    if cfg == "npe":
        m = NpeFlow()
        opt = torch.optim.Adam(m.parameters(), lr=5e-4)
        pool = [(torch.randn(128, 2), torch.randn(128, 2)) for _ in range(32)]
        it = [0]

        def train_step():
            th, x = pool[it[0] % len(pool)]; it[0] += 1
            opt.zero_grad(set_to_none=True)
            loss = -m.log_prob(th, x).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
            opt.step()

        the, xe, x0 = torch.randn(EVAL_BATCH, 2), torch.randn(EVAL_BATCH, 2), torch.randn(1, 2)
        lp = lambda: m.log_prob(the, xe)
        smp = lambda: m.sample(EVAL_BATCH, x0)
    else:
        m = UnitFlow()
        opt = torch.optim.Adam(m.parameters(), lr=2e-2)

        def integrand(x):
            return torch.exp(-((x - 0.5) ** 2).sum(-1) / (2 * 0.1 ** 2))

        def train_step():
            with torch.no_grad():
                x, lq = m.sample_and_log_prob(4096)
                w = integrand(x) / lq.exp()
                a = w / w.mean()
            opt.zero_grad(set_to_none=True)
            loss = -(a * m.log_prob(x)).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 10.0)
            opt.step()

        xe = torch.rand(EVAL_BATCH, 8)
        lp = lambda: m.log_prob(xe)
        smp = lambda: m.sample_and_log_prob(EVAL_BATCH)
    n_params = sum(p.numel() for p in m.parameters() if p.requires_grad)
    tr = rate(train_step, window_s, windows)

    def no_grad(f):
        def g():
            with torch.no_grad():
                f()
        return g

    lpr = rate(no_grad(lp), window_s, windows)
    smr = rate(no_grad(smp), window_s, windows)
    return dict(config=cfg, impl="plain", params=n_params, train_steps_s=tr[0], train_range=tr[1:],
                logprob_ev_s=lpr[0] * EVAL_BATCH, logprob_range=[r * EVAL_BATCH for r in lpr[1:]],
                sample_ev_s=smr[0] * EVAL_BATCH, sample_range=[r * EVAL_BATCH for r in smr[1:]])


def check():
    """Round trips x → z → x of both flows after a few random parameter perturbations."""
    torch.manual_seed(1)
    m = NpeFlow()
    u = UnitFlow()
    with torch.no_grad():
        for p in list(m.parameters()) + list(u.parameters()):
            p.add_(0.1 * torch.randn_like(p))
        ctx = torch.randn(1, 2)
        th = m.sample(500, ctx)
        z = (th - m.mean) / m.std
        for i, layer in enumerate(m.layers):
            if i > 0:
                z = z.flip(-1)
            z, _ = layer.run(z, ctx.expand(500, -1), False)
        assert torch.isfinite(m.log_prob(th, ctx.expand(500, -1))).all()
        x, lq = u.sample_and_log_prob(500)
        err = (u.log_prob(x) - lq).abs().max().item()
        print(f"integ: log q of samples vs density max diff {err:.2e}")
        assert err < 1e-3, err


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="npe,integ")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--window-s", type=float, default=1.0)
    ap.add_argument("--json")
    a = ap.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    check()
    rows = []
    for cfg in a.configs.split(","):
        r = bench(cfg, a.windows, a.window_s)
        rows.append(r)
        print(f"{cfg:5s} plain params {r['params']:8d}  train {r['train_steps_s']:9.1f} steps/s  "
              f"log_prob {r['logprob_ev_s']:12.0f} ev/s  sample {r['sample_ev_s']:12.0f} ev/s", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
