"""phasm-perf's call-counting hook, loaded through PYTHONPATH in the counting pass only.

It counts calls of the functions named in ``$PHASM_PERF_COUNT_SPEC`` (a JSON file: ``{"targets": [[file, qualname],
...], "out_dir": DIR}``) and writes ``DIR/counts-PID.json`` at exit. On Python 3.12+ it uses ``sys.monitoring``
and disables the event at every code object that is not a target, so the rest of the program runs at full speed;
on older Pythons it uses ``sys.setprofile`` (and ``threading.setprofile``) with a per-code-object cache.
With ``"capture": N`` in the spec it also counts the flattened numeric values of the arguments and of the result
of the first N calls of each target (the surrogate's inputs and outputs; ``inputs``/``outputs`` per row).
Any ``sitecustomize`` the environment already had is loaded after it.
"""

import atexit
import json
import os
import sys


def _source_qualnames(path, files):
    """``{first line: qualified name}`` of the functions defined in ``path`` (one of the target ``files``; else
    empty): what ``co_qualname`` says from Python 3.11 on. A decorated function's code starts at its first
    decorator, so both lines map to it."""
    if path not in files:
        return {}
    import ast  # only on Python < 3.11, once per target file

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


def _install():
    spec_path = os.environ.get("PHASM_PERF_COUNT_SPEC")
    if not spec_path:
        return
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    targets = {(f, q) for f, q in spec["targets"]}
    names = {q for _, q in targets}
    out_dir = spec["out_dir"]
    capture = int(spec.get("capture", 0))
    counts = {}
    first_line = {}
    seen_in = {}   # key -> [numeric values in the arguments of each sampled call]
    seen_out = {}  # key -> [numeric values in the result of each sampled call]
    np_in = {}     # key -> [numpy scalars among the arguments' numbers, per sampled call]
    np_out = {}    # key -> [numpy scalars among the result's numbers, per sampled call]

    def record_out(key, value):
        seen_out.setdefault(key, []).append(_numeric_size(value))
        np_out.setdefault(key, []).append(_numpy_scalars(value))

    def record_args(key, frame):
        code = frame.f_code
        nargs = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)
        names = code.co_varnames[:nargs]
        values = [frame.f_locals.get(n) for n in names]
        if names and names[0] in ("self", "cls"):
            values = values[1:]
        seen_in.setdefault(key, []).append(_numeric_size(values))
        np_in.setdefault(key, []).append(_numpy_scalars(values))

    qualnames = {}  # Python < 3.11 (no co_qualname): (file, first line) -> qualified name, from the targets' source

    def qualname(code):
        q = getattr(code, "co_qualname", None)
        if q is not None:
            return q
        if code.co_filename not in qualnames:
            qualnames[code.co_filename] = _source_qualnames(code.co_filename, {f for f, _ in targets})
        return qualnames[code.co_filename].get(code.co_firstlineno, code.co_name)

    def dump():
        rows = [
            {"file": f, "function": q, "line": first_line.get((f, q)), "calls": n,
             "inputs": seen_in.get((f, q), []), "outputs": seen_out.get((f, q), []),
             "inputs_numpy": np_in.get((f, q), []), "outputs_numpy": np_out.get((f, q), [])}
            for (f, q), n in counts.items()
        ]
        path = os.path.join(out_dir, f"counts-{os.getpid()}.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"pid": os.getpid(), "method": method, "counts": rows}, fh)
        os.replace(tmp, path)

    if hasattr(sys, "monitoring"):
        method = "sys.monitoring PY_START (Python %d.%d)" % sys.version_info[:2]
        mon = sys.monitoring
        tool = next(t for t in (mon.PROFILER_ID, 3, 4, 5) if mon.get_tool(t) is None)
        mon.use_tool_id(tool, "phasm-perf-count")
        DISABLE = mon.DISABLE

        def on_start(code, offset):
            key = (code.co_filename, qualname(code))
            if key in targets:
                n = counts[key] = counts.get(key, 0) + 1
                first_line.setdefault(key, code.co_firstlineno)
                if n <= capture:
                    frame = sys._getframe(1)
                    while frame is not None and frame.f_code is not code:
                        frame = frame.f_back
                    if frame is not None:
                        record_args(key, frame)
                    if n == 1:
                        mon.set_local_events(tool, code, mon.events.PY_RETURN)
                return None
            return DISABLE

        def on_return(code, offset, retval):
            key = (code.co_filename, qualname(code))
            record_out(key, retval)
            if len(seen_out[key]) >= capture:
                mon.set_local_events(tool, code, 0)

        mon.register_callback(tool, mon.events.PY_START, on_start)
        if capture:
            mon.register_callback(tool, mon.events.PY_RETURN, on_return)
        mon.set_events(tool, mon.events.PY_START)
    else:
        import threading

        method = "sys.setprofile (Python %d.%d)" % sys.version_info[:2]
        cache = {}

        def hook(frame, event, arg):
            if event != "call":
                if event == "return" and capture and frame.f_code in cache:
                    key = cache[frame.f_code]
                    if key is not None and len(seen_out.get(key, ())) < capture:
                        record_out(key, arg)
                return
            code = frame.f_code
            key = cache.get(code, 0)
            if key == 0:
                key = None
                if code.co_name in names or qualname(code) in names:
                    k = (code.co_filename, qualname(code))
                    if k in targets:
                        key = k
                        first_line.setdefault(k, code.co_firstlineno)
                cache[code] = key
            if key is not None:
                n = counts[key] = counts.get(key, 0) + 1
                if n <= capture:
                    record_args(key, frame)

        sys.setprofile(hook)
        threading.setprofile(hook)

    atexit.register(dump)


def _numeric_size(value, depth=0):
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
        return sum(_numeric_size(v, depth + 1) for v in value[:100000])
    if depth < 4 and isinstance(value, dict):
        return sum(_numeric_size(v, depth + 1) for v in list(value.values())[:100000])
    return 0


def _numpy_scalars(value, depth=0):
    """How many of the numbers ``_numeric_size`` counts are numpy scalars (``numpy.float64`` read from an array,
    and the like): they cost a surrogate more to marshal than Python numbers. Arrays count 0 (no numpy import)."""
    t = type(value)
    if t.__module__ == "numpy" and t.__name__ != "ndarray" and getattr(value, "shape", None) == ():
        kind = getattr(getattr(value, "dtype", None), "kind", None)
        return 1 if kind is not None and kind in "biufc" else 0
    if depth < 4 and isinstance(value, (list, tuple)):
        return sum(_numpy_scalars(v, depth + 1) for v in value[:100000])
    if depth < 4 and isinstance(value, dict):
        return sum(_numpy_scalars(v, depth + 1) for v in list(value.values())[:100000])
    return 0


def _chain():
    """Load the sitecustomize this one shadows, if any."""
    here = os.path.dirname(os.path.abspath(__file__))
    import importlib.machinery
    import importlib.util

    path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec and spec.loader and spec.origin != __file__:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


try:
    _install()
finally:
    _chain()
