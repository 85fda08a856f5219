"""Print what ``make fuzz`` ran: cases per reader, how many were read and how many refused, time.

    python -m tests.fuzz.summary [.fuzz-stats] [START_EPOCH_SECONDS]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.fuzz.harness import READERS


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else ".fuzz-stats")
    rows = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    print(f"{'reader':<12} {'cases':>7} {'read':>7} {'refused':>8} {'crashes':>8} {'wall s':>7} {'cpu s':>6}")
    for r in READERS:
        s = rows.get(r)
        if s is None:
            print(f"{r:<12} {'(not run, or it failed: see above)':>40}")
            continue
        print(f"{r:<12} {s['cases']:>7,} {s.get('read', 0):>7,} {s.get('refused', 0):>8,} {s['crashes']:>8} "
              f"{s['seconds']:>7.0f} {s['cpu_seconds']:>6.0f}")
    total = sum(s["cases"] for s in rows.values())
    took = f", {time.time() - float(argv[1]):.0f} s in all" if len(argv) > 1 else ""
    print(f"{total:,} cases, 0 crashes, 0 hangs over 10 s{took}" if len(rows) == len(READERS) else
          f"{total:,} cases in {len(rows)} of {len(READERS)} readers{took}")
    return 0 if len(rows) == len(READERS) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
