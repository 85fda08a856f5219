"""The output of model-variable discovery (``phasm-perf vars``): a function's real inputs and outputs.

Shared by the Python and the compiled-code discovery, read by ``rank`` (input and output sizes for the model),
``bench`` (what to capture, train on and write back) and the reports. Versioned: bump ``VARS_SCHEMA_VERSION`` on a
breaking change.

A variable that is read and written (an array updated in place) has ``direction`` ``inout`` and appears in both
``inputs`` and ``outputs``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

VARS_SCHEMA_VERSION = 1

Kind = Literal[
    "argument",   # a parameter of the function (Python: an argument; C/C++: a parameter passed by value)
    "element",    # items of a list, tuple, dict or array argument that are read or written
    "attribute",  # self.x, obj.attr, through any object reachable from the arguments
    "global",     # module-level names (and their items), C/C++ globals and statics
    "closure",    # a Python closure variable
    "reference",  # C++: what a reference parameter refers to
    "pointer",    # C/C++: what a pointer parameter points to (a scalar, an array, a struct)
    "member",     # C++: a member read or written through `this`
    "return",     # the return value
]
Direction = Literal["in", "out", "inout"]


class Variable(BaseModel):
    name: str = Field(description="as a user writes it: state, self.gain, CONFIG['scale'], hits[0:n], result")
    kind: Kind
    direction: Direction
    dtype: str = Field(description="numpy-style element type: float64, float32, int64, int32, bool, ...")
    shape: list[int] = Field(default_factory=list, description="array shape; [] for a scalar")
    size: int = Field(description="number of scalars")
    bytes: int = Field(description="bytes per call (size x element size)")
    min: float | None = Field(None, description="smallest value observed (numbers only)")
    max: float | None = Field(None, description="largest value observed (numbers only)")
    constant: bool = Field(False, description="the same value in every observed call: need not be a surrogate input")
    in_signature: bool = Field(True, description="reached through the function's parameters or return value "
                                                 "(False: a global, a closure variable, ...)")
    type: str | None = Field(None, description="the source language's type where known (C++: `const double&`)")
    counter: float | None = Field(None, description="a counter: the function steps it by this much in every "
                                                    "observed call (replayed by bench, not a surrogate input or "
                                                    "output)")
    note: str | None = None


class Unresolved(BaseModel):
    name: str
    kind: str
    type: str | None = None
    reason: str = Field(description="why it could not be sized or typed, and how to say what it is "
                                    "(e.g. --input 'hits:double[n]')")


class Summary(BaseModel):
    input_size: int = Field(description="d_0: scalars in, constants excluded")
    output_size: int = Field(description="d_L: scalars out")
    input_bytes: int
    output_bytes: int
    constant_inputs: int = Field(0, description="scalars read that stayed constant (left out of input_size)")
    outside_signature: float = Field(0.0, description="share of the input scalars that are not in the signature")


class Batching(BaseModel):
    """Whether calls can be batched: a batch exists only if calls are independent (in ``p = f(p)`` each call
    needs the previous one's result)."""

    dependent: bool | None = Field(None, description="an output of one call flows into an input of a later one; "
                                                     "None: not determined")
    chains: list[str] = Field(default_factory=list, description="the outputs that feed later inputs, with how")
    independent_calls: int | None = Field(None, description="calls that could form one batch as the program stands "
                                                            "(per iteration of the event loop)")
    note: str | None = None


class VarsReport(BaseModel):
    schema_version: int = VARS_SCHEMA_VERSION
    tool_version: str
    function: str
    language: Literal["python", "native"]
    argv: list[str] = []
    calls: int = Field(description="calls of the function during the run")
    observed_calls: int = Field(description="calls observed in detail (all of the first N, then a thinning sample)")
    inputs: list[Variable]
    outputs: list[Variable]
    unresolved: list[Unresolved] = []
    summary: Summary
    batching: Batching = Batching()
    effects: list[str] = Field(default_factory=list, description="effects a surrogate cannot reproduce (printing, "
                                                                 "files written, objects allocated and kept)")
    notes: list[str] = []
