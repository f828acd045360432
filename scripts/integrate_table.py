"""Print the results table of docs/INTEGRATION.md from integration run directories.

Usage: python3 scripts/integrate_table.py LABEL=RUN_DIR ...
Each RUN_DIR is an `--out` directory of `flowinfer integrate` (result.json + report.json).
"""
import json
import sys


def fmt(x, digits=3):
    if x is None:
        return "–"
    return f"{x:.{digits}g}"


def pm(est, se):
    digits = 6
    return f"{est:.{digits}g} ± {se:.2g}"


print("| run | d | training calls | flow estimate | exact | pull | flow rel. std | VEGAS rel. std "
      "| VEGAS/flow | flow unw. eff. (max / boot) | VEGAS unw. eff. (max / boot) "
      "| VEGAS pull (frozen / adaptive) | β = 1 from step | s |")
print("|" + "---|" * 14)
for arg in sys.argv[1:]:
    label, run = arg.rsplit("=", 1)
    r = json.load(open(f"{run}/result.json"))
    rep = json.load(open(f"{run}/report.json"))
    v = r.get("vegas")
    vr = rep.get("vegas") or {}
    calls = rep["calls"]["warm_start"] + rep["calls"]["training"]
    ratio = f"{v['rel_std'] / r['rel_std']:.1f}×" if v else "–"
    cells = [
        label,
        str(r["dim"]),
        f"{calls:,}",
        pm(r["estimate"], r["std_error"]),
        fmt(r["exact"], 9),
        f"{r['pull']:+.2f}" if r["pull"] is not None else "–",
        fmt(r["rel_std"]),
        fmt(v["rel_std"]) if v else "–",
        ratio,
        f"{fmt(r['unweighting_efficiency'], 2)} / {fmt(r['unweighting_efficiency_bootstrap'], 2)}",
        f"{fmt(v['unweighting_efficiency'], 2)} / {fmt(v['unweighting_efficiency_bootstrap'], 2)}" if v else "–",
        f"{v['pull']:+.2f} / {vr.get('adaptive_pull', 0):+.2f}" if v and v["pull"] is not None else "–",
        str(rep["training"].get("first_full_step")),
        f"{rep['seconds']['total']:.0f}",
    ]
    print("| " + " | ".join(cells) + " |")
