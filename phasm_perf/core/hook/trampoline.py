"""Find ``MODULE:QUALNAME`` as the program defines it and swap a trampoline into its code object.

Runs inside the user's program (loaded by the hook's ``sitecustomize``); an agent subclasses :class:`FunctionHook`
and says, in :meth:`FunctionHook.handlers`, what a call does (capture, answer with a surrogate, observe).

How, robustly, including for functions defined in the script itself (``__main__``, which no import hook ever
sees): a trace function (``sys.settrace``) watches only the ``<module>`` frame of the target module, line by line;
right after the ``def`` (or the ``class``) has bound the name, the function object's ``__code__`` is replaced by a
small trampoline that calls the agent's handler, and tracing is switched off for good: from then on the program
runs at full speed. Replacing ``__code__`` rather than the module attribute keeps the function's identity, so every
reference to it (``from mod import f``, a dispatch table, a callback, a bound method) reaches the trampoline. A
function that the module does not bind by name (a nested ``def``) is caught at its first call instead, and that one
call runs the original (reported as ``first_call_original``).
"""

from __future__ import annotations

import gc
import inspect
import os
import sys
import threading
import types

BATCH_ATTR = "__phasm_perf_batch__"  # the attribute set on a swapped function: ``handler(self_or_None, calls)``
_counter = [0]


def code_qualname(code: types.CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)


def same_file(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


class FunctionHook:
    """One target function: found at its definition (or first call) and swapped for a trampoline."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.module = spec["module"]
        self.qualname = spec["qualname"]
        self.script = spec.get("script")
        self.last = self.qualname.rsplit(".", 1)[-1]
        self.swapped = 0
        self.swap_how: str | None = None
        self.first_call_original = False
        self.calls = 0
        self.orig: types.FunctionType | None = None  # the original function (its own code), once swapped
        #: set by :meth:`handlers` for a counting fast path in the trampoline itself: ``(counter, limit, original,
        #: entry)``: ``counter[0] += 1``; below ``limit[0]`` the original is called, else ``entry(args, kwargs)``
        self.fast: tuple | None = None
        self.tramp_code: types.CodeType | None = None

    # ---- what a call does: the agent's part ------------------------------------------------------------
    def handlers(self, orig: types.FunctionType, sig: inspect.Signature):
        """``(call(args, kwargs), batch(self_or_None, calls))`` for the swapped function."""
        raise NotImplementedError

    # ---- finding the function ----------------------------------------------------------------------------
    def module_matches(self, g: dict) -> bool:
        name = g.get("__name__")
        if name == self.module:
            return True
        return bool(self.script) and name == "__main__" and same_file(g.get("__file__"), self.script)

    def resolve(self, g: dict):
        if "<locals>" in self.qualname:
            return None
        parts = self.qualname.split(".")
        obj = g.get(parts[0])
        for p in parts[1:]:
            if obj is None:
                return None
            raw = getattr(obj, "__dict__", {}).get(p)
            obj = raw if raw is not None else getattr(obj, p, None)
        return obj

    def unwrap(self, obj):
        for _ in range(20):
            if isinstance(obj, (staticmethod, classmethod)) or inspect.ismethod(obj):
                obj = obj.__func__
            elif isinstance(obj, types.FunctionType) and self.qualname in (obj.__qualname__,
                                                                             code_qualname(obj.__code__)):
                return obj  # (3.10 code objects have no co_qualname: the function's own __qualname__ says it)
            elif hasattr(obj, "__wrapped__"):
                obj = obj.__wrapped__
            else:
                return None
        return None

    def start_watch(self) -> None:
        sys.settrace(self._global_trace)
        threading.settrace(self._global_trace)

    def stop_watch(self) -> None:
        sys.settrace(None)
        threading.settrace(None)

    def _global_trace(self, frame, event, arg):
        if self.swapped:
            return None
        code = frame.f_code
        if code.co_name == "<module>":
            return self._module_trace if self.module_matches(frame.f_globals) else None
        if code.co_name == self.last and code_qualname(code) in (self.qualname, self.last) and \
                self.module_matches(frame.f_globals):  # (3.10: no co_qualname; the function object has it)
            funcs = [o for o in gc.get_referrers(code) if isinstance(o, types.FunctionType) and o.__code__ is code
                     and o.__qualname__ == self.qualname]
            for f in funcs:
                self.swap(f, "first call")
            if funcs:
                self.first_call_original = True
                self.calls += 1
                self.stop_watch()
        return None

    def _module_trace(self, frame, event, arg):
        if self.swapped:
            return None
        f = self.unwrap(self.resolve(frame.f_globals))
        if f is not None:
            self.swap(f, "definition")
            self.stop_watch()
            return None
        return self._module_trace

    # ---- swapping ----------------------------------------------------------------------------------------
    def swap(self, func: types.FunctionType, how: str) -> None:
        code = func.__code__
        orig = types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
        orig.__kwdefaults__ = func.__kwdefaults__
        orig.__qualname__ = func.__qualname__
        sig = inspect.signature(orig)
        self.orig = orig
        handler, batch = self.handlers(orig, sig)
        _counter[0] += 1
        gname = f"__phasm_perf_hook_{_counter[0]}__"
        func.__globals__[gname] = handler
        nfree = len(code.co_freevars)
        src = ["def _outer():"] + [f"    _phasm_fv{i} = None" for i in range(nfree)]
        params, call_args, pack = ("*args, **kwargs", "*args, **kwargs", "args, kwargs") if self.fast is None \
            else _parameters(code)
        src += [f"    def {code.co_name}({params}):"]
        if nfree:
            src += ["        " + ", ".join(f"_phasm_fv{i}" for i in range(nfree))]
        if self.fast is not None:  # count here and call the original directly: no handler call on the way
            counter, limit, original, entry = self.fast
            g = func.__globals__
            g[gname + "c"], g[gname + "l"], g[gname + "o"], g[gname] = counter, limit, original, entry
            src += [f"        {gname}c[0] += 1", f"        if {gname}c[0] < {gname}l[0]:",
                    f"            return {gname}o({call_args})"]
        src += [f"        return {gname}({pack})", f"    return {code.co_name}"]
        ns: dict = {}
        exec("\n".join(src), {}, ns)  # noqa: S102 - fixed source, no user text
        tramp = ns["_outer"]().__code__
        tramp = tramp.replace(co_filename=code.co_filename, co_firstlineno=code.co_firstlineno)
        func.__code__ = tramp
        self.tramp_code = tramp
        func.__signature__ = sig
        setattr(func, BATCH_ATTR, batch)
        self.swapped += 1
        self.swap_how = how

    @staticmethod
    def binder(sig: inspect.Signature):
        """``(names, values(args, kwargs))``: the parameters' names and a fast way to get their values in order."""
        names = list(sig.parameters)
        simple = all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in sig.parameters.values())
        n = len(names)

        def values(args, kwargs):
            if simple and not kwargs and len(args) == n:
                return args
            ba = sig.bind(*args, **kwargs)
            ba.apply_defaults()
            return [ba.arguments[k] for k in names]

        return names, values

    def status(self) -> str:
        """called, never_called, module_not_imported, function_not_found, not_a_python_function:KIND."""
        if self.swapped:
            return "called" if self.calls else "never_called"
        main = sys.modules.get("__main__")
        mod = sys.modules.get(self.module)
        if mod is None and main is not None and self.script and same_file(getattr(main, "__file__", None),
                                                                            self.script):
            mod = main
        if mod is None:
            return "module_not_imported"
        obj = self.resolve(vars(mod))
        if obj is None:
            return "function_not_found"
        if self.unwrap(obj) is None:
            return f"not_a_python_function:{type(obj).__name__}"
        return "never_called"

    def module_globals(self) -> dict | None:
        """The target's module namespace, once swapped."""
        return self.orig.__globals__ if self.orig is not None else None


