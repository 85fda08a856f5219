"""The discovered variables of a compiled function (``discover.native``) as the C the shim is made of.

    plan = make_plan(located, inputs, outputs)      # Resolved variables from discover.variables
    plan.columns_in, plan.columns_out               # one name per captured number: xyz[0], this->gain, bx, ...
    spec = plan.shim(model_inputs=[...])            # a native.shim.ShimSpec (model_inputs: indexes into columns_in)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.errors import PhasmError
from ...discover.dwarf import CType
from ...discover.native import Located
from ...discover.variables import Resolved
from ...native.shim import ShimSpec

C_OF = {"float64": "double", "float32": "float", "int64": "int64_t", "int32": "int32_t", "int16": "int16_t",
        "int8": "int8_t", "uint64": "uint64_t", "uint32": "uint32_t", "uint16": "uint16_t", "uint8": "uint8_t",
        "bool": "_Bool"}


def _scalar_c(t: CType) -> str:
    if t.kind in ("pointer", "reference"):
        return "char*"
    if t.kind == "enum":
        return {1: "int8_t", 2: "int16_t", 8: "int64_t"}.get(t.size, "int32_t")
    if t.kind == "base" and t.dtype in C_OF:
        return C_OF[t.dtype]
    raise PhasmError(f"a parameter of type {t.name} cannot be passed by the replacement")


def _struct_c(t: CType, tag: str) -> str:
    """A C struct the compiler passes exactly as the original (MEMORY class: only size and alignment matter)."""
    if t.size > 16:
        return f"struct {tag} {{ unsigned char b[{t.size}]; }} __attribute__((aligned(8)));"
    from ...discover.abi import _fields
    fields = []
    for k, (off, leaf) in enumerate(_fields(t)):
        fields.append(f"{_scalar_c(leaf)} f{k};")
    return f"struct {tag} {{ {' '.join(fields)} }};"


@dataclass
class Column:
    name: str
    read: str            # a C expression that reads it
    dtype: str


@dataclass
class Plan:
    params: list[str]
    ret: str
    typedefs: str
    columns_in: list[Column]
    columns_out: list[Column]
    counters: list[str]
    counter_names: list[str]
    globals: list[int] = field(default_factory=list)
    ret_kind: str = "none"
    ret_size: int = 0
    stack_args: bool = False

    def shim(self, mode_inputs: list[int] | None = None) -> ShimSpec:
        model_in = [self.columns_in[i].read for i in (mode_inputs if mode_inputs is not None
                                                      else range(len(self.columns_in)))]
        return ShimSpec(ret=self.ret, params=self.params, typedefs=self.typedefs,
                        cap_in=[c.read for c in self.columns_in], cap_out=[c.read for c in self.columns_out],
                        model_in=model_in, model_out=[c.read for c in self.columns_out], counters=self.counters,
                        globals=self.globals, ret_kind=self.ret_kind, ret_size=self.ret_size)


def make_plan(loc: Located, inputs: list[Resolved], outputs: list[Resolved]) -> Plan:
    typedefs: list[str] = []
    params = []
    for i, a in enumerate(loc.args):
        if a.type.kind in ("struct", "array"):
            typedefs.append(_struct_c(a.type, f"phasm_arg{i}"))
            params.append(f"struct phasm_arg{i}")
        else:
            params.append(_scalar_c(a.type))
    rt = loc.fn.returns
    if rt.kind == "void":
        ret = "void"
    elif rt.kind in ("struct", "array"):
        typedefs.append(_struct_c(rt, "phasm_ret"))
        ret = "struct phasm_ret"
    else:
        ret = _scalar_c(rt)
    globals_: list[int] = []
    scalar_args = {i for i, a in enumerate(loc.args) if a.type.kind not in ("struct", "array")}

    def expr(r: Resolved, e: int) -> str:
        ct = C_OF.get(r.var.dtype)
        if ct is None:
            raise PhasmError(f"{r.var.name} ({r.var.dtype}) cannot be read or written by the replacement")
        kind, *rest = r.path
        off = e * r.esize
        if kind == "arg":
            return f"*({ct}*)(a{rest[0]} + {rest[1] + off})"
        if kind == "argmember":
            return f"*({ct}*)(*(char**)(a{rest[0]} + {rest[1]}) + {off})"
        if kind == "global":
            if rest[0] not in globals_:
                globals_.append(rest[0])
            return f"*({ct}*)(g[{globals_.index(rest[0])}] + {off})"
        if kind == "value":
            return f"a{rest[0]}" if rest[0] in scalar_args else f"*({ct}*)((char*)&a{rest[0]} + {rest[1]})"
        if kind == "return":
            return "r" if rt.kind not in ("struct", "array") else f"*({ct}*)((char*)&r + {rest[0]})"
        raise PhasmError(f"{r.var.name}: no way to reach it from the replacement")

    def columns(items: list[Resolved]) -> list[Column]:
        out = []
        for r in items:
            if r.counter_step is not None:
                continue
            base = r.var.name.split("[")[0]
            for e in range(r.count):
                out.append(Column(base if r.count == 1 else f"{base}[{e}]", expr(r, e), r.var.dtype))
        return out

    cols_in, cols_out = columns(inputs), columns(outputs)
    counters, counter_names = [], []
    for r in outputs:
        if r.counter_step is not None:
            counters.append(f"{expr(r, 0)} += {int(r.counter_step)};")
            counter_names.append(r.var.name)
    return Plan(params=params, ret=ret, typedefs="\n".join(typedefs), columns_in=cols_in, columns_out=cols_out,
                counters=counters, counter_names=counter_names, globals=globals_, ret_kind=loc.ret.kind,
                ret_size=loc.ret.size, stack_args=any(a.stack is not None for a in loc.args))
