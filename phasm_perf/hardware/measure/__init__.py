"""``hw measure``: this machine, measured into a hardware profile (the format of the shipped ones).

- :mod:`.gemm`        peak FLOP/s per dtype (square matrix products)
- :mod:`.bandwidth`   the memory roofs (a triad sweep over working sets; cache sizes from sysfs)
- :mod:`.tables`      cost tables: ``F.linear`` over batch x inputs x outputs, each activation over element counts
- :mod:`.dispatch`    what each runtime adds per forward and per kernel
- :mod:`.in_program`  cold caches and marshalling: what a forward costs inside a program
- :mod:`.checks`      load, spread and consistency: measured again, or flagged with the reason
- :mod:`.cuda`        the same on a CUDA device (through a backend; tested with a fake)

No printing here: progress goes through the ``on_progress`` callback.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...core.errors import PhasmError
from ...core.output import check_output, output_error, write_output
from ..profile import HardwareProfile, dump
from .assemble import assemble
from .bandwidth import group_levels, triad_sizes
from .cpu import cpu_caches, cpu_info, flops_per_cycle, parse_cpu_list, parse_size
from .cpu_profile import run_steps
from .cuda import TorchCuda, measure_cuda
from .in_program import in_program_cost
from .options import DEFAULT_RUNTIMES, MeasureOptions, Progress
from .timing import best_time, fit_line, usable_cores

__all__ = ["MeasureOptions", "DEFAULT_RUNTIMES", "measure", "measure_and_save", "best_time", "fit_line",
           "cpu_caches", "cpu_info", "flops_per_cycle", "parse_cpu_list", "parse_size", "group_levels",
           "triad_sizes", "usable_cores", "expected_seconds"]


def expected_seconds(opts: MeasureOptions) -> int:
    """About how long :func:`measure` takes on a quiet 2-core machine (the layer tables at the largest batches
    dominate: 46-47 s measured on a 2-core EPYC VM, fp32 and bf16 at two threads, the fp32 table 23 s, the bf16 one
    12 s)."""
    if opts.quick:
        return 15
    return 15 + 18 * len(opts.dtypes) + (30 if "compile" in opts.runtimes else 0)


def _cuda_status(torch) -> str:
    if not torch.version.cuda:
        return f"unavailable (torch {torch.__version__} is a CPU-only build)"
    if not torch.cuda.is_available():
        return "unavailable (no CUDA device visible)"
    return f"available ({torch.cuda.get_device_name(0)}); measure it with --device cuda"


def measure(opts: MeasureOptions = MeasureOptions(), on_progress: Progress | None = None) -> HardwareProfile:
    """Measure this machine and return its profile (nothing is written)."""
    try:
        import torch
    except ImportError:
        raise PhasmError("hw measure needs PyTorch: pip install 'phasm-perf[bench]'") from None
    say = on_progress or (lambda what, frac: None)
    unknown = [r for r in opts.runtimes if r in ("aoti", "native")]
    if unknown:
        raise PhasmError(f"hw measure cannot time the {unknown[0]} runtime here (it runs from C++): measure the other "
                         "runtimes")
    if opts.device != "cpu":
        if not torch.cuda.is_available():
            raise PhasmError(f"--device {opts.device}: no CUDA device is visible to PyTorch "
                             f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA)")
        return measure_cuda(opts, say, TorchCuda(torch, opts),  # pragma: no cover
                            in_program=lambda: in_program_cost(opts, 4 << 20))
    if opts.threads:
        torch.set_num_threads(opts.threads)
    threads = min(usable_cores(), torch.get_num_threads())
    return assemble(run_steps(opts, say, threads), opts.quick, torch.__version__, _cuda_status(torch))


def measure_and_save(path: str | os.PathLike, opts: MeasureOptions = MeasureOptions(),
                     on_progress: Progress | None = None) -> HardwareProfile:
    """Measure and write the profile to ``path`` (its folder is created; written by :mod:`phasm_perf.core.output`)."""
    dest = Path(path).expanduser()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(dest, exc) from None
    check_output(dest)
    prof = measure(opts, on_progress)
    write_output(dump(prof), dest)
    return prof
