#!/usr/bin/env python3
"""The table of docs/SBI.md "Sequential methods beside sbi 0.27's own": flowinfer's SNLE
and TSNPE (examples nle_sbibm / tsnpe_sbibm with SBIBM_OUT) beside sbi 0.27's
(scripts/sbi_sequential.py), per observation, with scikit-learn's C2ST, the CPU and wall
seconds of the rounds (simulation + training + proposals) and of the final 10,000
draws, the ratio flowinfer ÷ sbi, and the load average when each run started and ended.

Reads, under RUNS:
  fi-snle-two_moons/{rows,rounds}.csv, fi-snle-two_moons/snle/c2st_sklearn*.csv
  fi-tsnpe-sir/{rows,rounds}.csv,      fi-tsnpe-sir/tsnpe/c2st_sklearn*.csv
  sbi-snle-two_moons/, sbi-tsnpe-sir/  (c2st_sklearn*.csv)
and the sitting's log (the lines "HH:MM:SS start|end fi|sbi METHOD TASK K | load
average: a, b, c" of the sitting script and the JSON row sbi_sequential.py prints per
observation).

A second table gives the runs of sbi with its own defaults (`--sbi-defaults`, folders
sbi-METHOD-defaults-TASK, logged as "start sbi METHOD-defaults TASK K") beside the same
flowinfer runs.

Usage: python3 scripts/sbi_sequential_table.py RUNS SITTING_LOG [MORE_LOGS ...]
"""

import csv
import glob
import json
import os
import re
import sys

PAIRS = [("two_moons", "snle"), ("sir", "tsnpe")]


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def sklearn_scores(folder):
    """observation → scikit-learn C2ST from every c2st_sklearn*.csv in folder."""
    out = {}
    for p in sorted(glob.glob(os.path.join(folder, "c2st_sklearn*.csv"))):
        for r in rows(p):
            out[int(r["observation"])] = float(r["accuracy"])
    return out


def parse_log(paths):
    """(loads, sbi): loads[(tool, method, task, k)] = (start load, end load, start, end);
    sbi[(method, k)] = the JSON row."""
    loads, sbi = {}, {}
    pat = re.compile(r"^(\d\d:\d\d:\d\d) (start|end) (fi|sbi) ([\w-]+) (\w+) (\d+) \| load average: ([\d.]+)")
    for line in (ln for path in paths for ln in open(path)):
        m = pat.match(line)
        if m:
            t, edge, tool, method, task, k, load = m.groups()
            e = loads.setdefault((tool, method, task, int(k)), {})
            e[edge] = (t, float(load))
        elif line.lstrip().startswith("{") or "{\"observation\"" in line:
            j = json.loads(line[line.index("{") :])
            sbi[(j["method"].removeprefix("sbi-"), int(j["observation"]))] = j
    return loads, sbi