def _parameters(code: types.CodeType) -> tuple[str, str, str]:
    """The function's own parameter list (its defaults stay on the function object and apply to it alike), how to
    pass them on to the original, and how to pack them as ``args, kwargs``: a trampoline with the same signature
    spares packing ``*args``/``**kwargs`` on every call."""
    names = code.co_varnames
    n, k = code.co_argcount, code.co_kwonlyargcount
    pos, kwonly = list(names[:n]), list(names[n:n + k])
    i = n + k
    star = names[i] if code.co_flags & inspect.CO_VARARGS else None
    dstar = names[i + bool(star)] if code.co_flags & inspect.CO_VARKEYWORDS else None
    params = list(pos)
    if code.co_posonlyargcount:
        params.insert(code.co_posonlyargcount, "/")
    params += [f"*{star}"] if star else (["*"] if kwonly else [])
    params += kwonly + ([f"**{dstar}"] if dstar else [])
    positional = pos + ([f"*{star}"] if star else [])
    keywords = [f"{a}={a}" for a in kwonly] + ([f"**{dstar}"] if dstar else [])
    packed_kw = "{" + ", ".join([f"{a!r}: {a}" for a in kwonly] + ([f"**{dstar}"] if dstar else [])) + "}"
    packed = f"({', '.join(positional)}{',' if positional else ''}), {packed_kw}"
    return ", ".join(params), ", ".join(positional + keywords), packed
