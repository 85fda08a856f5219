"""Hardware profiles: list the shipped ones, show one with the source of every figure, or measure this machine.

`hw measure` writes an empirical roofline of this machine (GEMM peak per dtype, a triad bandwidth sweep that finds
the cache levels, the framework's per-call cost) in the same format; `--hardware local` uses it."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from typing import TYPE_CHECKING

from ..core.units import fmt_bandwidth, fmt_bytes, fmt_flops, fmt_seconds
from ..core.errors import PhasmError
from ..model.spec import DTYPES, MEASURED_RUNTIMES as DEFAULT_RUNTIMES, RUNTIMES, parse_runtime
from ..core.output import check_output, write_output
from ._common import stderr, whole_number

if TYPE_CHECKING:
    from ..hardware import HardwareProfile

NAME = "hw"
HELP = "list, show or measure hardware profiles"


def prepare_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="hw_command", metavar="ACTION")
    ls = sub.add_parser("list", help="the shipped profiles (and this machine's, once measured)")
    ls.add_argument("--format", choices=["table", "json"], default="table")
    show = sub.add_parser("show", help="one profile, every figure with its source")
    show.add_argument("name", metavar="NAME", help="a profile name, 'local', or a YAML file")
    show.add_argument("--format", choices=["table", "yaml", "json"], default="table")
    m = sub.add_parser("measure", help="measure this machine and write its profile (the 'local' hardware)")
    m.add_argument("-o", "--output", metavar="FILE",
                   help="where to write it (default: $PHASM_PERF_LOCAL_PROFILE, else "
                        "~/.cache/phasm-perf/local.yaml, under $XDG_CACHE_HOME when set)")
    m.add_argument("--quick", action="store_true", help="a few seconds, smaller problems (noisier roofs)")
    m.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="what to measure (default cpu)")
    m.add_argument("--threads", type=whole_number(), metavar="N", help="PyTorch threads (default: PyTorch's choice)")
    m.add_argument("--runtimes", type=_runtimes, default=DEFAULT_RUNTIMES, metavar="LIST",
                   help=f"runtimes to measure, comma-separated, or all (default {','.join(DEFAULT_RUNTIMES)}; "
                        "compile adds about 30 s; aoti runs from C++ and is not measured here)")
    m.add_argument("--retries", type=int, default=2, metavar="N",
                   help="measure a step again up to N times when it was disturbed or inconsistent, while the new "
                        "attempt would end within 90 s of the start (default 2)")


def _runtimes(text: str) -> tuple[str, ...]:
    """``--runtimes eager,export`` (or ``all``: every runtime hw measure can time)."""
    if text.strip().lower() == "all":
        return tuple(r for r in RUNTIMES if r not in ("aoti", "native"))
    try:
        out = tuple(dict.fromkeys(parse_runtime(t) for t in text.split(",") if t.strip()))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if "aoti" in out:
        raise argparse.ArgumentTypeError("aoti runs from C++: hw measure cannot time it (measure the others)")
    if "native" in out:
        raise argparse.ArgumentTypeError("native: hw measure times the native runtime on its own where Frida and g++ "
                                         "are (the profile's native section); leave it out of --runtimes")
    return out or DEFAULT_RUNTIMES


def _console() -> Console:
    c = Console(highlight=False)
    return c if c.is_terminal else Console(highlight=False, width=160)


def render_profile(p: "HardwareProfile", console: Console) -> None:
    console.print(f"[bold]{escape(p.name)}[/] ({p.kind}): {escape(p.description)}")
    t = Table(show_header=True, header_style="bold", title_justify="left")
    for col in ("figure", "value", "source"):
        t.add_column(col, overflow="fold")
    for d in DTYPES:
        f = p.peak_flops.get(d)
        if f:
            t.add_row(f"peak {d}", fmt_flops(f.value) if f.value else "none", escape(f.source))
    for lvl in p.memory:
        t.add_row(f"memory {escape(lvl.name)}", f"{fmt_bytes(lvl.size) if lvl.size else 'all'} @ {fmt_bandwidth(lvl.bandwidth)}", escape(lvl.source))
    if p.link:
        t.add_row(f"link {escape(p.link.name)}", f"{fmt_bandwidth(p.link.bandwidth)}, {fmt_seconds(p.link.latency)}",
                  escape(p.link.source))
    else:
        t.add_row("link", "none (runs on the host)", "")
    t.add_row("kernel launch", fmt_seconds(p.launch_latency.value), escape(p.launch_latency.source))
    t.add_row("framework dispatch", fmt_seconds(p.dispatch.value), escape(p.dispatch.source))
    if p.in_program:
        t.add_row("in-program call", f"+{fmt_seconds(p.in_program.seconds)} (cold caches {fmt_seconds(p.in_program.cold_cache)}, "
                                     f"marshalling {fmt_seconds(p.in_program.marshal)}; "
                                     f"+{p.in_program.marshal_per_number * 1e9:.3g} ns per number of each further row)", escape(p.in_program.source))
    for name, rc in p.runtimes.items():
        t.add_row(f"runtime {name}", f"{fmt_seconds(rc.forward)} per forward, {fmt_seconds(rc.per_kernel)} per kernel",
                  escape(rc.source))
    if p.tables:
        for dt, lt in p.tables.linear.items():
            t.add_row(f"table linear {dt}", f"{len(lt.seconds)} points ({len(lt.batches)} batches x "
                                            f"{len(lt.inputs)} x {len(lt.outputs)} widths)", escape(lt.source))
        for dt, at in p.tables.activation.items():
            t.add_row(f"table activation {dt}", f"{', '.join(at.seconds)} at {len(at.elements)} sizes",
                      escape(at.source))
        if p.tables.fresh_pages:
            fp = p.tables.fresh_pages
            t.add_row("fresh pages", f"{fp.seconds_per_byte * 1e12:.3g} ps/B from {fmt_bytes(fp.from_bytes)}",
                      escape(fp.source))
    if p.native:
        n = p.native
        t.add_row("native surrogate call", f"runtime {n.runtime}: {fmt_seconds(n.dispatch)} + FLOPs at "
                                           f"{fmt_flops(n.flops)}; interception {fmt_seconds(n.call)}, "
                                           f"{fmt_seconds(n.marshal_per_number)} per number", escape(n.source))
    t.add_row("achievable", f"compute {p.achievable.compute:.0%}, memory {p.achievable.memory:.0%}",
              escape(p.achievable.source))
    if p.speed_probe:
        sp = p.speed_probe
        t.add_row("speed probe", f"{fmt_seconds(sp.p10)} at the fast speed (10th percentile), median "
                                 f"{fmt_seconds(sp.seconds)}, 90th {fmt_seconds(sp.p90)} ({sp.samples} groups)",
                  escape(f"between the groups of the tables, runtimes and in-program steps: {sp.forward}"))
    console.print(t)
    if p.quality:
        for f in p.quality.flags:
            console.print(f"[bold]flagged[/] {escape(f.figure)}: {escape(f.reason)}")
    if p.measured and "cuda" in p.measured:
        console.print(f"cuda: {escape(str(p.measured['cuda']))}")
    for n in p.notes:
        console.print(f"note: {escape(n)}")


def _list(args) -> int:
    from ..hardware import available, load, local_path  # pydantic, yaml: not for `--help` (start-up time)

    names = available()
    profiles = [load(n) for n in names]
    local = local_path()
    unreadable = None
    if local.exists():
        try:
            profiles.append(load("local"))
        except PhasmError as exc:  # a cache from another version: listed as such, measured again when used
            unreadable = str(exc)
    if args.format == "json":
        import json

        rows = [{"name": p.name, "kind": p.kind, "description": p.description,
                 "peak_flops": {d: f.value for d, f in p.peak_flops.items()},
                 "main_memory_bandwidth": p.main_memory().bandwidth} for p in profiles]
        write_output(json.dumps(rows, indent=2) + "\n", None)
        return 0
    t = Table(title="Hardware profiles (peaks dense, from datasheets; 'local' measured)", title_justify="left")
    for col, j in (("name", "left"), ("kind", "left"), ("fp32", "right"), ("bf16/fp16", "right"),
                   ("memory", "right"), ("link", "left"), ("description", "left")):
        t.add_column(col, justify=j)
    for p in profiles:
        half = max((p.peak_flops[d].value or 0) for d in ("bf16", "fp16") if d in p.peak_flops) \
            if any(d in p.peak_flops for d in ("bf16", "fp16")) else 0
        t.add_row(p.name, p.kind, fmt_flops(p.peak_flops.get("fp32").value if "fp32" in p.peak_flops else None),
                  fmt_flops(half), fmt_bandwidth(p.main_memory().bandwidth),
                  escape(f"{p.link.name} {fmt_bandwidth(p.link.bandwidth)}") if p.link else "-", escape(p.description))
    c = _console()
    c.print(t)
    if not local.exists():
        c.print("[dim]local: not measured yet (phasm-perf hw measure)[/]")
    elif unreadable:
        c.print(f"[dim]local: the cached profile cannot be read ({escape(unreadable)}); `--hardware local` measures "
                "it again[/]")
    return 0


def _show(args) -> int:
    from ..hardware import dump, load  # pydantic, yaml: not for `--help` (start-up time)

    p = load(args.name)
    if args.format == "yaml":
        write_output(dump(p), None)
    elif args.format == "json":
        write_output(p.model_dump_json(indent=2) + "\n", None)
    else:
        render_profile(p, _console())
    return 0


def _measure(args) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..hardware import local_path
    from ..hardware.measure import MeasureOptions, measure_and_save

    dest = args.output or str(local_path())
    if args.output:
        check_output(dest)
    opts = MeasureOptions(quick=args.quick, device=args.device, threads=args.threads, runtimes=args.runtimes,
                          retries=max(0, args.retries))
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=stderr, transient=True) as progress:
        task = progress.add_task("measuring", total=1.0)
        prof = measure_and_save(dest, opts, on_progress=lambda what, frac: progress.update(
            task, completed=frac, description=what))
    prof = _measure_native(dest, prof)
    render_profile(prof, _console())
    stderr.print(f"phasm-perf: wrote {dest} in {prof.measured.get('seconds', 0):.1f} s"
                 + ("" if args.output else " (the 'local' hardware)"))
    flags = prof.quality.flags if prof.quality else []
    if flags:
        stderr.print(f"phasm-perf: {len(flags)} figure(s) flagged as unreliable (predictions made with them say so); "
                     "measure again when the machine is quiet:")
        for f in flags:
            stderr.print(f"  {escape(f.figure)}: {escape(f.reason)}", highlight=False)
    return 0


def _measure_native(dest: str, prof):
    """The native surrogate runtime's in-program costs, where Frida and a C++ compiler are (else said, skipped)."""
    import importlib.util
    import shutil

    from .. import api
    if importlib.util.find_spec("frida") is None or importlib.util.find_spec("elftools") is None:
        stderr.print("[dim]phasm-perf: native runtime costs not measured (pip install 'phasm-perf[native]')[/]")
        return prof
    if not shutil.which("g++") or not shutil.which("gcc"):
        stderr.print("[dim]phasm-perf: native runtime costs not measured (no gcc/g++)[/]")
        return prof
    try:
        return api.ensure_native_costs(lambda m: stderr.print(f"[dim]phasm-perf: {m}[/]"), dest, force=True)
    except PhasmError as exc:
        stderr.print(f"[dim]phasm-perf: native runtime costs not measured: {escape(str(exc))}[/]")
        return prof


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "hw_command", None)
    if action == "list":
        return _list(args)
    if action == "show":
        return _show(args)
    if action == "measure":
        return _measure(args)
    raise PhasmError("hw needs an action: list, show NAME, or measure")
