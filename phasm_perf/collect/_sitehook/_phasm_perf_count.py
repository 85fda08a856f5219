"""The counting hook's work, inside the profiled program (loaded by this folder's ``sitecustomize.py``).

It counts the calls of every function of the user's own code (``"targets"`` absent from the spec) or of the named
ones, in the same run that is sampled, so the counts cost no second run:

- Python 3.12+: ``sys.monitoring`` ``PY_START``, disabled at once at every code object that is not counted;
- Python 3.11: a counter added to each counted function's own code as it is compiled (:mod:`_phasm_perf_inject`):
  modules through the import system's ``SourceLoader.get_code``, the main script by watching its module frame
  until its last ``def`` or ``class`` has run (then tracing stops for good);
- older: ``sys.setprofile``, with the decision cached per code object (slower: a Python call per call).

With ``"capture": N`` it also sizes the arguments and the result of the first N calls of each counted function
(numbers once flattened; the surrogate's inputs and outputs). Results go to ``OUT_DIR/counts-PID.json`` at exit.
Imports nothing of phasm-perf: it runs in someone else's program, possibly under another Python.
"""

import atexit
import json
import os
import sys
import sysconfig
import threading
import time

_LIB_MARKERS = ("/site-packages/", "/dist-packages/", "/lib/python3", "/lib64/python3")


def _prefixes(dirs):
    return tuple(sorted({os.path.realpath(d) + os.sep for d in dirs if d}, key=len, reverse=True))


