"""One observed call, inside the program: what it read (first), what it wrote, and through which names.

Every object the call reaches from the function's roots (its arguments, its module's globals, its closure cells)
gets a name (:class:`Ref`), remembered by identity, so a callee that reads ``obj.gain`` where ``obj`` is the
caller's ``self.stage`` records ``self.stage.gain``. Numbers are never named by identity (small ints are shared);
locals created in the call are never named, so they are never inputs.
"""

from __future__ import annotations

import builtins
import io
import random
import sys
import types
from typing import Any, NamedTuple

from .bytecode import Site
from .paths import MISSING, format_name, follow, get_step
from .values import Desc, describe, is_array

SETTLE = 8  # a site that gave the same names this many times in a row is not evaluated again in this call
_WRITES = {"write", "writelines", "truncate"}
_FILE_FUNCS = {("os", "write"): "writes a file (os.write)", ("os", "fsync"): "writes a file (os.fsync)",
               ("os", "remove"): "removes a file", ("os", "rename"): "renames a file",
               ("os", "makedirs"): "creates folders", ("os", "mkdir"): "creates a folder",
               ("numpy", "save"): "writes a file (numpy.save)", ("numpy", "savetxt"): "writes a file",
               ("numpy", "savez"): "writes a file (numpy.savez)", ("pickle", "dump"): "writes a file (pickle)",
               ("json", "dump"): "writes a file (json.dump)", ("shutil", "copy"): "copies a file"}


class Ref(NamedTuple):
    """A name for a value: its root (an argument, a module's global, a closure cell) and the steps from it."""

    root_kind: str  # arg, global, cell
    root: str  # the name as written: the argument's, the global's (``mod.NAME`` for another module), the cell's
    holder: Any  # the argument's object, the module's dict, the cell
    key: str  # the argument name, the global's name in ``holder``, the cell's name
    steps: tuple = ()

    @property
    def name(self) -> str:
        return format_name(self.root, self.steps)

    @property
    def kind(self) -> str:
        if self.root_kind == "global":
            return "global"
        if self.root_kind == "cell":
            return "closure"
        if not self.steps:
            return "argument"
        return "attribute" if any(k == "attr" for k, _ in self.steps) else "element"

    def plus(self, step: tuple) -> "Ref":
        return self._replace(steps=self.steps + (step,))

    def root_value(self) -> Any:
        if self.root_kind == "arg":
            return self.holder
        if self.root_kind == "global":
            return self.holder.get(self.key, MISSING)
        try:
            return self.holder.cell_contents
        except ValueError:
            return MISSING

    def value(self) -> Any:
        root = self.root_value()
        return follow(root, self.steps) if root is not MISSING else MISSING


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (int, float, complex, str, bytes, bool)) or type(v).__module__ == "numpy" \
        and not is_array(v) and hasattr(v, "dtype")


