"""phasm-perf's in-program hook, loaded through PYTHONPATH in the runs of ``bench`` and ``vars`` only.

It reads the spec named by ``$PHASM_PERF_HOOK_SPEC`` (JSON) and hands it to the agent the spec names
(``phasm_perf.bench._runtime`` for bench's capture, surrogate and baseline runs, ``phasm_perf.discover._agent`` for
``vars``): ``agent.install(spec)``. If the program's Python cannot import phasm-perf, it writes that reason where the
report was expected, so the parent can say it in one line. Any ``sitecustomize`` the environment already had is
loaded after it.
"""

import json
import os
import sys

SPEC_ENV = "PHASM_PERF_HOOK_SPEC"


def _fail(spec, exc):
    with open(spec["out"], "w", encoding="utf-8") as fh:
        json.dump({"status": "hook_failed", "errors": [f"{type(exc).__name__}: {exc}"]}, fh)


def _install():
    path = os.environ.pop(SPEC_ENV, None)  # not inherited by the program's own subprocesses
    if not path:
        return
    with open(path, encoding="utf-8") as fh:
        spec = json.load(fh)
    name = spec.get("agent", "")
    if not name.startswith("phasm_perf."):
        return
    try:
        import importlib

        agent = importlib.import_module(name)
    except Exception as exc:  # the program runs under a Python without phasm-perf (or without its dependencies)
        _fail(spec, exc)
        return
    try:
        agent.install(spec)
    except Exception as exc:  # e.g. the surrogate file cannot be loaded: the run goes on untouched, and says so
        _fail(spec, exc)


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