def make_is_user(roots, excluded):
    """The user's code, as phasm-perf's candidate filters define it: under the program's folder, else anywhere but
    this interpreter's standard library and site-packages (and never this hook)."""
    roots = _prefixes(roots)
    excluded = _prefixes(excluded)
    paths = sysconfig.get_paths()
    libs = _prefixes(paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib"))
    cache = {}

    def is_user(filename):
        v = cache.get(filename)
        if v is None:
            v = False
            if filename and not filename.startswith("<"):
                real = os.path.realpath(filename)
                if excluded and real.startswith(excluded):
                    v = False
                elif roots and real.startswith(roots):
                    v = True
                else:
                    v = not (any(m in real for m in _LIB_MARKERS) or real.startswith(libs))
            cache[filename] = v
        return v

    return is_user


_QUALNAMES = {}  # Python < 3.11 (no co_qualname): file -> {first line: qualified name}, from its source


def _qualname(code):
    q = getattr(code, "co_qualname", None)
    if q is not None:
        return q
    names = _QUALNAMES.get(code.co_filename)
    if names is None:
        names = _QUALNAMES[code.co_filename] = _source_qualnames(code.co_filename)
    q = names.get(code.co_firstlineno)
    # the line must be this code's own def: a module (or a class body) starting at a def's line is not that function
    return q if q is not None and q.rsplit(".", 1)[-1] == code.co_name else code.co_name


def _source_qualnames(path):
    """``{first line: qualified name}`` of the functions defined in the file ``path``: what ``co_qualname`` says
    from Python 3.11 on. A decorated function's code starts at its first decorator, so both lines map to it."""
    import ast  # only on Python < 3.11, once per file of the user's code

    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return {}
    out = {}

    def walk(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for line in [node.lineno] + [d.lineno for d in node.decorator_list]:
                    out.setdefault(line, prefix + node.name)
                walk(node.body, prefix + node.name + ".<locals>.")
            elif isinstance(node, ast.ClassDef):
                walk(node.body, prefix + node.name + ".")

    walk(tree.body, "")
    return out


class Counts:
    """The counts (a list indexed by slot: the inserted code increments it) and the first calls' sizes."""

    def __init__(self, spec):
        self.capture = int(spec.get("capture", 0))
        targets = spec.get("targets")
        self.targets = {(f, q) for f, q in targets} if targets is not None else None
        self.target_files = {f for f, _ in targets} if targets is not None else None
        self.is_user = make_is_user(spec.get("user_roots", ()), spec.get("exclude", ()))
        self.counts = []          # slot -> calls
        self.keys = []            # slot -> (file, qualname)
        self.lines = []           # slot -> first line
        self.slot_of = {}         # (file, qualname) -> slot
        self.sizes = {}           # slot -> [inputs, outputs, inputs_numpy, outputs_numpy] lists
        self.skipped = 0          # functions whose code could not take a counter
        self.returns = ReturnWatch(self)

    def wanted(self, code):
        if self.targets is not None:
            return code.co_filename in self.target_files and (code.co_filename, _qualname(code)) in self.targets
        # functions and methods; not module or class bodies, comprehensions or lambdas
        return bool(code.co_flags & 0x0001) and not code.co_name.startswith("<") and self.is_user(code.co_filename)

    def register(self, code):
        """The slot counting ``code``'s calls (shared by code objects of one file and qualified name), or None."""
        if not self.wanted(code):
            return None
        key = (code.co_filename, _qualname(code))
        slot = self.slot_of.get(key)
        if slot is None:
            slot = self.slot_of[key] = len(self.counts)
            self.counts.append(0)
            self.keys.append(key)
            self.lines.append(code.co_firstlineno)
        return slot

    def first_call(self, slot, frame):
        """One of the first ``capture`` calls: size its arguments, and watch for its result."""
        try:
            code = frame.f_code
            nargs = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) + \
                bool(code.co_flags & 0x08)
            names = code.co_varnames[:nargs]
            local = frame.f_locals
            values = [local.get(n) for n in names]
            if names and names[0] in ("self", "cls"):
                values = values[1:]
            got = self.sizes.setdefault(slot, ([], [], [], []))
            n = numeric_size(values)
            got[0].append(n)
            got[2].append(numpy_scalars(values))
            if n:  # a function that takes no number is no surrogate's: its result is not watched for
                self.returns.watch(frame, slot, self.counts[slot])
        except Exception:
            pass

    def result(self, slot, value):
        got = self.sizes.setdefault(slot, ([], [], [], []))
        got[1].append(numeric_size(value))
        got[3].append(numpy_scalars(value))

    def reset(self):
        """In a forked child: count its own calls only (the parent writes its own file)."""
        self.counts[:] = [0] * len(self.counts)
        self.sizes.clear()

    def rows(self):
        rows = []
        for slot, (file, qual) in enumerate(self.keys):
            n = self.counts[slot]
            if not n and self.targets is None:
                continue
            ins, outs, np_in, np_out = self.sizes.get(slot, ([], [], [], []))
            rows.append({"file": file, "function": qual, "line": self.lines[slot], "calls": n, "inputs": ins,
                         "outputs": outs, "inputs_numpy": np_in, "outputs_numpy": np_out})
        if self.targets is not None:  # targets never called still get their row (0 calls)
            for file, qual in self.targets - set(self.keys):
                rows.append({"file": file, "function": qual, "line": None, "calls": 0, "inputs": [], "outputs": [],
                             "inputs_numpy": [], "outputs_numpy": []})
        return rows


class ReturnWatch:
    """The result of a first call (of a function that takes numbers), seen through a trace function on that frame
    alone (``sys.settrace`` with a global function that declines every other frame, so no line events and no C-call
    events: one quick Python call per Python call while it watches), for as long as that call lasts, within a budget
    of calls: a call that runs longer (a driver) is given up on, so watching costs at most a few milliseconds per
    function. Not used when the program has its own trace function (a debugger, coverage)."""

    BUDGET = 20000
    #: a call is watched only if the function's first call started less than this long before it (its calls are
    #: short: a kernel's, not a driver's), and never the first call itself nor a recursive one
    SHORT = 0.02

    def __init__(self, counts):
        self.counts = counts
        self.local = threading.local()
        self.first = {}  # slot -> when its first call started

    def watch(self, frame, slot, n):
        if sys.version_info >= (3, 12):
            return  # sys.monitoring's PY_RETURN does it there
        now = time.perf_counter()
        if n <= 1:
            self.first[slot] = now
            return
        if now - self.first.get(slot, now) > self.SHORT or self._recursive(frame):
            return
        st = self.local
        frames = getattr(st, "frames", None)
        if frames is None:
            frames = st.frames = {}
            st.calls = 0
        if not frames:
            if sys.gettrace() is not None:
                return
            sys.settrace(self._call)
        frames[frame] = (slot, st.calls)
        frame.f_trace_lines = False
        frame.f_trace = self._frame

    @staticmethod
    def _recursive(frame):
        code, f, depth = frame.f_code, frame.f_back, 0
        while f is not None and depth < 64:
            if f.f_code is code:
                return True
            f, depth = f.f_back, depth + 1
        return False

    def _call(self, frame, event, arg):
        st = self.local
        st.calls += 1
        if st.calls & 255 == 0:
            for f in [f for f, (_, t0) in st.frames.items() if st.calls - t0 > self.BUDGET]:
                del st.frames[f]
                f.f_trace = None
            if not st.frames:
                sys.settrace(None)
        return None

    def _frame(self, frame, event, arg):
        if event == "return":
            st = self.local
            got = st.frames.pop(frame, None)
            if got is not None:
                self.counts.result(got[0], arg)
            if not st.frames:
                sys.settrace(None)
            return None
        return self._frame


def numeric_size(value, depth=0):
    """How many numbers ``value`` holds once flattened: 1 per int/float/bool, an array's size, the sum over a
    list, tuple or dict; 0 for anything else (strings, objects, None)."""
    if isinstance(value, (bool, int, float, complex)):
        return 1
    size = getattr(value, "size", None)
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        kind = getattr(dtype, "kind", None)
        if kind is not None:  # numpy
            return int(size) if kind in "biufc" and isinstance(size, int) else 0
        numel = getattr(value, "numel", None)  # torch
        return int(numel()) if callable(numel) else 0
    if depth < 4 and isinstance(value, (list, tuple)):
        return sum(numeric_size(v, depth + 1) for v in value[:100000])
    if depth < 4 and isinstance(value, dict):
        return sum(numeric_size(v, depth + 1) for v in list(value.values())[:100000])
    return 0


def numpy_scalars(value, depth=0):
    """How many of the numbers ``numeric_size`` counts are numpy scalars (``numpy.float64`` read from an array,
    and the like): they cost a surrogate more to marshal than Python numbers. Arrays count 0 (no numpy import)."""
    t = type(value)
    if t.__module__ == "numpy" and t.__name__ != "ndarray" and getattr(value, "shape", None) == ():
        kind = getattr(getattr(value, "dtype", None), "kind", None)
        return 1 if kind is not None and kind in "biufc" else 0
    if depth < 4 and isinstance(value, (list, tuple)):
        return sum(numpy_scalars(v, depth + 1) for v in value[:100000])
    if depth < 4 and isinstance(value, dict):
        return sum(numpy_scalars(v, depth + 1) for v in list(value.values())[:100000])
    return 0


# -- the three ways of counting ------------------------------------------------------------------------------

def install_monitoring(c):
    """3.12+: PY_START on every code object; DISABLE where not counted, so the rest runs at full speed."""
    mon = sys.monitoring
    tool = next(t for t in (mon.PROFILER_ID, 3, 4, 5) if mon.get_tool(t) is None)
    mon.use_tool_id(tool, "phasm-perf-count")
    DISABLE = mon.DISABLE
    slot_of_code = {}
    counts = c.counts
    capture = c.capture
    returned = {}

    def on_start(code, offset):
        slot = slot_of_code.get(code, -1)
        if slot == -1:
            slot = slot_of_code[code] = c.register(code)
        if slot is None:
            return DISABLE
        n = counts[slot] = counts[slot] + 1
        if n <= capture:
            frame = sys._getframe(1)
            while frame is not None and frame.f_code is not code:
                frame = frame.f_back
            if frame is not None:
                c.first_call(slot, frame)
                mon.set_local_events(tool, code, mon.events.PY_RETURN)
        return None

    def on_return(code, offset, retval):
        slot = slot_of_code.get(code)
        if slot is None:
            return
        c.result(slot, retval)
        returned[slot] = returned.get(slot, 0) + 1
        if returned[slot] >= capture:
            mon.set_local_events(tool, code, 0)

    mon.register_callback(tool, mon.events.PY_START, on_start)
    if capture:
        mon.register_callback(tool, mon.events.PY_RETURN, on_return)
    mon.set_events(tool, mon.events.PY_START)
    return "sys.monitoring PY_START (Python %d.%d)" % sys.version_info[:2]


def install_setprofile(c):
    """Older Pythons: a profile function, its decision cached per code object."""
    slot_of_code = {}
    counts = c.counts
    capture = c.capture
    returned = {}

    def hook(frame, event, arg):
        if event == "call":
            code = frame.f_code
            slot = slot_of_code.get(code, -1)
            if slot == -1:
                slot = slot_of_code[code] = c.register(code)
            if slot is not None:
                n = counts[slot] = counts[slot] + 1
                if n <= capture:
                    c.first_call(slot, frame)
        elif event == "return" and capture:
            slot = slot_of_code.get(frame.f_code)
            if slot is not None and returned.get(slot, 0) < capture:
                returned[slot] = returned.get(slot, 0) + 1
                c.result(slot, arg)

    c.returns.watch = lambda frame, slot, n: None  # the hook sees every return itself
    sys.setprofile(hook)
    threading.setprofile(hook)
    return "sys.setprofile (Python %d.%d)" % sys.version_info[:2]


def install(spec):
    """Count as the spec says; at exit write ``counts-PID.json`` in its ``out_dir``. In the sampled run itself
    (``"sampled": true``) only where counting is nearly free: ``sys.setprofile`` (Python < 3.11) calls back into
    Python at every call and would slow the run it is meant to leave alone (on examples/particles.py, 8x, and the
    shares with it), so there it writes ``deferred`` and phasm-perf counts in a second run instead."""
    c = Counts(spec)
    if hasattr(sys, "monitoring"):
        method = install_monitoring(c)
    else:
        try:
            import _phasm_perf_inject as inject
        except ImportError:
            inject = None
        if inject is not None and inject.SUPPORTED and not spec.get("no_inject"):
            import _phasm_perf_py311

            method = _phasm_perf_py311.install_injection(c, inject)
        elif spec.get("sampled"):
            _write(spec["out_dir"], {"pid": os.getpid(), "deferred": "sys.setprofile (Python %d.%d) would slow the "
                                     "sampled run" % sys.version_info[:2]})
            return
        else:
            method = install_setprofile(c)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=c.reset)
    out_dir = spec["out_dir"]

    def dump():
        _write(out_dir, {"pid": os.getpid(), "method": method, "counts": c.rows(), "not_counted": c.skipped})

    atexit.register(dump)


def _write(out_dir, data):
    path = os.path.join(out_dir, "counts-%d.json" % os.getpid())
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)
