"""``phasm-perf vars`` inside the program: observe a sample of the function's calls and report its variables.

Loaded by the hook (:mod:`phasm_perf.core.hook`), which swaps a trampoline into the function at its definition.
Most calls go straight to the original (a counter and a comparison). Observed calls, all of the first ``calls``
and then a thinning sample (about ``calls`` more per tenfold of calls: a function called a million times is
observed a few hundred times; calls of the sample that would take observation past a tenth of the run's time are
left out, but never the powers of two, so the sample spans the whole run), run like this:

1. the arguments are bound and named; the arguments, the module's globals and the closure's cells are copied
   (arrays, containers and objects' attributes, a few levels deep; after the first few observed calls only the
   globals the function touched);
2. the function runs with its own code and the program's code it calls watched instruction by instruction at
   their sites (:mod:`.bytecode`, :mod:`._tracing`): the first read of each name is kept with its value, stores
   into named objects and globals are recorded; ``print``/``open``, file writes, random draws are noted;
3. what changed in the copies, plus the stores seen, are the outputs; their values after the call, with the
   return value, are kept; consecutive calls are compared (:mod:`._batch`).

At exit the aggregate (per name: kind, dtype, shape, range, constancy, in how many calls read and written) is
written as JSON for :mod:`.python`, which turns it into a :class:`~phasm_perf.discover.schema.VarsReport`.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
import types

from ..core.hook.trampoline import FunctionHook
from ._batch import CallIO, Flows, Iterations
from ._call import Call, Ref, _is_scalar
from ._effects import Effects, library_dirs
from ._record import elements, flat, var_json, whole_lists
from ._tracing import SettraceBackend, backend
from .values import Desc, Stats, changes, describe, is_user_object, snapshot

NEVER = 1 << 62
FULL_SNAPSHOTS = 4  # observed calls that copy every global of the module (later: only the ones touched)
BUDGET = 0.10  # past the first `calls` calls, the share of the run's time observed calls may take
BUDGET_FLOOR = 0.5  # seconds of observation before the budget applies (a short run is observed in full)


class Observer(FunctionHook):
    def __init__(self, spec: dict) -> None:
        super().__init__(spec)
        self.first_n = max(1, int(spec.get("calls", 64)))
        self.ratio = 10 ** (1 / self.first_n)
        self.nxt = [1]  # calls below this index go straight to the original
        self.next_observed = 1
        self.observed = 0
        self.raised = 0
        self.observing = False
        self.vars: dict[str, dict] = {}
        self.unresolved: dict[str, dict] = {}
        self.effects: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.touched: dict[int, set] = {}
        self.recursion: dict | None = None
        self.flows = Flows()
        self.iters = Iterations(spec.get("event_loop"))
        self.backend = None
        self.lib_dirs = library_dirs()
        self.user_cache: dict = {}
        self.call = None
        self.caller: str | None = None  # the function that made the observed call
        self.t0 = time.perf_counter()
        self.observe_seconds = 0.0  # the observed calls' whole time (the call itself included)
        self.skipped = 0  # calls of the thinning sample left out to keep within BUDGET

    # ---- the trampoline's handler ----------------------------------------------------------------------
    def handlers(self, orig, sig):
        names, values = self.binder(sig)
        nxt, st = self.nxt, [0]
        self.params = names
        self._values = values
        self._ncalls = st

        def entry(args, kwargs):
            return self.slow(orig, args, kwargs, st[0])

        def call(args, kwargs):
            st[0] += 1
            if st[0] < nxt[0]:
                return orig(*args, **kwargs)
            return entry(args, kwargs)

        self.fast = (st, nxt, orig, entry)  # the trampoline counts and calls the original itself

        def batch(self_, calls):
            return [call((self_, *c) if self_ is not None else c, {}) for c in calls]

        return call, batch

    def slow(self, orig, args, kwargs, index):
        self.calls = index
        if self.observing:  # the function called itself
            self._recursive(index)
            return orig(*args, **kwargs)
        if self.iters.on:
            if len(self.iters.own_codes) < 2:
                self.iters.own_codes = (orig.__code__, self.tramp_code)
            self.iters.tick(sys._getframe(3), self.observe_seconds)  # slow <- entry <- trampoline <- the caller
            if not self.iters.on:
                self._set_trace()
        power = index > self.first_n and not index & (index - 1) and self.next_observed != NEVER
        now = index == self.next_observed
        if now:
            self.next_observed = index + 1 if index < self.first_n else max(index + 1, int(index * self.ratio))
            if index > self.first_n and not power and \
                    self.observe_seconds > max(BUDGET_FLOOR, BUDGET * (time.perf_counter() - self.t0)):
                now = False  # past the first calls, observing takes at most BUDGET of the run, but every power of
                self.skipped += 1  # two is observed: the sample still spans the run
        now = now or power
        self.nxt[0] = self._next_slow(index)
        if not now:
            return orig(*args, **kwargs)
        code = sys._getframe(3).f_code
        self.caller = getattr(code, "co_qualname", code.co_name)
        return self.observe(orig, args, kwargs, index)

    def _next_slow(self, index: int) -> int:
        """The next call that must go through :meth:`slow`: the next of the sample, or of the powers of two."""
        if self.iters.on:
            return index + 1
        if self.next_observed == NEVER:
            return NEVER
        return min(self.next_observed, 1 << index.bit_length())

    def _recursive(self, index: int) -> None:
        if self.recursion is None:
            self.recursion = {"call": index, "caller": self.caller}
        self.next_observed = NEVER

    # ---- one observed call -------------------------------------------------------------------------------
    def observe(self, orig, args, kwargs, index):
        t = time.perf_counter()
        vals = self._values(args, kwargs)
        params = dict(zip(self.params, vals))
        cells = dict(zip(orig.__code__.co_freevars, orig.__closure__ or ()))
        call = Call(orig.__code__, params, orig.__globals__, cells, self._user_module)
        self.call = call
        for ref_name, v in params.items():
            if not _is_scalar(v):
                call.roots.append((call.refs[ref_name], snapshot(v, 4)))
        for name, cell in cells.items():
            try:
                call.roots.append((Ref("cell", name, cell, name), snapshot(cell.cell_contents, 3)))
            except ValueError:
                pass
        self._snap_module(call, orig.__globals__)
        if self.backend is None:
            self.backend = backend(self._is_user, self._on_start)
        watch = Effects(call)
        self.nxt[0] = 0  # every call goes through `slow` while observing: recursion is seen
        self.observing = True
        self.backend.start(call)
        self._set_trace()
        try:
            with watch:
                result = orig(*args, **kwargs)
        except BaseException:
            self._end_observation()
            self.raised += 1
            self.observe_seconds += time.perf_counter() - t
            raise
        self._end_observation()
        self._record(call, result, index)
        self.observe_seconds += time.perf_counter() - t
        return result

    def _end_observation(self) -> None:
        self.backend.stop()
        self.observing = False
        self.nxt[0] = self._next_slow(self.calls)
        self._set_trace()
        self.call = None

    def _on_start(self, frame) -> None:
        call = self.call
        if call is None:
            return
        if call.frame is None and frame.f_code is call.code:
            call.frame = frame
        g = frame.f_globals
        if id(g) not in call.snapped:
            self._snap_module(call, g)

    def _snap_module(self, call: Call, g: dict) -> None:
        call.snapped.add(id(g))
        only = self.touched.get(id(g)) if self.observed >= FULL_SNAPSHOTS else None
        mod = g.get("__name__")
        for name, v in list(g.items()) if only is None else [(n, g[n]) for n in only if n in g]:
            if name.startswith("__") or isinstance(v, (types.ModuleType, types.FunctionType, type)):
                continue
            if describe(v) is None and not is_user_object(v):
                continue
            root = name if g is call.module_globals else f"{mod}.{name}"
            call.roots.append((Ref("global", root, g, name), snapshot(v, 2)))

    # ---- tracing switches: one global trace function for the iteration window and the 3.10/3.11 backend ------
    def _set_trace(self) -> None:
        want = self.iters.on or (self.observing and isinstance(self.backend, SettraceBackend))
        sys.settrace(self._trace if want else None)

    def _trace(self, frame, event, arg):
        if self.iters.on:
            self.iters.on_call(frame)
        if self.observing and isinstance(self.backend, SettraceBackend):
            return self.backend.on_call(frame)
        return None

    def _is_user(self, code: types.CodeType) -> bool:
        hit = self.user_cache.get(code)
        if hit is None:
            f = code.co_filename
            hit = not f.startswith("<frozen") and not any(f.startswith(d) for d in self.lib_dirs)
            self.user_cache[code] = hit
        return hit

    def _user_module(self, module: types.ModuleType) -> bool:
        f = getattr(module, "__file__", None)
        return bool(f) and not any(f.startswith(d) for d in self.lib_dirs)

    # ---- after the call: outputs, values, aggregation -------------------------------------------------------
    def _record(self, call: Call, result, index: int) -> None:
        for ref, snap in call.roots:
            now = ref.root_value()
            for path, detail in changes(snap, now):
                call.note_write(Ref(ref.root_kind, ref.root, ref.holder, ref.key, ref.steps + path), detail)
        self.observed += 1
        written: dict = {}
        for name, detail in call.written.items():
            ref = call.refs[name]
            d = describe(ref.value())
            if isinstance(d, str):
                self.unresolved.setdefault(name, {"name": name, "kind": ref.kind, "reason": f"written: {d}"})
            if not isinstance(d, Desc):
                continue
            written.setdefault(name, (ref, d, detail))
            for el, ed in elements(ref, d, detail):
                written.setdefault(el.name, (el, ed, None))
        whole_lists(written)
        outs: dict = {}
        for name, (ref, d, detail) in written.items():
            self._agg(name, ref, "out", d, detail)
            outs[name] = d
        ins: dict = {}
        for name, d in call.read.items():
            if call.first.get(name) == "read":
                self._agg(name, call.refs[name], "in", d, None)
                ins[name] = d
                if name in outs and d.size == 1 and outs[name].size == 1:
                    self._counter(name, outs[name].data - d.data)
        self._result(call, result, outs)
        for name, (kind, reason) in call.unresolved.items():
            self.unresolved.setdefault(name, {"name": name, "kind": kind, "reason": reason})
        self.effects.update((k, v) for k, v in call.effects.items() if k not in self.effects)
        self.notes.update((k, v) for k, v in call.notes.items() if k not in self.notes)
        for name in call.first:
            ref = call.refs.get(name)
            if ref is not None and ref.root_kind == "global":
                self.touched.setdefault(id(ref.holder), set()).add(ref.key)
        objects = {n: call.refs[n].value() for n in call.first if not call.refs[n].steps}
        self.flows.add(CallIO(index, flat(ins), flat(outs), objects,
                              result if result is not None and not _is_scalar(result) else None))

    def _result(self, call: Call, result, outs: dict) -> None:
        if result is None:
            return
        d = describe(result)
        ref = Ref("arg", "return", result, "return")
        if isinstance(d, Desc):
            self._agg("return", ref, "out", d, None)
            outs["return"] = d
        elif isinstance(d, str):
            self.unresolved.setdefault("return", {"name": "return", "kind": "return", "reason": d})
        else:
            known = call.ref_of(result)
            if known is not None:
                self.unresolved.setdefault("return", {"name": "return", "kind": "return",
                                                      "reason": f"returns {known.name}, an object it was given"})
            else:
                self.effects.setdefault(f"returns a {type(result).__name__} object it allocates", "return")

    def _agg(self, name: str, ref: Ref, way: str, d: Desc, detail) -> None:
        v = self.vars.get(name)
        if v is None:
            kind = "return" if name == "return" else ref.kind
            v = self.vars[name] = {"name": name, "kind": kind, "in_signature": ref.root_kind == "arg",
                                   "in": Stats(), "out": Stats(), "positions": set(), "delta": None,
                                   "counter": None}
        v[way].add(d)
        if way == "out" and v["positions"] != "many":
            v["positions"] = "many" if detail is None or detail == "many" else v["positions"] | detail

    def _counter(self, name: str, delta: float) -> None:
        v = self.vars[name]
        if v["counter"] is None:
            v["delta"], v["counter"] = delta, delta != 0
        elif delta != v["delta"]:
            v["counter"] = False

    # ---- the report at exit ------------------------------------------------------------------------------
    def dump(self) -> None:
        sys.settrace(None)
        counters = {n for n, v in self.vars.items() if v["counter"] and v["in"].calls >= 2}
        out = {
            "pid": os.getpid(), "status": self.status(), "swap": self.swap_how,
            "first_call_original": self.first_call_original, "calls": (self._ncalls[0] + self.first_call_original) if self.swapped else 0,
            "observed": self.observed, "raised": self.raised, "recursion": self.recursion,
            "python": ".".join(map(str, sys.version_info[:3])),
            "backend": type(self.backend).__name__ if self.backend else None,
            "program_seconds": time.perf_counter() - self.t0, "observe_seconds": self.observe_seconds,
            "skipped": self.skipped, "window_seconds": self.iters.seconds,
            "variables": [var_json(v, counters) for v in self._final_vars()],
            "unresolved": list(self.unresolved.values()),
            "effects": [f"{k} ({v})" for k, v in self.effects.items()],
            "notes": [f"{k} ({v})" for k, v in self.notes.items()],
            "flows": self.flows.chains(counters), "pairs": self.flows.pairs,
            "iterations": self.iters.result(),
        }
        path = self.spec["out"]
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(out, fh)
        os.replace(tmp, path)

    def _final_vars(self) -> list[dict]:
        """An array written at a few places only is reported as those elements (its whole value is not)."""
        out = []
        for v in self.vars.values():
            pos = v["positions"]
            if v["out"].calls and isinstance(pos, set) and pos and len(pos) < v["out"].size:
                v = dict(v, out=Stats())
                if not v["in"].calls:
                    continue
            out.append(v)
        return out


def install(spec: dict) -> Observer:
    """Called by the hook's ``sitecustomize`` with the run's spec."""
    obs = Observer(spec)
    atexit.register(obs.dump)
    obs.start_watch()
    return obs


