"""phasm-perf's call-counting hook, loaded through PYTHONPATH in the counting pass only.

It counts calls of the functions named in ``$PHASM_PERF_COUNT_SPEC`` (a JSON file: ``{"targets": [[file, qualname],
...], "out_dir": DIR}``) and writes ``DIR/counts-PID.json`` at exit. On Python 3.12+ it uses ``sys.monitoring``
and disables the event at every code object that is not a target, so the rest of the program runs at full speed;
on older Pythons it uses ``sys.setprofile`` (and ``threading.setprofile``) with a per-code-object cache.
Any ``sitecustomize`` the environment already had is loaded after it.
"""

import atexit
import json
import os
import sys


def _install():
    spec_path = os.environ.get("PHASM_PERF_COUNT_SPEC")
    if not spec_path:
        return
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    targets = {(f, q) for f, q in spec["targets"]}
    names = {q for _, q in targets}
    out_dir = spec["out_dir"]
    counts = {}
    first_line = {}

    def qualname(code):
        return getattr(code, "co_qualname", code.co_name)

    def dump():
        rows = [
            {"file": f, "function": q, "line": first_line.get((f, q)), "calls": n}
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
                counts[key] = counts.get(key, 0) + 1
                first_line.setdefault(key, code.co_firstlineno)
                return None
            return DISABLE

        mon.register_callback(tool, mon.events.PY_START, on_start)
        mon.set_events(tool, mon.events.PY_START)
    else:
        import threading

        method = "sys.setprofile (Python %d.%d)" % sys.version_info[:2]
        cache = {}

        def hook(frame, event, arg):
            if event != "call":
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
                counts[key] = counts.get(key, 0) + 1

        sys.setprofile(hook)
        threading.setprofile(hook)

    atexit.register(dump)


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
