#!/usr/bin/env python3
"""PyTorch's f32 GEMM at config (b)'s evaluation shapes, for comparison with the gemm crate
(`cargo run --release --example gemm_threshold`). 2 threads. Prints median ms and GFLOP/s.

usage: OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 python scripts/torch_gemm_timing.py
"""
import os, statistics, time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")
import torch

torch.set_num_threads(2)
torch.manual_seed(0)


def time_ms(fn, reps=20, rounds=7):
    for _ in range(3):
        fn()
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        out.append((time.perf_counter() - t) / reps * 1e3)
    return statistics.median(out)


print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
for m, k, n in [(10_000, 256, 256), (10_000, 6, 256), (10_000, 256, 12), (5_000, 256, 256), (1_000, 256, 256)]:
    x, w, b = torch.randn(m, k), torch.randn(n, k) / k**0.5, torch.randn(n)
    with torch.no_grad():
        t_mm = time_ms(lambda: x @ w.t())
        t_lin = time_ms(lambda: torch.nn.functional.linear(x, w, b))
        t_lr = time_ms(lambda: torch.relu(torch.nn.functional.linear(x, w, b)))
    gf = lambda t: 2 * m * n * k / (t * 1e-3) / 1e9
    print(f"{m:6d} x {k:4d} x {n:4d}: matmul {t_mm:7.3f} ms ({gf(t_mm):6.1f} GFLOP/s)  "
          f"linear {t_lin:7.3f} ms ({gf(t_lin):6.1f})  linear+relu {t_lr:7.3f} ms ({gf(t_lr):6.1f})")
