#!/usr/bin/env python3
"""Detection evaluation: every detector of `p4dp surveil` on a synthetic population and its
truth files. Per detector: probability of detection (POD) and median delay (weeks from the
start's week to the first alarmed week) of the injected outbreaks (an alert of the same
indicator and département, band all, from the start's week to two weeks after the outbreak's
end) and of the influenza epidemic starts (a national ILI alert starting within two weeks of
the start), and the false-positive rate: alarmed département-weeks outside every outbreak (its
start's week to its end + 2 weeks) and every epidemic of the indicator (national start - 2
to end + 2 weeks), over the département-weeks the detector evaluates. Only outbreaks and
starts inside a detector's evaluated weeks are counted for it.

Usage: surveil_eval.py P4DP DATA TRUTH_DIR [--key-file KEY]
(DATA: a warehouse holding the population whose truth files are in TRUTH_DIR.)"""
import csv
import datetime
import io
import statistics
import subprocess
import sys

P4DP, DATA, TRUTH = sys.argv[1:4]
EXTRA = sys.argv[4:]
DETECTORS = [
    ["ears-c1"], ["ears-c2"], ["ears-c3"], ["ears-c2", "--min-sigma", "1"],
    ["farrington", "--b", "1"], ["farrington-flexible", "--b", "1"],
    ["farrington-flexible"], ["cusum"], ["serfling", "--years", "1"],
]
DAY = datetime.timedelta(days=1)


def monday(label):
    year, week = label.split("-W")
    return datetime.date.fromisocalendar(int(year), int(week), 1)


def week_of(day):
    return day - day.weekday() * DAY


def alerts(detector, *args):
    out = subprocess.run([P4DP, "surveil", DATA, *EXTRA, "--alerts", "--algorithm", *detector,
                          *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    return list(csv.DictReader(io.StringIO(out.stdout)))


def first_evaluated(detector, weeks):
    rows = subprocess.run([P4DP, "surveil", DATA, *EXTRA, "--indicator", "ili", "--algorithm",
                           *detector], capture_output=True, text=True).stdout
    for r in csv.DictReader(io.StringIO(rows)):
        if r["alarm"] != "":
            return monday(r["period"])
    return weeks[-1] + 7 * DAY


outbreaks = list(csv.DictReader(open(f"{TRUTH}/outbreaks.csv")))
epidemics = list(csv.DictReader(open(f"{TRUTH}/epidemics.csv")))
ili_starts = [monday(e["start_week"]) for e in epidemics if e["indicator"] == "ili"]
rows = subprocess.run([P4DP, "surveil", DATA, *EXTRA, "--indicator", "ili", "--algorithm",
                       "none"], capture_output=True, text=True).stdout
weeks = [monday(r["period"]) for r in csv.DictReader(io.StringIO(rows))]
indicators = sorted({e["indicator"] for e in epidemics} | {o["indicator"] for o in outbreaks} |
                    {"measles"})


def explained(indicator, place, week):
    for o in outbreaks:
        if o["indicator"] == indicator and o["departement"] == place:
            if week_of(datetime.date.fromisoformat(o["first_day"])) <= week <= \
                    datetime.date.fromisoformat(o["last_day"]) + 14 * DAY:
                return True
    return any(e["indicator"] == indicator and
               monday(e["start_week"]) - 14 * DAY <= week <= monday(e["end_week"]) + 14 * DAY
               for e in epidemics)


print("detector                         outbreaks POD  delay(wk)  ILI starts POD  delay(wk)  "
      "false-positive rate")
for detector in DETECTORS:
    first = first_evaluated(detector, weeks)
    dep = alerts(detector, "--level", "departement")
    alarmed = {}
    for a in dep:
        w = monday(a["since"])
        while w <= monday(a["period"]):
            alarmed.setdefault((a["indicator"], a["place"]), set()).add(w)
            w += 7 * DAY
    found, delays, n = 0, [], 0
    for o in outbreaks:
        start = week_of(datetime.date.fromisoformat(o["first_day"]))
        if start < first:
            continue
        n += 1
        end = datetime.date.fromisoformat(o["last_day"]) + 14 * DAY
        hits = sorted(w for w in alarmed.get((o["indicator"], o["departement"]), ())
                      if start <= w <= end)
        if hits:
            found += 1
            delays.append((hits[0] - start).days // 7)
    false = sum(1 for (ind, place), ws in alarmed.items() for w in ws
                if not explained(ind, place, w))
    evaluated = len(indicators) * 101 * sum(1 for w in weeks if w >= first)
    nat = alerts(detector, "--level", "nation", "--indicator", "ili")
    s_found, s_delays, s_n = 0, [], 0
    for s in ili_starts:
        if s - 14 * DAY < first:
            continue
        s_n += 1
        near = sorted(monday(a["since"]) for a in nat if abs((monday(a["since"]) - s).days) <= 14)
        if near:
            s_found += 1
            s_delays.append((near[0] - s).days // 7)
    med = lambda d: f"{statistics.median(d):+.1f}" if d else "  -"
    print(f"{' '.join(detector):32s} {found:2d}/{n:<2d} {found / max(n, 1):5.0%}  {med(delays):>6s}"
          f"     {s_found:2d}/{s_n:<2d} {s_found / max(s_n, 1):5.0%}   {med(s_delays):>6s}    "
          f"{false / max(evaluated, 1):.4%} ({false} of {evaluated})", flush=True)
