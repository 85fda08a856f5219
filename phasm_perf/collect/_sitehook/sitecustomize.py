"""phasm-perf's call-counting hook, loaded through PYTHONPATH in the profiled run (and in a counting pass).

It reads the JSON spec named by ``$PHASM_PERF_COUNT_SPEC`` (``{"out_dir": DIR, "capture": N, "user_roots": [...],
"exclude": [...]}``, or ``"targets": [[file, qualname], ...]`` to count only those) and hands over to
:mod:`_phasm_perf_count`, which counts the calls (and sizes the first calls' arguments and results) and writes
``DIR/counts-PID.json`` at exit. A failure to install is written there too, so phasm-perf can say why there are no
counts. Any ``sitecustomize`` the environment already had is loaded after it.
"""

import json
import os
import sys


def _install():
    spec_path = os.environ.get("PHASM_PERF_COUNT_SPEC")
    if not spec_path:
        return
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    try:
        import _phasm_perf_count

        _phasm_perf_count.install(spec)
    except Exception as exc:  # never break the user's program: say why there are no counts instead
        path = os.path.join(spec["out_dir"], "counts-%d.json" % os.getpid())
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"pid": os.getpid(), "error": "%s: %s" % (type(exc).__name__, exc)}, fh)


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
