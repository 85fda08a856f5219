"""`hw measure` against the physical limits of this machine, in one run.

1. Bandwidth: the triad roofs `hw measure` finds (PyTorch, ``torch.add(b, c, alpha=s, out=a)``) against a compiled
   STREAM triad (C, ``gcc -O3 -march=native -fopenmp``, same thread count, best of 10, 24 bytes per element as
   STREAM counts them) at working sets that fit in L2, in L3, and far beyond it (DRAM).
2. Compute: the GEMM peak `hw measure` finds against cores x clock x FLOPs/cycle of this CPU (clock from
   /proc/cpuinfo; FLOPs/cycle from its AVX2/AVX-512 FMA flags, see ``flops_per_cycle``).

    .venv/bin/python benchmarks/hw_vs_physical.py [--threads N] [--quick]

Prints both ratios. Run it when the machine is quiet (`uptime`): on a shared machine both sides are noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from phasm_perf.hardware.measure import MeasureOptions, call_overhead, cpu_caches, cpu_info, flops_per_cycle, \
    measure, triad_bandwidth

STREAM_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]); int ntimes = atoi(argv[2]);
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)), *c = malloc(n * sizeof(double));
    #pragma omp parallel for
    for (long j = 0; j < n; j++) { a[j] = 1.0; b[j] = 2.0; c[j] = 0.5; }
    /* repeat small arrays so that one timed sample lasts long enough for the clock */
    long reps = 1 + 20000000L / n;
    double best = 1e30;
    for (int k = 0; k < ntimes; k++) {
        double t = omp_get_wtime();
        for (long r = 0; r < reps; r++) {
            #pragma omp parallel for
            for (long j = 0; j < n; j++) a[j] = b[j] + 3.0 * c[j];
            __asm__ volatile("" ::: "memory");
        }
        t = (omp_get_wtime() - t) / reps;
        if (t < best) best = t;
    }
    printf("%.6e %.6e\n", 24.0 * n / best, a[n / 2]);
    return 0;
}
"""


def stream_triad(exe: Path, ws: int, threads: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_PROC_BIND="close")
    out = subprocess.run([str(exe), str(ws // 24), "10"], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.split()[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, help="threads for both sides (default: PyTorch's default)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    gcc = shutil.which("gcc")
    if not gcc:
        print("gcc not found: the compiled STREAM triad needs it", file=sys.stderr)
        return 2
    prof = measure(MeasureOptions(quick=args.quick, threads=args.threads))
    threads = prof.measured["threads"]
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "triad.c", Path(tmp) / "triad"
        src.write_text(STREAM_C)
        subprocess.run([gcc, "-O3", "-march=native", "-fopenmp", str(src), "-o", str(exe)], check=True)
        caches = {f"L{c['level']}": c for c in cpu_caches()}
        print(f"{prof.description}; {threads} thread(s)\n")
        print("| level | working set | hw measure roof (torch) | torch triad at this set | compiled STREAM triad "
              "| roof / STREAM | torch / STREAM at this set |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        opts = MeasureOptions(threads=threads)
        overhead = call_overhead(opts)
        for lvl in prof.memory:
            if lvl.name == "L1":
                continue  # a 24 KB triad is dominated by call overhead on the framework side
            if lvl.size is None:
                ws = 4 * max(c["size"] for c in caches.values())
            else:
                prev = max([m.size for m in prof.memory if m.size and m.size < lvl.size] or [0])
                ws = int(max(prev * 1.5, lvl.size * 0.5))
            c_bw = stream_triad(exe, ws, threads)
            t_bw, _ = triad_bandwidth(ws, opts, overhead)
            print(f"| {lvl.name} | {ws / 1e6:,.2f} MB | {lvl.bandwidth / 1e9:,.1f} GB/s | {t_bw / 1e9:,.1f} GB/s | "
                  f"{c_bw / 1e9:,.1f} GB/s | {lvl.bandwidth / c_bw:.2f} | {t_bw / c_bw:.2f} |")
    info = cpu_info()
    print(f"\nclock {info['mhz']:.0f} MHz (/proc/cpuinfo), {threads} core(s)\n")
    print("| dtype | hw measure GEMM peak | cores x clock x FLOPs/cycle | FLOPs/cycle | ratio |")
    print("|---|---:|---:|---:|---:|")
    for d in ("fp64", "fp32", "bf16"):
        fpc = flops_per_cycle(info, d)
        peak = prof.peak_flops[d].value
        if not fpc or not peak or not info["mhz"]:
            continue
        theory = threads * info["mhz"] * 1e6 * fpc
        print(f"| {d} | {peak / 1e9:,.1f} GFLOP/s | {theory / 1e9:,.1f} GFLOP/s | {fpc} | {peak / theory:.2f} |")
    np_peaks = prof.measured["gemm_numpy_flops"]
    print("\nnumpy GEMM: " + ", ".join(f"{d} {v / 1e9:,.1f} GFLOP/s" for d, v in np_peaks.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
