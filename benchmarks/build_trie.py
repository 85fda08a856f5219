"""``calltree.encoded.build_trie`` against the same function at another git revision, in one run, interleaved.

Random stacks (depths 3..30 over 2,000 names, two columns of weights), built into the trie unmerged and merged at
1e-4 of the total weight. Both versions must give the same arrays (checked); the CPU time of each (process time:
less disturbed by other processes than wall time on a shared machine) is printed as the median of the rounds, with
the range, and the ratio current/revision.

    .venv/bin/python benchmarks/build_trie.py --against 306fed0 --stacks 200000 --rounds 15
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from phasm_perf.calltree import encoded as current


def load_revision(rev: str):
    src = subprocess.run(["git", "show", f"{rev}:phasm_perf/calltree/encoded.py"], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    path = Path(tempfile.mkdtemp()) / "encoded_at_revision.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("encoded_at_revision", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def random_table(n: int, seed: int = 1) -> current.StackTable:
    rng = np.random.default_rng(seed)
    names = [f"f{i}" for i in range(2000)]
    on, off = Counter(), Counter()
    for i in range(n):
        stack = tuple(names[j] for j in rng.integers(0, 2000, rng.integers(3, 31)))
        (on if i % 3 else off)[stack] += int(rng.integers(1, 100))
    return current.StackTable.from_counters([on, off])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", default="HEAD", help="git revision to compare with (default HEAD)")
    ap.add_argument("--stacks", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    old = load_revision(args.against)
    table = random_table(args.stacks)
    for min_weight in (0.0, float(table.weights.sum()) * 1e-4):
        a, b = old.build_trie(table, min_weight), current.build_trie(table, min_weight)
        for f in ("parent", "frame", "depth", "incl", "excl", "merged"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), f
        assert a.merged_paths == b.merged_paths
        times: dict[str, list[float]] = {"revision": [], "current": []}
        for r in range(args.rounds):
            pair = [("revision", old), ("current", current)]
            for name, mod in pair if r % 2 else pair[::-1]:
                t = time.process_time()
                mod.build_trie(table, min_weight)
                times[name].append(time.process_time() - t)
        o, n = (statistics.median(times[k]) for k in ("revision", "current"))
        print(f"min_weight {min_weight:g} ({len(b)} nodes): {args.against} {o * 1e3:.0f} ms "
              f"[{min(times['revision']) * 1e3:.0f}-{max(times['revision']) * 1e3:.0f}], current {n * 1e3:.0f} ms "
              f"[{min(times['current']) * 1e3:.0f}-{max(times['current']) * 1e3:.0f}], current/{args.against} "
              f"{n / o:.3f}")


if __name__ == "__main__":
    main()