def fmt(cpu, wall):
    return f"{cpu:.1f} ({wall:.1f})"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = sys.argv[1]
    loads, sbi = parse_log(sys.argv[2:])
    print(
        "| task | method | obs. | tool | C2ST, scikit-learn | rounds: simulation + training + proposals, "
        "CPU s (wall) | of which training, wall s | final 10,000 draws, CPU s (wall) | total CPU s (wall) "
        "| flowinfer ÷ sbi, CPU (wall) | load average at start → end (UTC) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    sums = {}
    for task, method in PAIRS:
        fi_dir = os.path.join(runs, f"fi-{method}-{task}")
        fi_rows = {int(r["observation"]): r for r in rows(os.path.join(fi_dir, "rows.csv"))}
        fi_rounds = rows(os.path.join(fi_dir, "rounds.csv"))
        fi_sk = sklearn_scores(os.path.join(fi_dir, method))
        sbi_sk = sklearn_scores(os.path.join(runs, f"sbi-{method}-{task}"))
        for k in sorted(fi_rows):
            if (method, k) not in sbi:
                continue
            fr = fi_rows[k]
            rr = [r for r in fi_rounds if int(r["observation"]) == k]
            last = rr[-1]
            fi_train = sum(float(re.search(r"training[^\d]*([\d.]+) s", r["detail"]).group(1)) for r in rr)
            fi_tot = (float(fr["cpu_s"]), float(fr["wall_s"]))
            fi_rnd = (float(last["cpu_s"]), float(last["wall_s"]))
            fi_fin = (fi_tot[0] - fi_rnd[0], fi_tot[1] - fi_rnd[1])
            j = sbi[(method, k)]
            sb_tot = (j["cpu_s"], j["wall_s"])
            if "final_cpu_s" in j:
                sb_fin = (j["final_cpu_s"], j["final_wall_s"])
                sb_rnd = (sb_tot[0] - sb_fin[0], sb_tot[1] - sb_fin[1])
                sb_fin_s, sb_rnd_s = fmt(*sb_fin), fmt(*sb_rnd)
            else:  # an early row: the final draws counted with the proposals
                sb_fin_s, sb_rnd_s = "in the rounds' cell", fmt(*sb_tot)
            ratio = (fi_tot[0] / sb_tot[0], fi_tot[1] / sb_tot[1])
            s = sums.setdefault((task, method), [0.0, 0.0, 0.0, 0.0, 0])
            s[0] += fi_tot[0]
            s[1] += fi_tot[1]
            s[2] += sb_tot[0]
            s[3] += sb_tot[1]
            s[4] += 1

            def load(tool):
                e = loads.get((tool, method, task, k), {})
                if "start" not in e or "end" not in e:
                    return "–"
                return f"{e['start'][1]:.1f} → {e['end'][1]:.1f} ({e['start'][0]}–{e['end'][0]})"

            def sk(d):
                return f"{d[k]:.3f}" if k in d else "–"

            print(
                f"| {task} | {method.upper()} | {k} | flowinfer (release, 1 thread) | {sk(fi_sk)} | {fmt(*fi_rnd)} "
                f"| {fi_train:.1f} | {fmt(*fi_fin)} | **{fmt(*fi_tot)}** | **{ratio[0]:.2f}** ({ratio[1]:.2f}) "
                f"| {load('fi')} |"
            )
            print(
                f"| {task} | {method.upper()} | {k} | sbi {j['sbi']} (1 torch thread) | {sk(sbi_sk)} | {sb_rnd_s} "
                f"| {j['train_wall_s']:.1f} | {sb_fin_s} | **{fmt(*sb_tot)}** | | {load('sbi')} |"
            )
    print()
    for (task, method), s in sums.items():
        print(
            f"- {task} {method.upper()}, {s[4]} observation(s): flowinfer {s[0]:.1f} CPU s ({s[1]:.1f} wall), "
            f"sbi {s[2]:.1f} CPU s ({s[3]:.1f} wall); ratio {s[0] / s[2]:.2f} CPU, {s[1] / s[3]:.2f} wall"
        )
    defaults(runs, loads, sbi)


def defaults(runs, loads, sbi):
    """sbi with its own defaults beside the same flowinfer runs."""
    found = [(t, m, k) for t, m in PAIRS for (mm, k) in sorted(sbi) if mm == f"{m}-defaults"]
    if not found:
        return
    print()
    print(
        "| task | method | obs. | sbi settings | C2ST, scikit-learn | rounds CPU s (wall) | of which training, "
        "wall s | final 10,000 draws, CPU s (wall) | total CPU s (wall) | epochs per round "
        "| flowinfer ÷ sbi, CPU (wall) | load average at start → end (UTC) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for task, method, k in found:
        j = sbi[(f"{method}-defaults", k)]
        fi = {int(r["observation"]): r for r in rows(os.path.join(runs, f"fi-{method}-{task}", "rows.csv"))}
        sk = sklearn_scores(os.path.join(runs, f"sbi-{method}-defaults-{task}"))
        tot = (j["cpu_s"], j["wall_s"])
        fin = (j["final_cpu_s"], j["final_wall_s"])
        ratio = "–"
        if k in fi:
            ratio = f"**{float(fi[k]['cpu_s']) / tot[0]:.2f}** ({float(fi[k]['wall_s']) / tot[1]:.2f})"
        e = loads.get(("sbi", f"{method}-defaults", task, k), {})
        load = (
            f"{e['start'][1]:.1f} → {e['end'][1]:.1f} ({e['start'][0]}–{e['end'][0]})"
            if "start" in e and "end" in e
            else "–"
        )
        print(
            f"| {task} | {method.upper()} | {k} | sbi {j['sbi']} defaults (MAF, batch 200, patience 20) "
            f"| {f'{sk[k]:.3f}' if k in sk else '–'} | {fmt(tot[0] - fin[0], tot[1] - fin[1])} "
            f"| {j['train_wall_s']:.1f} | {fmt(*fin)} | **{fmt(*tot)}** | {j['epochs']} | {ratio} | {load} |"
        )


if __name__ == "__main__":
    main()
