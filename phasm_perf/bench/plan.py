"""What the surrogate reads, writes and replays, from what ``phasm-perf vars`` found, and what bench refuses.

- inputs: every discovered input that varies (constants are left out, and said: the surrogate is valid only at
  their values); inputs that are not numbers are skipped, with the reason
- outputs: every discovered output (the return value, arrays written in place, attributes, globals)
- counters: a global or attribute stepped by the same amount in every call, replayed after each surrogate call
- refused: a function with effects a surrogate cannot reproduce (it prints, writes files, returns an object it
  allocates) or an output that is not numbers
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import PhasmError
from ..discover.schema import Variable, VarsReport

_ROOTS = {"return": "return", "global": "global", "closure": "cell"}


def root_of(v: Variable) -> str:
    """Where the variable's root lives: ``arg``, ``global``, ``cell`` or ``return``."""
    return _ROOTS.get(v.kind, "arg")


@dataclass
class Plan:
    inputs: list[dict]  # [{"name", "root"}], in the order the surrogate reads them
    outputs: list[dict]  # [{"name", "root"}]
    counters: list[dict] = field(default_factory=list)  # [{"name", "root", "step"}]
    dropped: list[str] = field(default_factory=list)  # constant inputs left out
    skipped: list[dict] = field(default_factory=list)  # [{"name", "reason"}]: inputs that are not numbers

    def spec(self) -> dict:
        return {"inputs": self.inputs, "outputs": self.outputs}


def plan(report: VarsReport) -> Plan:
    """The surrogate's variables; a one-line :class:`PhasmError` when bench cannot reproduce the function."""
    fn = report.function
    if report.effects:
        raise PhasmError(f"{fn} has effects a surrogate cannot reproduce: {'; '.join(report.effects)}; bench "
                         "refuses it (swap the numeric kernel it calls instead; `phasm-perf vars` lists what it "
                         "does)")
    bad = [u for u in report.unresolved if u.kind == "return" or u.reason.startswith("written")]
    if bad:
        u = bad[0]
        what = "returns something that is not numeric" if u.kind == "return" else f"writes {u.name}"
        raise PhasmError(f"{fn} {what} ({u.reason}): a surrogate produces numbers only; bench refuses it")
    counters = [{"name": v.name, "root": root_of(v), "step": v.counter}
                for v in report.outputs if v.counter is not None]
    counted = {c["name"] for c in counters}
    inputs = [{"name": v.name, "root": root_of(v)} for v in report.inputs
              if not v.constant and v.name not in counted]
    dropped = [v.name for v in report.inputs if v.constant and v.name not in counted]
    outputs = [{"name": v.name, "root": root_of(v)} for v in report.outputs if v.name not in counted]
    skipped = [{"name": u.name, "reason": u.reason} for u in report.unresolved if u not in bad]
    if not inputs:
        why = "; ".join([f"{u.name} is {u.reason}" for u in report.unresolved] +
                        ([f"constant: {', '.join(dropped)}"] if dropped else [])) or "it reads no numbers"
        raise PhasmError(f"{fn} has no varying numeric inputs ({why}); a surrogate needs numbers in")
    if not outputs:
        raise PhasmError(f"{fn} returns and writes nothing numeric (None); a surrogate needs numbers out")
    return Plan(inputs, outputs, counters, dropped, skipped)
