"""Generate and build the replacement of one compiled function (``runtime/shim.c`` filled in).

The caller (bench) describes the function in C: its parameter and result types, and C expressions that read each
captured input and output and write each surrogate output. This module only assembles and compiles them; it knows
nothing of DWARF or of the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .build import build_shared, shipped


@dataclass
class ShimSpec:
    ret: str                                  # C type of the result: void, double, struct phasm_ret, ...
    params: list[str]                         # C types of the parameters, in order
    typedefs: str = ""                        # struct declarations the types need
    cap_in: list[str] = field(default_factory=list)     # expressions read before the call (as double)
    cap_out: list[str] = field(default_factory=list)    # expressions read after it (`r`: the result)
    model_in: list[str] = field(default_factory=list)   # expressions, the surrogate's inputs in order
    model_out: list[str] = field(default_factory=list)  # lvalues the surrogate's outputs go to (`r.` for the result)
    counters: list[str] = field(default_factory=list)   # statements: `*(int64_t*)(g[0]) += 1;`
    globals: list[int] = field(default_factory=list)    # offsets from the module's base: g[i]
    ret_kind: str = "none"                    # none | int | xmm | sret: which registers carry the result
    ret_size: int = 0


def source(spec: ShimSpec) -> str:
    void = spec.ret == "void"
    names = [f"a{i}" for i in range(len(spec.params))]
    call = f"orig({', '.join(names)})"
    model_out = [f"        {lv} = out[{j}];" for j, lv in enumerate(spec.model_out)]
    if void:
        model_out.append("        return;")
    else:
        model_out = [f"        {spec.ret} r;", "        memset(&r, 0, sizeof r);", *model_out, "        return r;"]
    fills = {
        "TYPEDEFS": spec.typedefs,
        "RET": spec.ret,
        "PARAMS": ", ".join(spec.params) or "void",
        "PARAMS_NAMED": ", ".join(f"{t} {n}" for t, n in zip(spec.params, names)) or "void",
        "N_CAP_IN": str(len(spec.cap_in)),
        "N_CAP_OUT": str(len(spec.cap_out)),
        "N_MODEL_IN": str(len(spec.model_in)),
        "N_MODEL_OUT": str(len(spec.model_out)),
        "N_GLOBALS": str(len(spec.globals)),
        "MODEL_IN": "\n".join(f"        in[{j}] = (float)({e});" for j, e in enumerate(spec.model_in)),
        "COUNTERS": "\n".join(f"        {s}" for s in spec.counters),
        "MODEL_OUT": "\n".join(model_out),
        "CAP_IN": "\n".join(f"        before[{j}] = (double)({e});" for j, e in enumerate(spec.cap_in)),
        "CALL_ORIG": f"{call};" if void else f"{spec.ret} r = {call};",
        "CAP_OUT": "\n".join(f"            after[{j}] = (double)({e});" for j, e in enumerate(spec.cap_out)),
        "RETURN_R": "return;" if void else "return r;",
        "PASS": f"{call}; return;" if void else f"return {call};",
        "GLOBALS": "\n".join(f"    g[{i}] = base + {off}L;" for i, off in enumerate(spec.globals)),
    }
    keep_xmm = {"xmm": 2 if spec.ret_size > 8 else 1}.get(spec.ret_kind, 0)
    fills["RESTORE_XMM"] = "\n".join(f'    "movdqu {16 * i}(%rsp),%xmm{i}\\n"' for i in range(keep_xmm, 16))
    fills["RESTORE_RAX"] = ('    "add $8,%rsp\\n"' if spec.ret_kind in ("int", "sret") else '    "pop %rax\\n"')
    text = shipped("shim.c")
    for key, value in fills.items():
        text = text.replace(f"/*@{key}@*/", value)
    return text


def build(spec: ShimSpec) -> Path:
    return build_shared(source(spec), "phasm-shim", "c")
