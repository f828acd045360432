#!/usr/bin/env python3
"""The must-show table (docs/HARD_INTEGRANDS.md): one markdown row per run, DIR/<spec>/seed*/result.json
(estimate, pull, rel. std, ESS fraction, k̂, trust, unweighting efficiency, and the VEGAS comparison).
Usage: scripts/hard_table.py DIR"""
import json, sys
from pathlib import Path
def g(x, f): return "–" if x is None else format(x, f)
out = Path(sys.argv[1])
print("| spec | seed | estimate ± σ | pull | rel. std | ESS fraction | k̂ | trusted (reasons) | unw. eff. (bootstrap) | VEGAS estimate ± σ | VEGAS pull | VEGAS rel. std | VEGAS k̂ | s |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for d in sorted(p for p in out.iterdir() if p.is_dir()):
    for s in sorted(d.glob("seed*")):
        try: r = json.loads((s / "result.json").read_text())
        except Exception: continue
        v = r.get("vegas") or {}
        reasons = "; ".join(x[:60] for x in r.get("reasons", []))
        print(f"| {d.name} | {s.name[4:]} | {r['estimate']:.6g} ± {r['std_error']:.2g} | {g(r.get('pull'),'+.2f')} | {r['rel_std']:.3g} | {r['ess_fraction']:.3g} | {g(r.get('pareto_k'),'.2f')} | {'yes' if r.get('trusted', True) else 'no: ' + reasons} | {g(r.get('unweighting_efficiency_bootstrap'),'.3f')} | "
              + (f"{v['estimate']:.6g} ± {v['std_error']:.2g} | {g(v.get('pull'),'+.2f')} | {v['rel_std']:.3g} | {g(v.get('pareto_k'),'.2f')}" if v else "– | – | – | –")
              + f" | {r.get('seconds',0):.0f} |")
