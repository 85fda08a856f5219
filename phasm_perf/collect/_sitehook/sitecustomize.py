"""phasm-perf's call-counting hook, loaded through PYTHONPATH in the profiled run (and in a counting pass), and
the start gate that holds the profiled program until the sampler has attached (``$PHASM_PERF_GATE``, see
:mod:`phasm_perf.collect.gate`).

It reads the JSON spec named by ``$PHASM_PERF_COUNT_SPEC`` (``{"out_dir": DIR, "capture": N, "user_roots": [...],
"exclude": [...]}``, or ``"targets": [[file, qualname], ...]`` to count only those) and hands over to
:mod:`_phasm_perf_count`, which counts the calls (and sizes the first calls' arguments and results) and writes
``DIR/counts-PID.json`` at exit. A failure to install is written there too, so phasm-perf can say why there are no
counts. Any ``sitecustomize`` the environment already had is loaded after it.
"""

import json
import os
import sys


def _gate():
    """Hold the program, running Python code (so the sampler finds the interpreter at once), until phasm-perf
    opens the gate; only in the interpreter phasm-perf started for the program (not a launcher's, not a child's)."""
    raw = os.environ.pop("PHASM_PERF_GATE", None)  # popped: the program's own child processes never wait
    if not raw:
        return
    try:
        spec = json.loads(raw)
        if os.getppid() != spec["parent"] or not _runs(spec.get("script")):
            return
        import time

        deadline = time.monotonic() + float(spec["seconds"])
        go = spec["go"]
        open(go + ".held", "w").close()  # phasm-perf knows the program waited: it missed nothing of it
        while not os.path.exists(go) and time.monotonic() < deadline:
            n = 0
            while n < 20000:  # a fraction of a millisecond holding the GIL between two looks at the file
                n += 1
    except Exception:  # never break the user's program: it runs, sampled from wherever the sampler starts
        return


def _runs(script):
    """This interpreter runs ``script`` (a resolved path, or ``-m MODULE``)."""
    if not script:
        return True
    try:
        with open("/proc/self/cmdline", "rb") as fh:
            args = [a.decode("utf-8", "surrogateescape") for a in fh.read().split(b"\0") if a]
    except OSError:
        return False
    i, args = 0, args[1:]  # what the interpreter runs: its first argument after its own options (launch.script_of)
    while i < len(args):
        a = args[i]
        if a == "-m":
            return script == "-m " + (args[i + 1] if i + 1 < len(args) else "")
        if a == "-c":
            return False
        if a in ("-X", "-W", "--check-hash-based-pycs"):
            i += 2
        elif a.startswith("-") and a != "-":
            i += 1
        else:
            return os.path.realpath(a) == script
    return False


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
    _gate()
    _install()
finally:
    _chain()