class Call:
    """The state of one observed call of the function ``code`` (whose frame is ``frame`` once it starts)."""

    def __init__(self, code: types.CodeType, params: dict, module_globals: dict, cells: dict, user_module) -> None:
        self.code = code
        self.params = params  # name -> value, as bound at entry
        self.module_globals = module_globals
        self.module_name = module_globals.get("__name__")
        self.cells = cells  # free variable name -> cell
        self.user_module = user_module  # callable(module) -> bool
        self.names: dict[int, Ref] = {}
        self.keep: list = []  # the named objects, alive for the call (ids stay unique)
        self.first: dict[str, str] = {}  # name -> read | write (its first access)
        self.refs: dict[str, Ref] = {}
        self.read: dict[str, Desc] = {}  # the value at the first read
        self.written: dict[str, Any] = {}  # name -> detail (None, a set of positions, "many")
        self.unresolved: dict[str, tuple[str, str]] = {}  # name -> (kind, reason)
        self.effects: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.last: dict[tuple, tuple] = {}  # site key -> (names it gave, repeats)
        self.frame = None
        self.novel = 0  # grows with every name, reason or effect seen for the first time (tracing backs off)
        self.snapped: set[int] = set()  # the module namespaces copied before the call
        self.roots: list = []  # [(Ref, snapshot)] to compare after the call
        for name, value in params.items():
            ref = Ref("arg", name, value, name)
            self.refs[name] = ref
            if _is_scalar(value):
                self.note_read(ref, value)
            else:
                self.name(value, ref)
                if isinstance(value, io.IOBase):
                    self.effects["takes a file object"] = f"argument {name}"

    # ---- names -------------------------------------------------------------------------------------------
    def name(self, value: Any, ref: Ref) -> None:
        if not _is_scalar(value) and id(value) not in self.names:
            self.names[id(value)] = ref
            self.keep.append(value)

    def ref_of(self, value: Any) -> Ref | None:
        ref = self.names.get(id(value))
        return ref if ref is not None and not _is_scalar(value) else None

    # ---- reads and writes --------------------------------------------------------------------------------
    def note_read(self, ref: Ref, value: Any) -> None:
        name = ref.name
        if name in self.first:
            return
        d = describe(value)
        if d is None:
            return  # an object: its attributes are the variables
        self.first[name] = "read"
        self.novel += 1
        self.refs[name] = ref
        if isinstance(d, Desc):
            self.read[name] = d
        else:
            self.unresolved.setdefault(name, (ref.kind, d))

    def note_write(self, ref: Ref, detail: Any = None) -> None:
        name = ref.name
        if name not in self.first:
            self.first[name] = "write"
            self.novel += 1
        self.refs[name] = ref
        old = self.written.get(name, False)
        if old is False:
            self.written[name] = detail
        elif old is not None and detail != old:
            self.written[name] = None if detail is None or old == "many" or detail == "many" else old | detail

    # ---- sites -------------------------------------------------------------------------------------------
    def on_sites(self, frame, sites: tuple[Site, ...], key: tuple) -> bool:
        """Evaluate the sites of one instruction; True when they have settled (nothing new for a while)."""
        got = tuple(self.site(frame, s) for s in sites)
        last, n = self.last.get(key, (None, 0))
        n = n + 1 if got == last else 1
        self.last[key] = (got, n)
        return n >= SETTLE

    def site(self, frame, s: Site) -> Any:
        if s.base == "store_global":
            ref = self._global_ref(frame, s.name, None)
            if ref is not None:
                self.note_write(ref)
            return s.name
        if s.base == "store_deref":
            if frame is self.frame and s.name in self.cells:
                self.note_write(Ref("cell", s.name, self.cells[s.name], s.name))
            return s.name
        value, ref = self._root(frame, s)
        if value is MISSING:
            return None
        for kind, key in s.steps:
            if kind == "itemvar":
                key = frame.f_locals.get(key, MISSING)
                if key is MISSING or not isinstance(key, (int, str, tuple)) or isinstance(key, bool):
                    break
                kind = "item"
            nxt = get_step(value, (kind, key))
            if nxt is MISSING:
                break
            ref = ref.plus((kind, key)) if ref is not None else self.ref_of(nxt)
            value = nxt
            if ref is not None:
                self.name(value, ref)
        else:
            return self._end(frame, s, value, ref)
        if ref is not None and s.end in ("value", "method"):
            self.note_read(ref, value)
        return ref.name if ref is not None else None

    def _end(self, frame, s: Site, value: Any, ref: Ref | None) -> Any:
        if s.end == "method":
            self._method_effect(value, s.end_arg, ref)
        if ref is None:
            return None
        if s.end in ("value", "method"):
            self.note_read(ref, value)
        elif s.end == "store_attr":
            self.note_write(ref.plus(("attr", s.end_arg)))
        elif s.end == "store_item":
            self.note_write(ref.plus(("item", s.end_arg)))
        else:  # store_itemvar
            key = frame.f_locals.get(s.end_arg, MISSING)
            ok = isinstance(key, (int, str, tuple)) and not isinstance(key, bool)
            self.note_write(ref.plus(("item", key)) if ok else ref)
        return ref.name

    def _root(self, frame, s: Site) -> tuple[Any, Ref | None]:
        if s.base == "global":
            g = frame.f_globals
            value = g.get(s.name, MISSING)
            if value is MISSING:
                value = getattr(builtins, s.name, MISSING)
                self._builtin_effect(value)
                return MISSING, None
            return value, self._global_ref(frame, s.name, value)
        value = frame.f_locals.get(s.name, MISSING)
        if value is MISSING:
            return MISSING, None
        if s.base == "fast" and frame is self.frame and s.name in self.params:
            if value is self.params[s.name]:
                return value, self.refs.get(s.name) if s.name in self.refs else Ref("arg", s.name, value, s.name)
        if s.base == "deref" and frame is self.frame and s.name in self.cells:
            return value, Ref("cell", s.name, self.cells[s.name], s.name)
        return value, self.ref_of(value)

    def _global_ref(self, frame, name: str, value: Any) -> Ref | None:
        if isinstance(value, (types.FunctionType, type, types.BuiltinFunctionType)):
            return None
        if isinstance(value, types.ModuleType) and not self.user_module(value):
            return None
        g = frame.f_globals
        mod = g.get("__name__")
        root = name if g is self.module_globals else f"{mod}.{name}"
        return Ref("global", root, g, name)

    # ---- effects a surrogate cannot reproduce --------------------------------------------------------------
    def _builtin_effect(self, value: Any) -> None:
        if value is builtins.print:
            self.effects["prints"] = "print()"
        elif value is builtins.open:
            self.effects["opens files"] = "open()"
        elif value is builtins.input:
            self.effects["reads the terminal"] = "input()"

    def _method_effect(self, receiver: Any, method: str, ref: Ref | None) -> None:
        if isinstance(receiver, types.ModuleType):
            base = receiver.__name__.split(".")[0]
            what = _FILE_FUNCS.get((base, method))
            if what:
                self.effects[what] = f"{receiver.__name__}.{method}"
            elif base == "random" or receiver.__name__ == "numpy.random":
                self.notes["draws random numbers"] = f"{receiver.__name__}.{method}"
            elif base == "time" and method == "sleep":
                self.notes["waits"] = "time.sleep"
            return
        if isinstance(receiver, (io.StringIO, io.BytesIO)):
            return  # in memory: no file
        if method in _WRITES and (isinstance(receiver, io.IOBase) or hasattr(receiver, "fileno")):
            stream = receiver in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
            self.effects["prints" if stream else "writes a file"] = f".{method}()"
        elif isinstance(receiver, random.Random) or type(receiver).__name__ in ("Generator", "RandomState"):
            who = ref.name if ref is not None else type(receiver).__name__
            self.notes["draws random numbers"] = f"{who}.{method}"
