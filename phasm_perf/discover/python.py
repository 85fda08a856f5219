"""``phasm-perf vars`` for a Python program: run it once with the observer and build the :class:`VarsReport`.

    report = discover(resolve_target("examples/optics.py"), "optics:Surface.refract", calls=64)

The program runs with phasm-perf's hook loading :mod:`._agent` (the function is swapped for a trampoline at its
definition; see there for what an observed call does). This side turns the agent's aggregate into inputs and
outputs: a variable read before it is written is an input, one written is an output, one both is ``inout`` and
listed in both; a variable whose parent is listed too is left out (``CONFIG`` read whole covers
``CONFIG['scale']``); a scalar that grew by the same step in every call is a counter, not a surrogate input.
"""

from __future__ import annotations

import statistics

from .. import __version__
from ..collect.program import Target
from ..core.errors import PhasmError, ProgramFailed
from ..core.hook.function import FunctionRef, parse_function
from ..core.hook.run import run_with_hook
from . import DEPENDENT
from .paths import parse_name
from .schema import Batching, Summary, Unresolved, Variable, VarsReport

AGENT = "phasm_perf.discover._agent"


class ObservationFailed(ProgramFailed):
    """The program exited non-zero under observation; ``report`` holds what was observed until then."""

    def __init__(self, message: str, report: VarsReport | None) -> None:
        super().__init__(message)
        self.report = report


def function_ref(target: Target, function: str) -> FunctionRef:
    if target.kind != "python":
        raise PhasmError(f"vars for a Python function needs a Python program (a .py script or `-- python ...`); "
                         f"{target.display!r} is {target.kind}")
    return parse_function(function, target.program, target.argv[0])


def discover(target: Target, function: str, *, calls: int = 64, event_loop: str | None = None,
             timeout: float | None = None, cwd: str | None = None) -> VarsReport:
    """Observe ``function`` (``MODULE:QUALNAME``) in a run of ``target``; raise a one-line :class:`PhasmError` on
    bad input, :class:`ObservationFailed` (with the partial report) when the program crashed."""
    fn = function_ref(target, function)
    spec = dict(fn.spec(), agent=AGENT, calls=calls, event_loop=event_loop)
    run = run_with_hook(target.argv, spec, what="observed", cwd=cwd, timeout=timeout, allow_failure=True)
    raw = run.report
    if not raw:
        raise ProgramFailed(f"the program ended (status {run.returncode}) without phasm-perf's report (killed by a "
                            f"signal, or os._exit?); nothing observed{_tail(run.stderr_tail)}")
    if raw.get("status") != "called" and run.returncode != 0:
        raise ProgramFailed(f"the program exited with status {run.returncode} before {fn.display} was called"
                            f"{_tail(run.stderr_tail)}")
    _check_status(raw, fn)
    report = build_report(raw, fn, list(target.argv))
    if run.returncode != 0:
        raise ObservationFailed(
            f"the program exited with status {run.returncode} under observation after {raw.get('calls', 0)} "
            f"call(s) of {fn.display}; what was observed in {raw.get('observed', 0)} of them is reported"
            f"{_tail(run.stderr_tail)}", report)
    return report


def _tail(line: str) -> str:
    return f"; last line of its stderr: {line}" if line else ""


def _check_status(raw: dict, fn: FunctionRef) -> None:
    status = raw.get("status", "")
    if raw.get("recursion"):
        r = raw["recursion"]
        caller = r.get("caller")
        instead = f" ({fn.module}:{caller})" if caller and not caller.startswith("<") else ""
        raise PhasmError(f"{fn.display} calls itself (recursion, at call {r['call']}): its calls are not independent "
                         "evaluations of one surrogate; observe the function that starts the recursion instead"
                         f"{instead}", exit_code=1)
    if status == "called":
        return
    if status == "module_not_imported":
        raise PhasmError(f"module {fn.module!r} was never imported by the program, so {fn.display} never ran "
                         "(check the module name: the script's own functions are SCRIPT_NAME:FUNCTION)", exit_code=1)
    if status == "function_not_found":
        raise PhasmError(f"unknown function: module {fn.module!r} has no {fn.qualname!r}")
    if status.startswith("not_a_python_function"):
        raise PhasmError(f"{fn.display} is a {status.split(':', 1)[1]}, not a Python function: vars observes Python "
                         "functions (for compiled code give the binary and its symbol)")
    if status == "never_called":
        raise PhasmError(f"{fn.display} was never called during the run: nothing to observe (does this input reach "
                         "it? check the program's arguments)", exit_code=1)
    raise PhasmError(f"observing {fn.display} failed: the hook reported {status or 'nothing'}", exit_code=1)


# ---- the agent's aggregate -> the report --------------------------------------------------------------------
def build_report(raw: dict, fn: FunctionRef, argv: list[str]) -> VarsReport:
    inputs, outputs, counters = _variables(raw["variables"])
    summary = _summary(inputs, outputs, counters)
    notes = _notes(raw, counters)
    return VarsReport(
        tool_version=__version__, function=fn.display, language="python", argv=argv, calls=int(raw["calls"]),
        observed_calls=int(raw["observed"]), inputs=inputs, outputs=outputs,
        unresolved=[Unresolved(**u) for u in raw.get("unresolved", [])], summary=summary,
        batching=batching(raw), effects=list(raw.get("effects", [])), notes=notes)


