#!/usr/bin/env python3
"""Injects appliance-left-on events into an hourly `ts,wh` history and writes
it with a `label` column (the event kind on affected hours, else 0), so that
`stream-smarts eval` can tell caught events from false alerts.

An event adds a constant power for whole hours on top of what the house
really used, which is what a forgotten heater or oven looks like on an
hourly meter. One event per `--every-days` days on average, placed at
random (seeded) within each period, never overlapping:

  heater_night    2.0 kW, starts 22:00-01:00, lasts 2-7 hours
  oven_afternoon  1.5 kW, starts 13:00-16:00, lasts 2-4 hours

  bench/quality/inject.py --data data/household_hourly.csv --start 2009-08-01 --seed 1 --out labelled.csv
"""
import argparse
import csv
import datetime
import random

KINDS = {
    # kind: (watts, first start hour, last start hour, min hours, max hours)
    "heater_night": (2000, 22, 25, 2, 7),
    "oven_afternoon": (1500, 13, 16, 2, 4),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", help="only keep readings at or after this local date (YYYY-MM-DD)")
    p.add_argument("--every-days", type=float, default=7.0)
    a = p.parse_args()

    with open(a.data, newline="") as f:
        rows = [(r["ts"], float(r["wh"])) for r in csv.DictReader(f)]
    if a.start:
        rows = [r for r in rows if r[0] >= a.start]
    rng = random.Random(a.seed)
    when = {ts: i for i, (ts, _) in enumerate(rows)}
    wh = [w for _, w in rows]
    label = ["0"] * len(rows)

    first = datetime.datetime.fromisoformat(rows[0][0]).replace(hour=0)
    last = datetime.datetime.fromisoformat(rows[-1][0])
    period = datetime.timedelta(days=a.every_days)
    day = first
    while day + period <= last:
        kind = rng.choice(sorted(KINDS))
        watts, lo, hi, shortest, longest = KINDS[kind]
        start = day + datetime.timedelta(days=rng.randrange(int(a.every_days) - 1), hours=rng.randint(lo, hi))
        for h in range(rng.randint(shortest, longest)):
            i = when.get((start + datetime.timedelta(hours=h)).isoformat())
            if i is not None:  # a missing hour stays missing
                wh[i] += watts
                label[i] = kind
        day += period

    with open(a.out, "w") as f:
        f.write("ts,wh,label\n")
        for (ts, _), w, l in zip(rows, wh, label):
            f.write("%s,%.2f,%s\n" % (ts, w, l))


if __name__ == "__main__":
    main()
