#!/usr/bin/env python3
"""Summary of scripts/gflops.sh's output folder: the fp32 peak (derived and measured) and
achieved GFLOP/s of (b)'s products and log_prob as fractions of it.
usage: python3 scripts/gflops_table.py OUTDIR"""
import json, re, sys

o = sys.argv[1]
host = open(f"{o}/host.txt").read()


def field(name):
    m = re.search(rf"^{re.escape(name)}:\s*(.+)$", host, re.M)
    return m.group(1).strip() if m else None


vendor, family = field("Vendor ID"), int(field("CPU family") or 0)
cores = int(field("nproc"))
avx512 = field("avx512f") == "yes"
max_mhz, nominal_mhz = field("CPU max MHz"), field("cpuinfo MHz")
if vendor == "AuthenticAMD" and family == 25:
    pipes, lanes, why = 2, 8, "AMD family 25 (Zen 3/4): two 256-bit FMA pipes; Zen 4 runs AVX-512 as two 256-bit halves"
elif vendor == "AuthenticAMD" and family >= 26:
    pipes, lanes, why = 2, 16, "AMD family 26 (Zen 5): two 512-bit FMA pipes (server parts)"
elif avx512:
    pipes, lanes, why = 2, 16, "AVX-512: assumed two 512-bit FMA ports (Xeon Gold/Platinum; some parts have one)"
else:
    pipes, lanes, why = 2, 8, "AVX2: two 256-bit FMA ports"
flops_cycle = pipes * lanes * 2
ghz = float(max_mhz or nominal_mhz) / 1e3
clock_src = "lscpu 'CPU max MHz'" if max_mhz else "/proc/cpuinfo 'cpu MHz' (a VM shows the nominal clock, not the boost)"


def jline(path, key):
    for line in open(path):
        if line.startswith(key + " "):
            return json.loads(line[len(key) + 1:])
    raise SystemExit(f"{path}: no {key} line")


peak = jline(f"{o}/fma_peak.txt", "peak_json")
derived = cores * ghz * flops_cycle
print(f"(i) fp32 peak, derived: {cores} cores x {ghz:.3f} GHz [{clock_src}] x {pipes} FMA pipes x "
      f"{lanes} lanes x 2 flops = {derived:.1f} GFLOP/s ({derived / cores:.1f} per core); {why}")
print(f"    measured FMA loop (examples/fma_peak.rs): one core {peak['one_core_gflops']:.1f}, "
      f"{peak['threads']} cores {peak['all_cores_gflops']:.1f} GFLOP/s "
      f"(= {peak['one_core_gflops'] / flops_cycle:.2f} GHz at {flops_cycle} flops/cycle)")
meas = {1: peak["one_core_gflops"], 2: peak["all_cores_gflops"]}
der = {1: derived / cores, 2: derived / cores * min(2, cores)}
runs = {(s, t): jline(f"{o}/{s}-{t}.txt", "gflops_json") for s in ("flowinfer", "pytorch") for t in (1, 2)}
print("(ii) GEMM alone, GFLOP/s (% of measured peak at that thread count):")
print(f"    {'shape m x k x n':>20} | {'flowinfer 1t':>14} | {'torch 1t':>14} | {'flowinfer 2t':>14} | {'torch 2t':>14}")
for i, g in enumerate(runs[("flowinfer", 1)]["gemm"]):
    cells = []
    for t in (1, 2):
        for s in ("flowinfer", "pytorch"):
            v = runs[(s, t)]["gemm"][i]["gflops"]
            cells.append((t, s, f"{v:6.1f} ({100 * v / meas[t]:3.0f}%)"))
    order = [c for t in (1, 2) for c in cells if c[0] == t]
    print(f"    {g['m']:>8} x {g['k']:>3} x {g['n']:>3} | " + " | ".join(f"{c[2]:>14}" for c in order))
print("(iii) (b) log_prob at batch 10,000:")
for t in (1, 2):
    for s in ("flowinfer", "pytorch"):
        r = runs[(s, t)]
        print(f"    {s:>9} {t}t: {r['logprob_ev_s']:9.0f} ev/s x {r['flops_per_event']} flops/event = "
              f"{r['logprob_gflops']:6.1f} GFLOP/s = {100 * r['logprob_gflops'] / meas[t]:3.0f}% of measured peak, "
              f"{100 * r['logprob_gflops'] / der[t]:3.0f}% of derived peak")
