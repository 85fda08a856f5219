"""phasm-perf bench's hook, loaded through PYTHONPATH in the runs of ``phasm-perf bench`` only.

It reads ``$PHASM_PERF_BENCH_SPEC`` and hands over to :mod:`phasm_perf.bench._runtime` (capture the function's
calls, swap the surrogate in, or only time the run). If the program's Python cannot import phasm-perf, it writes
that reason where the report was expected, so ``bench`` can say it in one line. Any ``sitecustomize`` the
environment already had is loaded after it.
"""

import json
import os
import sys


def _install():
    path = os.environ.get("PHASM_PERF_BENCH_SPEC")
    if not path:
        return
    try:
        from phasm_perf.bench import _runtime
    except Exception as exc:  # the program runs under a Python without phasm-perf (or without torch)
        with open(path, encoding="utf-8") as fh:
            out = json.load(fh)["out"]
        with open(out, "w", encoding="utf-8") as fh:
            json.dump({"status": "hook_failed", "errors": [f"{type(exc).__name__}: {exc}"]}, fh)
        os.environ.pop("PHASM_PERF_BENCH_SPEC", None)
        return
    try:
        _runtime.install()
    except Exception as exc:  # e.g. the surrogate file cannot be loaded: the run goes on untouched, and says so
        with open(path, encoding="utf-8") as fh:
            out = json.load(fh)["out"]
        with open(out, "w", encoding="utf-8") as fh:
            json.dump({"status": "hook_failed", "errors": [f"{type(exc).__name__}: {exc}"]}, fh)


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
