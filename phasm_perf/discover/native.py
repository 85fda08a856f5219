"""``phasm-perf vars`` for a compiled function: types from DWARF, reads and writes from a traced run.

    report = discover(target, "fmap::FieldMap::lookup", NativeVarsOptions(calls=20))

The function's parameters, return type and the program's globals come from DWARF (:mod:`.dwarf`). The program runs
unmodified under Frida (:mod:`phasm_perf.native.frida_run` with ``agents/trace.js``): the first ``calls`` calls are
followed instruction by instruction (Stalker) and every memory access of the function and its callees is recorded
with the value it read. Each access is then attributed to a variable (:mod:`.regions`): what a pointer or reference
parameter points to, a member through ``this``, what a pointer member points to, a global or static. The function's
own stack frame and the constants of the code and of libraries are not variables. What cannot be attributed is listed
as unresolved with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..collect.program import Target
from ..core.errors import PhasmError
from ..native.frida_run import run_agent
from . import regions as R
from .variables import batching, resolve
from .abi import ArgLoc, RetLoc, locate
from .dwarf import BinaryInfo, Function, find_function, read_binary
from .libraries import user_libraries
from .schema import Summary, VarsReport


@dataclass
class NativeVarsOptions:
    calls: int = 20                  # calls traced in detail (every memory access)
    timeout: float | None = None
    inputs: list[str] = field(default_factory=list)   # --input 'hits:double[n]'
    outputs: list[str] = field(default_factory=list)  # --output 'layers:double[48]'


@dataclass
class Located:
    """The function, the binary that holds it, where its arguments are."""

    info: BinaryInfo
    fn: Function
    args: list[ArgLoc]
    ret: RetLoc


def locate_function(target: Target, spec: str) -> Located:
    """Find ``spec`` in the executable or one of the user's shared libraries (before the program runs)."""
    exe = target.program or Path(target.argv[0])
    if not exe.is_file():
        raise PhasmError(f"{target.argv[0]} is not a file: give the path of the compiled program")
    infos = [read_binary(exe)]
    errors = []
    for lib in user_libraries(exe):
        try:
            infos.append(read_binary(lib))
        except PhasmError as exc:
            errors.append(str(exc))
    first_error = None
    for info in infos:
        try:
            fn = find_function(info, spec)
        except PhasmError as exc:
            if "no function" not in str(exc):
                raise
            first_error = first_error or exc
            continue
        args, ret = locate(fn)
        return Located(info, fn, args, ret)
    raise first_error  # type: ignore[misc]


def native_argv(target: Target) -> list[str]:
    exe = target.program or Path(target.argv[0])
    return [os.path.abspath(exe), *target.argv[1:]]


def trace_params(loc: Located, calls: int) -> dict:
    snaps = R.snapshot_requests(loc.args)
    return {"module": str(loc.info.path.resolve()), "offset": loc.info.runtime_offset(loc.fn.low_pc or 0),
            "traceCalls": calls, "args": [a.as_param() for a in loc.args], "ret": loc.ret.as_param(),
            "snapshots": [s for s, _ in snaps]}


def discover(target: Target, spec: str, opts: NativeVarsOptions) -> VarsReport:
    return discover_all(target, spec, opts)[0]


def discover_all(target: Target, spec: str, opts: NativeVarsOptions):
    """The report, and what bench needs besides: the located function and the resolved inputs and outputs
    (each with how the function reaches it)."""
    loc = locate_function(target, spec)
    overrides = R.parse_overrides(opts.inputs, "in") + R.parse_overrides(opts.outputs, "out")
    R.check_overrides(overrides, loc.args)
    argv = native_argv(target)
    run = run_agent(argv, "trace.js", trace_params(loc, opts.calls), timeout=opts.timeout)
    calls = run.of_type("call")
    total = _total_calls(run)
    notes = []
    if run.crashed:
        notes.append(f"the program crashed under instrumentation ({run.crashed}); what was seen before is kept")
    if not run.of_type("ready"):
        raise PhasmError(f"{loc.fn.qualname} was never reached: its module {loc.info.path.name} was not loaded", 1)
    if not calls:
        if run.crashed:
            raise PhasmError(f"the program crashed under instrumentation ({run.crashed}) before "
                             f"{loc.fn.qualname} was called", 1)
        raise PhasmError(f"{loc.fn.qualname} was never called in this run of {target.display} (exit status "
                         f"{run.exit_status}): give arguments that reach it", 1)
    ready = run.of_type("ready")[0]
    ctx = R.Context(loc.fn, loc.args, loc.ret, loc.info, int(ready["base"], 16), overrides)
    modules = [(int(b, 16), int(s)) for b, s in ready.get("modules", [])]
    found = R.attribute_calls(ctx, calls, modules)
    res_in, res_out, unresolved = resolve(found)
    inputs, outputs = [r.var for r in res_in], [r.var for r in res_out]
    unresolved += found.unresolved
    notes += found.notes
    report = VarsReport(tool_version=__version__, function=loc.fn.qualname, language="native", argv=list(target.argv),
                      calls=total, observed_calls=len(calls), inputs=inputs, outputs=outputs,
                      unresolved=unresolved, summary=summarise(inputs, outputs), batching=batching(found),
                      notes=notes + [f"signature: {loc.fn.signature}", f"binary: {loc.info.path}"])
    return report, loc, res_in, res_out


def _total_calls(run) -> int:
    for kind in ("exit", "crash"):
        for m in run.of_type(kind):
            return int(m.get("calls") or 0)
    return len(run.of_type("call"))


def summarise(inputs, outputs) -> Summary:
    live = [v for v in inputs if not v.constant]
    const = sum(v.size for v in inputs if v.constant)
    size_in = sum(v.size for v in live)
    outside = sum(v.size for v in live if not v.in_signature)
    return Summary(input_size=size_in, output_size=sum(v.size for v in outputs),
                   input_bytes=sum(v.bytes for v in live), output_bytes=sum(v.bytes for v in outputs),
                   constant_inputs=const, outside_signature=(outside / size_in) if size_in else 0.0)
