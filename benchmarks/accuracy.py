#!/usr/bin/env python3
"""How right are phasm-perf's shares? (issue 15, item 3)

    .venv/bin/python benchmarks/accuracy.py [--skip-native]

1. Against the truth an example measures with its own timers: examples/particles.py --timings times its stages
   (boris_push, read_out, generate_event inclusive, around every call; field_at per call over a sample of positions,
   times its calls). Shares of the event loop `run`, phasm-perf's (profile with Austin, the default) beside the
   timers'. Target: within 2 points.
2. Against a second profiler on two public programs vendored in benchmarks/public (pyperformance's raytrace and
   richards, MIT): phasm-perf's inclusive share of each of the top functions beside py-spy's (a separate run, its
   raw stacks) and cProfile's (cumulative time over the run; its per-call overhead inflates functions that make
   many small calls, which the output points out). Target: within 3 points of py-spy. Each program runs about 3 s
   (raytrace 6 iterations, richards 48), so that two separate runs' sampling noise stays under the target.
3. Native (with perf): examples/shower, phasm-perf's shares beside `perf report --children` of a separate
   `perf record --call-graph dwarf`. Target: within 3 points.

Each comparison is one run of each tool; the machine's load is printed (shares are ratios, so a busy machine
disturbs them less than times, but it does).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phasm_perf import api  # noqa: E402
from phasm_perf.calltree.tree import CallTree  # noqa: E402
from phasm_perf.core.folded import read_folded  # noqa: E402


def shares(tree: CallTree, under: str | None = None) -> dict[str, float]:
    """Inclusive share by function name (of ``under``'s time if given, else of the run)."""
    df = tree.functions
    total = float(df.loc[df["name"] == under, "incl"].max()) if under else tree.total_seconds
    return {n: float(t) / total for n, t in zip(df["name"], df["incl"])}


def phasm(prog: list[str], tmp: Path, name: str, collector: str = "auto") -> CallTree:
    bundle = api.profile(prog[0], prog[1:], tmp / name, collector=collector, force=True)
    return api.call_tree(bundle)


def row(name: str, values: list[float | None]) -> str:
    cells = "".join(f"{'-' if v is None else f'{100 * v:.1f}%':>10}" for v in values)
    return f"  {name:38s}{cells}"


def examples_timers(tmp: Path) -> float:
    timings = tmp / "timings.json"
    tree = phasm([str(ROOT / "examples" / "particles.py"), "--timings", str(timings)], tmp, "particles")
    truth = json.loads(timings.read_text())
    got = shares(tree, under="run")
    print("1. examples/particles.py: shares of the event loop `run`, against the program's own timers")
    print(f"  {'function':38s}{'timers':>10}{'phasm':>10}{'diff':>10}")
    worst = 0.0
    for f in ("boris_push", "field_at", "read_out", "generate_event"):
        t, p = truth[f] / truth["run"], got.get(f, 0.0)
        worst = max(worst, abs(t - p))
        print(row(f, [t, p, abs(t - p)]))
    print(f"  largest difference {100 * worst:.1f} points (target <= 2)")
    return worst


def _qualnames(path: str) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function of a file: py-spy names frames by the code's short
    name (``fn``), Austin and phasm-perf by its qualified name (``HandlerTask.fn``)."""
    import ast

    out = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                q = prefix + child.name
                out.append((child.lineno, child.end_lineno or child.lineno, q))
                walk(child, q + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)

    walk(ast.parse(Path(path).read_text()), "")
    return out


def qualify(stacks: Counter) -> Counter:
    """py-spy's frames renamed to the qualified name of the function holding their line."""
    from phasm_perf.core.folded import make_frame, split_frame

    cache: dict[str, list] = {}
    out: Counter = Counter()
    for frames, w in stacks.items():
        new = []
        for f in frames:
            name, file, line = split_frame(f)
            if file and line and file.endswith(".py") and Path(file).exists():
                defs = cache.setdefault(file, _qualnames(file))
                inside = [d for d in defs if d[0] <= line <= d[1]]
                if inside:
                    name = max(inside, key=lambda d: d[0])[2]
            new.append(make_frame(name, file, line))
        out[tuple(new)] += w
    return out


def pyspy_tree(prog: list[str], tmp: Path) -> CallTree | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        return None
    out = tmp / "pyspy.folded"
    subprocess.run([exe, "record", "--rate", "1000", "--format", "raw", "--full-filenames", "-o", str(out), "--",
                    sys.executable, *prog], check=True, capture_output=True)
    return CallTree(qualify(read_folded(out)))


def cprofile_shares(prog: list[str]) -> dict[str, float]:
    """Cumulative time over the run's total, by function name (cProfile's own run, in this process)."""
    code = compile(Path(prog[0]).read_text(), prog[0], "exec")
    argv = sys.argv
    sys.argv = prog
    prof = cProfile.Profile()
    try:
        namespace = {"__name__": "__main__", "__file__": prog[0]}
        prof.runctx(code, namespace, namespace)
    finally:
        sys.argv = argv
    st = pstats.Stats(prof)
    total = st.total_tt
    out: Counter = Counter()
    for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in st.stats.items():
        if file == prog[0]:
            out[func] = max(out[func], ct / total)
    return dict(out)


def public(tmp: Path) -> float:
    worst_all = 0.0
    # about 3 s each: at py-spy's 1,000 samples a second a 40% share then carries about ±1.8 points of sampling
    # noise (95%), against ±4.4 at the 0.5 s of one iteration (raytrace 1, richards 8), which is the whole target
    for script, args in (("raytrace.py", ["6"]), ("richards.py", ["48"])):
        prog = [str(ROOT / "benchmarks" / "public" / script), *args]
        ours = shares(phasm(prog, tmp, script))
        spy_tree = pyspy_tree(prog, tmp)
        spy = shares(spy_tree) if spy_tree is not None else {}
        cprof = cprofile_shares(prog)
        top = [n for n, _ in sorted(((n, s) for n, s in ours.items() if n.split(".")[-1] in
                                     {k.split(".")[-1] for k in cprof}), key=lambda t: -t[1])
               if n not in ("<module>",)][:6]
        print(f"2. benchmarks/public/{script} {' '.join(args)}: inclusive shares of the run")
        print(f"  {'function':38s}{'phasm':>10}{'py-spy':>10}{'cProfile':>10}{'|ph-spy|':>10}")
        worst = 0.0
        for n in top:
            c = cprof.get(n.split(".")[-1])
            s = spy.get(n)
            d = abs(ours[n] - s) if s is not None else None
            worst = max(worst, d or 0.0)
            print(row(n, [ours[n], s, c, d]))
        print(f"  largest difference from py-spy {100 * worst:.1f} points (target <= 3); cProfile's overhead per "
              "call inflates functions that make many small calls")
        worst_all = max(worst_all, worst)
    return worst_all


def perf_children(binary: Path, args: list[str], tmp: Path) -> dict[str, float]:
    data = tmp / "perf.data"
    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "--call-graph", "dwarf", "-o", str(data), "--",
                    str(binary), *args], check=True, capture_output=True)
    rep = subprocess.run(["perf", "report", "--children", "--stdio", "-g", "none", "-i", str(data)],
                         capture_output=True, text=True, check=True).stdout
    out: dict[str, float] = {}
    for line in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\S+\s+\S+\s+\[\.\]\s+(.+?)\s*$", line)
        if m:
            name = re.sub(r"\(.*$", "", m.group(3)).strip()
            out[name] = max(out.get(name, 0.0), float(m.group(1)) / 100)
    return out


