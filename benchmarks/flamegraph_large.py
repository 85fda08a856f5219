"""Benchmark: a 1,000,000-line folded profile (random stacks 3-30 deep over 2,000 function names, 237 MB) read into
the call tree and written as the interactive HTML flame graph, against FlameGraph's flamegraph.pl on the same file
in the same run (vendored in benchmarks/vendor/FlameGraph, CDDL). Targets: >= 10x faster, under 1 GB.

    .venv/bin/python benchmarks/flamegraph_large.py              # generates /tmp/phasm-bench/random-1000000.folded once
    .venv/bin/python benchmarks/flamegraph_large.py --lines 100000 --dir /tmp/small
    .venv/bin/python benchmarks/flamegraph_large.py --no-flamegraph-pl   # phasm-perf alone

Prints the time of each step, the total, flamegraph.pl's time and peak memory, the ratio, and phasm-perf's peak
resident memory (ru_maxrss). As
`phasm-perf flamegraph` does by default, the page outlines the ranked surrogate candidates (`rank`'s filters over
every stack; skipped by default above 2,000,000 distinct stacks); --no-candidates times the flame graph alone.
The big files live under --dir (default /tmp/phasm-bench), never in the repository.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FLAMEGRAPH_PL = Path(__file__).parent / "vendor" / "FlameGraph" / "flamegraph.pl"
TARGET_RATIO = 10.0
TARGET_MB = 1024.0


def run_flamegraph_pl(src: Path, out: Path) -> tuple[float, float] | None:
    """flamegraph.pl's wall time and peak RSS (MB, from /usr/bin/time or the children's rusage); None: no perl."""
    perl = shutil.which("perl")
    if perl is None:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    with open(src, "rb") as fin, open(out, "wb") as fout:
        subprocess.run([perl, str(FLAMEGRAPH_PL)], stdin=fin, stdout=fout, stderr=subprocess.DEVNULL, check=True)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024.0


def function_names(n: int, rng: np.random.Generator) -> list[str]:
    syll = ["calc", "step", "flux", "grid", "part", "init", "solve", "mesh", "adv", "rhs", "io", "bc", "kern"]
    return [f"{syll[i % len(syll)]}_{rng.choice(syll)}_{i:04d}" for i in range(n)]


def generate(path: Path, lines: int, names: int = 2000, seed: int = 1) -> None:
    """Random stacks, depths uniform in 3..30, counts 1..99, written in chunks (bounded memory)."""
    rng = np.random.default_rng(seed)
    fn = function_names(names, rng)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        done = 0
        while done < lines:
            n = min(100_000, lines - done)
            depth = rng.integers(3, 31, n)
            ids = rng.integers(0, names, (n, 30))
            counts = rng.integers(1, 100, n)
            fh.write("".join(";".join([fn[j] for j in row[:d]]) + f" {c}\n"
                             for row, d, c in zip(ids.tolist(), depth.tolist(), counts.tolist())))
            done += n
    tmp.replace(path)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--dir", default="/tmp/phasm-bench")
    ap.add_argument("--regenerate", action="store_true")
    cand = ap.add_mutually_exclusive_group()
    cand.add_argument("--candidates", dest="with_candidates", action="store_true", default=None,
                      help="rank and outline the candidates whatever the size (as `flamegraph --candidates`)")
    cand.add_argument("--no-candidates", dest="with_candidates", action="store_false",
                      help="never rank them (as `flamegraph --no-candidates`)")
    ap.add_argument("--no-flamegraph-pl", dest="pl", action="store_false", help="do not run flamegraph.pl")
    args = ap.parse_args(argv)
    from phasm_perf import api
    from phasm_perf.core.output import write_output

    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    src = d / f"random-{args.lines}.folded"
    if args.regenerate or not src.exists():
        t = time.perf_counter()
        generate(src, args.lines)
        print(f"generated {src} ({src.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
    out = d / f"random-{args.lines}.html"
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    bundle = api.load_profile(src)
    t1 = time.perf_counter()
    tree = api.call_tree(bundle)
    fns = tree.functions
    t2 = time.perf_counter()
    text, notes = api.flamegraph(bundle, "html", tree=tree, candidates=args.with_candidates)
    write_output(text, str(out))
    t3 = time.perf_counter()
    m = re.search(r'"merged":(\d+)', text)
    frames = text.count(",", text.index('"parent":['), text.index('],"name":')) + 1
    total = t3 - t0
    print(f"input: {src} ({src.stat().st_size / 1e6:.0f} MB, {args.lines:,} lines, {len(fns):,} functions)")
    print(f"read {t1 - t0:.1f} s, call tree {t2 - t1:.1f} s, html {t3 - t2:.1f} s ({out.stat().st_size / 1e6:.1f} MB, "
          f"{frames:,} frames drawn, {int(m.group(1)) if m else 0:,} call paths merged below the width threshold)"
          + ("; candidates ranked" if '"ranked":true' in text else "; candidates not ranked"))
    rss = peak_rss_mb()
    print(f"phasm-perf: total {total:.1f} s, peak RSS {rss:.0f} MB (before reading: {rss0:.0f} MB)")
    for n in notes:
        print(f"note: {n}")
    ok = rss <= TARGET_MB
    if args.pl:
        got = run_flamegraph_pl(src, d / f"random-{args.lines}.pl.svg")
        if got is None:
            print("flamegraph.pl: not run (no perl)")
        else:
            pl_s, pl_mb = got
            ratio = pl_s / total if total else float("inf")
            print(f"flamegraph.pl: {pl_s:.1f} s, peak RSS {pl_mb:.0f} MB")
            print(f"ratio: phasm-perf is {ratio:.1f}x faster (target >= {TARGET_RATIO:g}x), "
                  f"{pl_mb / rss:.1f}x less memory (target < {TARGET_MB:.0f} MB)")
            ok = ok and ratio >= TARGET_RATIO
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
