#!/usr/bin/env python3
"""Toy with an exact density for the calibration of Bayesian-flow bands (docs/BAYES.md).

  gen N SEED FILE          write N/0.7 events (so that the 70 % training split holds N)
  pulls BANDS.json N_GEN   pulls (mean - truth) / sigma of the exact marginal bin masses
                           against the bands written by `flowinfer bands`; sigma has the
                           multinomial noise of N_GEN generated events per draw removed.

The density is an equal mixture of two correlated 2-D Gaussians; its marginals are 1-D
Gaussian mixtures, so the bin masses are exact (erf).
"""
import json, math, random, sys

COMP = [  # weight, mean, (sd_a, sd_b, rho)
    (0.5, (-1.5, 0.0), (0.5, 1.0, 0.6)),
    (0.5, (1.5, 1.0), (0.6, 0.7, -0.5)),
]

def gen(n, seed, path):
    rng = random.Random(seed)
    rows = int(round(n / 0.7))
    with open(path, "w") as f:
        f.write("a,b\n")
        for _ in range(rows):
            w, (ma, mb), (sa, sb, r) = COMP[0] if rng.random() < 0.5 else COMP[1]
            u, v = rng.gauss(0, 1), rng.gauss(0, 1)
            a = ma + sa * u
            b = mb + sb * (r * u + math.sqrt(1 - r * r) * v)
            f.write(f"{a!r},{b!r}\n")

def cdf(x, m, s):
    return 0.5 * (1 + math.erf((x - m) / (s * math.sqrt(2))))

def mass(col, lo, hi):
    t = 0.0
    for w, means, sds in COMP:
        m, s = means[col], sds[col]
        t += w * (cdf(hi, m, s) - cdf(lo, m, s))
    return t

def pulls(path, n_gen):
    b = json.load(open(path))
    out, rel = [], []
    for c, m in enumerate(b["marginals"]):
        lo, hi, n = m["bins"]["lo"], m["bins"]["hi"], m["bins"]["n"]
        w = (hi - lo) / n
        for i in range(n):
            mu, sd = m["mean"][i], m["std"][i]
            var = sd * sd - mu * (1 - mu) / n_gen
            if var <= 0 or mu < 1e-3:
                continue
            truth = mass(c, lo + i * w, lo + (i + 1) * w)
            out.append((mu - truth) / math.sqrt(var))
            rel.append(math.sqrt(var) / mu)
    k = len(out)
    mean = sum(out) / k
    std = math.sqrt(sum((p - mean) ** 2 for p in out) / k)
    c1 = sum(abs(p) <= 1 for p in out) / k
    c2 = sum(abs(p) <= 2 for p in out) / k
    mrel = sum(rel) / k
    print(json.dumps({"bins": k, "mean": round(mean, 3), "std": round(std, 3),
                      "within_1sigma": round(c1, 3), "within_2sigma": round(c2, 3),
                      "mean_rel_sigma": round(mrel, 4)}))

if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        pulls(sys.argv[2], int(sys.argv[3]))