def _variable(v: dict, way: str, direction: str, counter: float | None) -> Variable:
    s = v[way]
    note = None
    if counter is not None:
        note = f"counter {counter:+g}/call"
    elif s.get("shape_varies"):
        note = "its shape changed between calls (the largest is shown)"
    elif s["min"] is None and s["size"]:
        note = "too large to copy: range and constancy not observed"
    kind = v["kind"]
    return Variable(name=v["name"], kind=kind, direction=direction, dtype=s["dtype"], shape=s["shape"],
                    size=s["size"], bytes=s["size"] * s["itemsize"], min=s["min"], max=s["max"],
                    constant=bool(s["constant"]) and way == "in", in_signature=v["in_signature"], counter=counter,
                    note=note)


def _variables(raw_vars: list[dict]) -> tuple[list[Variable], list[Variable], set[str]]:
    inputs, outputs, counters = [], [], set()
    for v in raw_vars:
        both = v["in"] is not None and v["out"] is not None
        if v["counter"] is not None:
            counters.add(v["name"])
        if v["in"] is not None:
            inputs.append(_variable(v, "in", "inout" if both else "in", v["counter"]))
        if v["out"] is not None:
            outputs.append(_variable(v, "out", "inout" if both else "out", v["counter"]))
    return _outermost(inputs), _outermost(outputs), counters


def _path(name: str) -> tuple:
    try:
        root, steps = parse_name(name)
    except ValueError:
        return (name,)
    return (root, *[tuple(s) if not isinstance(s[1], list) else (s[0], tuple(s[1])) for s in steps])


def _outermost(variables: list[Variable]) -> list[Variable]:
    """Leave out a variable whose parent is listed too (the parent's value contains it); order: by kind (arguments
    first, in the signature's order), then as first seen."""
    paths = {_path(v.name) for v in variables}
    keep = [v for v in variables if not any(_path(v.name)[:k] in paths for k in range(1, len(_path(v.name))))]
    order = {"argument": 0, "element": 1, "attribute": 2, "closure": 3, "global": 4, "return": 5}
    return sorted(keep, key=lambda v: order.get(v.kind, 6))  # stable: in the order first seen within a kind


def _summary(inputs: list[Variable], outputs: list[Variable], counters: set[str]) -> Summary:
    live = [v for v in inputs if not v.constant and v.name not in counters]
    outs = [v for v in outputs if v.name not in counters]
    every = sum(v.size for v in inputs)
    outside = sum(v.size for v in inputs if not v.in_signature)
    return Summary(input_size=sum(v.size for v in live), output_size=sum(v.size for v in outs),
                   input_bytes=sum(v.bytes for v in live), output_bytes=sum(v.bytes for v in outs),
                   constant_inputs=sum(v.size for v in inputs if v.constant),
                   outside_signature=outside / every if every else 0.0)


def _notes(raw: dict, counters: set[str]) -> list[str]:
    notes = list(raw.get("notes", []))
    notes.append(f"observed {raw['observed']} of {raw['calls']} calls on Python {raw.get('python')} "
                 f"({'sys.monitoring' if raw.get('backend') == 'MonitoringBackend' else 'sys.settrace'})")
    if raw.get("raised"):
        notes.append(f"{raw['raised']} observed call(s) raised an exception: their outputs are not counted")
    if raw.get("first_call_original"):
        notes.append("the function is not bound by name in its module: swapped at its first call, which ran "
                     "unobserved")
    for name in sorted(counters):
        notes.append(f"{name} is a counter: a surrogate leaves it out and bench replays its step")
    return notes


def batching(raw: dict) -> Batching:
    """Whether the calls depend on each other, and how many one iteration of the loop offers."""
    flows = raw.get("flows", [])
    pairs = int(raw.get("pairs", 0))
    it = raw.get("iterations") or {}
    groups = it.get("groups") or []
    chains = [f"{f['out']} -> {f['in']} ({f['how']}, {f['calls']} of {f['pairs']} consecutive calls)" for f in flows]
    notes = []
    if it.get("event_loop_found") is False:
        notes.append("the --event-loop function was not found above the calls: iterations are counted per caller")
    if groups:
        independent = int(statistics.median(groups))
        if min(groups) != max(groups):
            notes.append(f"calls per iteration ranged {min(groups)}-{max(groups)} over {len(groups)} iterations "
                         "(the median is given)")
    elif it.get("partial"):
        independent = int(it["partial"])
        notes.append(f"the run ended within the first iteration: at least {independent} calls")
    else:
        independent = None
    if flows:
        return Batching(dependent=True, chains=chains, independent_calls=1,
                        note="; ".join([DEPENDENT, *notes]))
    if pairs == 0:
        notes.insert(0, "fewer than two consecutive calls observed: dependence not determined")
        return Batching(dependent=None, independent_calls=independent, note="; ".join(notes))
    notes.insert(0, "no output of a call reached the next call's inputs directly (same object, same array or equal "
                    "values); an output the caller transforms before the next call is not detected")
    return Batching(dependent=False, independent_calls=independent, note="; ".join(notes))
