#!/usr/bin/env python3
"""Compares two `surveil_bench --dump` files period by period.

Usage: surveil_compare.py OLD NEW [--tolerance 1e-3]

Prints, per detector, how many periods were compared, how many alarms differ, how many
expected values or upper bounds differ in NA-ness or by more than the relative tolerance,
the worst relative difference, and the periods where the alarms differ (at most 20).
Exits 1 when an alarm differs, a value is NA on one side only, or a difference exceeds the
tolerance; 0 otherwise.
"""
import argparse
import csv
import math
import sys


def read(path):
    rows = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            key = (r["algorithm"], int(r["series"]), int(r["index"]))
            rows[key] = (float(r["expected"]), float(r["upper"]), r["alarm"])
    return rows


def relative(a, b):
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if math.isnan(a) or math.isnan(b):
        return math.inf
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    args = parser.parse_args()
    old, new = read(args.old), read(args.new)
    if old.keys() != new.keys():
        print("the two dumps do not hold the same periods")
        return 1
    stats = {}
    flips = []
    for key in sorted(old):
        o, n = old[key], new[key]
        s = stats.setdefault(key[0], {"periods": 0, "alarms": 0, "beyond": 0, "worst": 0.0,
                                      "changed": 0})
        s["periods"] += 1
        if o[2] != n[2]:
            s["alarms"] += 1
            flips.append((key, o, n))
        d = max(relative(o[0], n[0]), relative(o[1], n[1]))
        if d > 0:
            s["changed"] += 1
        if d > args.tolerance:
            s["beyond"] += 1
        if not math.isinf(d):
            s["worst"] = max(s["worst"], d)
    bad = False
    for name, s in sorted(stats.items()):
        print(f"{name}: {s['periods']} periods, {s['changed']} with a different value, "
              f"{s['alarms']} alarms differ, {s['beyond']} beyond {args.tolerance:g} or NA on "
              f"one side, worst relative difference {s['worst']:.3g}")
        bad = bad or s["alarms"] > 0 or s["beyond"] > 0
    for key, o, n in flips[:20]:
        print(f"alarm differs: {key}: old {o}, new {n}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
