"""Markdown table of scripts/reweight-auger.sh: mean ± std over seeds 0-4 of the
reweight reports in OUT/rw-<run>-s<seed>/report.json."""
import json
import statistics as st
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "runs/reweight-auger"
print("| run | generated | AUC before | AUC after | χ²/ndf before | χ²/ndf after "
      "| Kish ESS (%) | clipped (at 20) | max weight | seconds |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in ["auger-nsf", "auger-nsf-8ep", "auger-nsf-3ep", "auger-nsf-1ep", "null"]:
    ds = [json.load(open(f"{out}/rw-{r}-s{s}/report.json")) for s in range(5)]

    def ms(f, p=3):
        v = [f(d) for d in ds]
        return f"{st.mean(v):.{p}f} ± {st.stdev(v):.{p}f}"

    print(f"| {r} | {ds[0]['generated_events']} | {ms(lambda d: d['auc_before'])} "
          f"| {ms(lambda d: d['auc_after'])} | {ms(lambda d: d['mean_chi2_ndf_before'], 2)} "
          f"| {ms(lambda d: d['mean_chi2_ndf_after'], 2)} "
          f"| {ms(lambda d: 100 * d['weights']['ess_fraction'], 1)} "
          f"| {ms(lambda d: d['weights']['clipped'], 1)} | {ms(lambda d: d['weights']['max'], 1)} "
          f"| {ms(lambda d: d['seconds'], 1)} |")