def native(tmp: Path) -> float | None:
    shower = ROOT / "examples" / "shower" / "shower"
    if shutil.which("perf") is None or not shower.exists():
        print("3. native: skipped (no perf, or examples/shower not built)")
        return None
    args = ["60", "150", "0"]
    tree = phasm([str(shower), *args], tmp, "shower", collector="perf")
    on = CallTree(tree.on_cpu, seconds_per_unit=tree.seconds_per_unit)   # perf report counts on-CPU samples
    ours = shares(on)
    theirs = perf_children(shower, args, tmp)
    print("3. examples/shower 60 150 0: on-CPU inclusive shares, phasm-perf against `perf report --children`")
    print(f"  {'function':38s}{'phasm':>10}{'perf':>10}{'diff':>10}")
    worst = 0.0
    for n in ("sim::run_events", "sim::transport", "phys::shower::GammaProfile<double>::deposit",
              "phys::FieldMap::operator()"):
        p, q = ours.get(n), theirs.get(n) or theirs.get(n.removesuffix("()"))
        d = abs(p - q) if p is not None and q is not None else None
        worst = max(worst, d or 0.0)
        print(row(n, [p, q, d]))
    print(f"  largest difference {100 * worst:.1f} points (target <= 3)")
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-native", action="store_true")
    args = ap.parse_args()
    with open("/proc/loadavg") as fh:
        print(f"load average: {fh.read().split()[0]}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        a = examples_timers(tmp)
        b = public(tmp)
        c = None if args.skip_native else native(tmp)
    ok = a <= 0.02 and b <= 0.03 and (c is None or c <= 0.03)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
