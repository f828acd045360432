"""Print the results table of docs/VARIATIONAL.md from variational run directories.

Usage: python3 scripts/variational_table.py OUT_DIR NAME...  (reads OUT_DIR/NAME/report.json)
"""
import json
import sys
from statistics import NormalDist


def fmt(v, d=3):
    return "–" if v is None else f"{v:.{d}f}"


def main():
    out, names = sys.argv[1], sys.argv[2:]
    print("| run | family | α | ELBO | log Ẑ ± se | log Z exact | pull | ESS frac. | k̂ | trusted | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    extras = []
    for n in names:
        r = json.load(open(f"{out}/{n}/report.json"))
        f = r["family"]
        fam = "mean field" if f["kind"] == "mean_field" else f"{f['kind']} ×{f['blocks']}"
        k = r["weights"]["pareto_k"]
        print(
            f"| {n} | {fam} | {r.get('defensive', 0):g} | {r['elbo']:.3f} ± {r['elbo_std_error']:.3f} "
            f"| {r['log_z']:.4f} ± {r['log_z_std_error']:.4f} | {fmt(r['truth']['log_z'], 4)} "
            f"| {fmt(r['log_z_pull'], 2)} | {r['weights']['ess_fraction']:.3f} "
            f"| {fmt(k, 2) if k is not None else 'n/a'} | {'yes' if r['trusted'] else 'NO'} "
            f"| {r['seconds']:.0f} |"
        )
        if r.get("moments"):
            m = r["moments"]
            extras.append(
                f"{n}: moments of q draws: mean error {m['q']['mean_error']:.3f} sd, "
                f"covariance {100 * m['q']['cov_rel_error']:.1f} % (Frobenius), variances "
                f"{100 * m['q']['var_rel_error']:.1f} % (worst); importance-weighted: mean "
                f"{m['weighted']['mean_error']:.3f} sd, covariance {100 * m['weighted']['cov_rel_error']:.1f} %, "
                f"variances {100 * m['weighted']['var_rel_error']:.1f} %"
            )
        if r["target"] == "funnel":
            v = r["marginals"][0]
            truth = [NormalDist(0, 3).inv_cdf(p) for p in (0.01, 0.05, 0.5, 0.95, 0.99)]
            extras.append(
                "funnel log-scale v: q quantiles (1, 5, 50, 95, 99 %) "
                + ", ".join(f"{x:.2f}" for x in v["quantiles"])
                + f"; exact N(0, 3²): " + ", ".join(f"{x:.2f}" for x in truth)
                + f"; q mean {v['mean']:.2f}, sd {v['sd']:.2f} (exact 0, 3)"
            )
        for key, val in sorted(r.get("metrics", {}).items()):
            extras.append(f"{n}: {key} = {val:.4f}")
        if r["target"] == "logistic_iris":
            extras.append(
                f"{n}: posterior means " + ", ".join(f"{m['column']} {m['mean']:.3f}" for m in r["marginals"])
            )
    print()
    for e in extras:
        print(f"- {e}")


main()
