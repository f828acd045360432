#!/usr/bin/env python3
"""PyTorch's f32 GEMM at config (b)'s evaluation shapes and plain PyTorch's (b) log_prob
at batch 10,000, for comparison with flowinfer's (`cargo run --release --example
gemm_gflops`; both are run by scripts/gflops.sh).

For each shape (10,000 x k)·(k x n): torch.matmul, F.linear (matmul + bias) and
linear + ReLU, median ms over 7 rounds and GFLOP/s = 2·m·k·n / time. Then the `plain`
(b) flow of ../shared/bench/pytorch_flows_bench.py: log_prob at batch 10,000 without
gradients, events/s, and GFLOP/s from the FLOPs per event counted from its layer shapes
(2·in·out per nn.Linear weight). The last line, `gflops_json {...}`, is for gflops.sh.

usage: python scripts/torch_gemm_timing.py [--threads 2] [--bench-dir ../shared/bench]
"""
import argparse, json, os, statistics, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--bench-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["MKL_NUM_THREADS"] = str(args.threads)
import torch  # noqa: E402  (after the thread variables)

torch.set_num_threads(args.threads)
torch.manual_seed(0)
BATCH = 10_000


def time_s(fn, rounds=7, window_s=0.3):
    """Median seconds per call over `rounds` windows of ~window_s (after warm-up)."""
    for _ in range(3):
        fn()
    t = time.perf_counter()
    n = 0
    while time.perf_counter() - t < 0.1:
        fn(); n += 1
    reps = max(1, int(window_s / ((time.perf_counter() - t) / n)))
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        out.append((time.perf_counter() - t) / reps)
    return statistics.median(out)


print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {BATCH}")
gemm = []
for k, n in [(6, 256), (256, 256), (256, 12)]:
    m = BATCH
    x, w, b = torch.randn(m, k), torch.randn(n, k) / k**0.5, torch.randn(n)
    with torch.no_grad():
        t_mm = time_s(lambda: x @ w.t())
        t_lin = time_s(lambda: torch.nn.functional.linear(x, w, b))
        t_lr = time_s(lambda: torch.relu(torch.nn.functional.linear(x, w, b)))
    gf = lambda t: 2 * m * n * k / t / 1e9
    print(f"  {m} x {k:3d} x {n:3d}: matmul {t_mm*1e3:7.3f} ms ({gf(t_mm):6.1f} GFLOP/s)  "
          f"linear {t_lin*1e3:7.3f} ms ({gf(t_lin):6.1f})  linear+relu {t_lr*1e3:7.3f} ms ({gf(t_lr):6.1f})")
    gemm.append(dict(m=m, k=k, n=n, ms=t_mm * 1e3, gflops=gf(t_mm), linear_ms=t_lin * 1e3,
                     linear_gflops=gf(t_lin), linear_relu_ms=t_lr * 1e3))

sys.path.insert(0, os.path.abspath(args.bench_dir))
from pytorch_flows_bench import CONFIGS, build  # noqa: E402

model, log_prob, _ = build("plain", "b")
n_params = sum(p.numel() for p in model.parameters())
assert n_params == 565_344, n_params
flops = sum(2 * mod.in_features * mod.out_features for mod in model.modules()
            if isinstance(mod, torch.nn.Linear))
xe = torch.randn(BATCH, CONFIGS["b"][0])
with torch.no_grad():
    s = time_s(lambda: log_prob(xe))
ev_s = BATCH / s
gfl = ev_s * flops / 1e9
print(f"  (b) log_prob at {BATCH}: {ev_s:.0f} events/s x {flops} flops/event = {gfl:.1f} GFLOP/s")
print("gflops_json " + json.dumps(dict(side="pytorch", threads=args.threads, gemm=gemm,
                                       flops_per_event=flops, logprob_ev_s=ev_s, logprob_gflops=gfl)))
