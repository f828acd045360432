#!/usr/bin/env python3
"""Summarise scripts/hard-study.sh: one markdown row per integrand (see that script)."""
import json
import statistics as st
import sys
from pathlib import Path


def load(p):
    try:
        return json.loads((p / "result.json").read_text())
    except (OSError, ValueError):
        return None


def main(out):
    out = Path(out)
    print("| integrand | runs | trusted | pull mean (trusted) | pull sd (trusted) | max abs pull (trusted) | "
          "abs pull > 4: trusted / untrusted | median rel. std | median ESS fraction | median k̂ | "
          "VEGAS rel. std / k̂ (seed 1) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for d in sorted(p for p in out.iterdir() if p.is_dir()):
        runs = [r for r in (load(s) for s in sorted(d.glob("seed*"))) if r]
        if not runs:
            continue
        ok = [r for r in runs if r.get("trusted", True)]
        pulls = [r["pull"] for r in ok if r.get("pull") is not None]
        trusted = len(ok)
        bad_t = sum(1 for p in pulls if abs(p) > 4)
        bad_u = sum(1 for r in runs if not r.get("trusted", True)
                    and r.get("pull") is not None and abs(r["pull"]) > 4)
        ks = [r["pareto_k"] for r in runs if r.get("pareto_k") is not None]
        v = load(d / "vegas")
        vtxt = "–"
        if v and v.get("vegas"):
            vv = v["vegas"]
            vtxt = f"{vv['rel_std']:.3g} / {vv['pareto_k'] if vv.get('pareto_k') is None else round(vv['pareto_k'], 2)}"
        print(
            f"| {d.name} | {len(runs)} | {trusted} | "
            f"{st.mean(pulls) if pulls else float('nan'):+.2f} | "
            f"{st.stdev(pulls) if len(pulls) > 1 else float('nan'):.2f} | "
            f"{max((abs(p) for p in pulls), default=float('nan')):.2f} | {bad_t} / {bad_u} | "
            f"{st.median(r['rel_std'] for r in runs):.3g} | "
            f"{st.median(r['ess_fraction'] for r in runs):.3g} | "
            f"{st.median(ks) if ks else float('nan'):.2f} | {vtxt} |"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/hard")
