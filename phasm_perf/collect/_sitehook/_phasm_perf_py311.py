"""Python 3.11's way of counting, part of the counting hook (:mod:`_phasm_perf_count`): counters compiled into the
counted functions' code (:mod:`_phasm_perf_inject`) as modules are loaded, and into the main script's functions,
whose code is compiled before any hook can see it (:class:`MainWatch`).

Imports nothing but the standard library: it runs inside the user's program.
"""

import os
import sys
import time


def install_injection(c, inject):
    """3.11: counters compiled into the counted functions' code (see :mod:`_phasm_perf_inject`)."""
    import builtins
    from importlib import _bootstrap_external

    capture = c.capture

    def first(slot):
        c.first_call(slot, sys._getframe(1))

    builtins.__phasm_perf_counts__ = c.counts
    builtins.__phasm_perf_first__ = first
    done = {}

    def instrument(code):
        return inject.instrument(code, c.register, capture, done)

    original = _bootstrap_external.SourceLoader.get_code

    def get_code(self, fullname):
        code = original(self, fullname)
        if code is not None and c.is_user(code.co_filename):
            code = instrument(code)
        return code

    _bootstrap_external.SourceLoader.get_code = get_code
    _wrap_runpy(c, instrument)
    MainWatch(c, instrument, done).start()
    return "counters compiled into the functions' code (Python %d.%d)" % sys.version_info[:2]


def _wrap_runpy(c, instrument):
    """``runpy.run_path(script)`` compiles the script itself (wrappers such as ``--torch-profiler``'s run the
    user's script that way): its code gets counters too."""
    import runpy

    original = getattr(runpy, "_get_code_from_file", None)
    if original is None:
        return

    def get_code_from_file(*args, **kwargs):
        got = original(*args, **kwargs)
        if isinstance(got, tuple) and len(got) == 2 and hasattr(got[0], "co_code") and c.is_user(got[1]):
            return instrument(got[0]), got[1]
        return got

    runpy._get_code_from_file = get_code_from_file


class MainWatch:
    """The main script is compiled before any hook can see it. At the first event of its module frame (before its
    first instruction runs) the code objects among that frame's constants are replaced by their counting versions,
    in place (:func:`replace_constants`), and tracing stops at once: every ``def`` and ``class`` of the script then
    makes counting functions. Where that cannot be done, the module frame is watched line by line instead and each
    function or class it binds gets its counting code (``__code__`` swapped, the function's identity kept), until
    its last top-level ``def``/``class`` has run or a time budget is spent."""

    BUDGET_SECONDS = 1.0

    def __init__(self, counts, instrument, done):
        self.counts = counts
        self.instrument = instrument
        self.done = done
        self.path = None
        argv0 = sys.argv[0] if sys.argv else ""
        if argv0 and argv0 not in ("-c", "-m") and os.path.isfile(argv0):
            self.path = os.path.realpath(argv0)
        self.pending = set()
        self.last_line = 0
        self.seen = set()
        self.t0 = 0.0

    def start(self):
        if self.path and self.counts.is_user(self.path):
            sys.settrace(self._call)

    def stop(self):
        sys.settrace(None)

    def _call(self, frame, event, arg):
        code = frame.f_code
        if code.co_name != "<module>" or os.path.realpath(code.co_filename) != self.path:
            if self.t0 and time.perf_counter() - self.t0 > self.BUDGET_SECONDS:
                self.counts.skipped += len(self.pending)
                self.stop()
            return None
        self.instrument(code)  # fills ``done``: every code object of the script -> its counting version
        if replace_constants(code, self.done):
            self.stop()
            return None
        self.pending = {c for c in code.co_consts if hasattr(c, "co_code") and not c.co_name.startswith("<")
                        and self.done.get(c, c) is not c}  # only what holds a counter
        self.last_line = max((c.co_firstlineno for c in self.pending), default=0)
        self.t0 = time.perf_counter()
        if not self.pending:
            self.stop()
            return None
        return self._line

    def _line(self, frame, event, arg):
        self._swap(frame.f_globals)
        past = event == "line" and frame.f_lineno > self.last_line
        if not self.pending or past or event == "return" or time.perf_counter() - self.t0 > self.BUDGET_SECONDS:
            self.counts.skipped += len(self.pending)
            self.stop()
            frame.f_trace = None
            return None
        return self._line

    def _swap(self, namespace):
        for name, value in list(namespace.items()):
            if id(value) not in self.seen:
                self.seen.add(id(value))
                self._swap_object(value, 0)

    def _swap_object(self, obj, depth):
        if depth > 4:
            return
        if isinstance(obj, type):
            body = next((c for c in self.pending if c.co_name == obj.__name__ and c.co_flags & 1 == 0), None)
            if body is None or getattr(obj, "__module__", None) != "__main__":
                return
            self.pending.discard(body)
            for attr in list(vars(obj).values()):
                self._swap_object(attr, depth + 1)
            return
        for inner in ("__func__", "fget", "fset", "fdel", "__wrapped__"):
            got = getattr(obj, inner, None) if not isinstance(obj, type) else None
            if got is not None and got is not obj:
                self._swap_object(got, depth + 1)
        code = getattr(obj, "__code__", None)
        new = self.done.get(code) if code is not None else None
        if new is not None and new is not code:
            try:
                obj.__code__ = new
            except (TypeError, ValueError):
                return
            self.pending.discard(code)
        for cell in getattr(obj, "__closure__", None) or ():  # a decorator's wrapper holds the function
            try:
                self._swap_object(cell.cell_contents, depth + 1)
            except ValueError:
                pass


def replace_constants(code, done):
    """Put the counting version of each code object in ``code.co_consts`` in its place, in the tuple itself (the
    frame about to run ``code`` reads its constants from it). Checked before every write: the slot must hold the
    object ``tuple.__getitem__`` returns; False (nothing written) when anything is not as expected."""
    try:
        import ctypes
    except ImportError:
        return False
    consts = code.co_consts
    base = id(consts) + tuple.__basicsize__
    size = ctypes.sizeof(ctypes.c_void_p)
    todo = [(i, c, done.get(c)) for i, c in enumerate(consts) if hasattr(c, "co_code")]
    todo = [(i, old, new) for i, old, new in todo if new is not None and new is not old]
    slots = [ctypes.c_void_p.from_address(base + i * size) for i, _, _ in todo]
    if any(slot.value != id(old) for slot, (_, old, _) in zip(slots, todo)):
        return False
    for slot, (_, old, new) in zip(slots, todo):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(new))
        slot.value = id(new)
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(old))  # ``done`` still holds it
    return all(consts[i] is new for i, _, new in todo)


