"""The surrogate vocabulary, once: architecture (``mlp:64x64``), dtype (``fp32``), activation, batch sizes and
runtime (``eager``), each with one parser and one printer. ``predict``, ``rank``, ``bench``, its sweep and ``search`` all use it.

Parsers raise ``ValueError`` with a one-line message (the command line turns it into a usage error).

    >>> s = SurrogateSpec.parse("mlp:64x64", dtype="float32", batches="1,8,64")
    >>> str(s), s.dtype, s.torch_dtype, s.batches
    ('mlp:64x64', 'fp32', 'float32', (1, 8, 64))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

#: element size in bytes of each dtype the model knows (the vocabulary: ``fp32``, not ``float32``)
DTYPE_BYTES: dict[str, int] = {"fp64": 8, "fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2}
DTYPES = tuple(DTYPE_BYTES)
#: the PyTorch dtype each one runs as (tf32 is fp32 storage with TensorFloat-32 matrix products)
TORCH_DTYPES: dict[str, str] = {"fp64": "float64", "fp32": "float32", "tf32": "float32", "bf16": "bfloat16",
                                "fp16": "float16"}
_DTYPE_ALIASES = {"float64": "fp64", "double": "fp64", "float32": "fp32", "float": "fp32", "bfloat16": "bf16",
                  "float16": "fp16", "half": "fp16"}
ACTIVATIONS = ("relu", "silu", "tanh", "gelu")
#: how bench normalises a surrogate's inputs before training (standard: mean 0, sd 1; minmax: into [0, 1])
NORMALISATIONS = ("standard", "minmax", "none")

#: the runtimes a surrogate can run in: a prediction is for one of them (their costs differ by 2-7x at batch 1)
RUNTIMES: dict[str, str] = {
    "eager": "the nn.Module (nn.Sequential) in eager mode under torch.no_grad: what bench swaps in",
    "inference": "the same nn.Module under torch.inference_mode",
    "functional": "torch.nn.functional calls (F.linear, the activation) from a plain Python function",
    "export": "the torch.export program's module (ExportedProgram.module(): a GraphModule with shape checks)",
    "compile": "torch.compile(module) (Inductor), once compiled",
    "aoti": "an AOTInductor package run from C++ (libtorch's AOTIModelPackageLoader)",
    "native": "phasm-perf's C++ MLP runtime inside a compiled program, one call at a time (bench on compiled code)",
}
#: what bench swaps into the program unless told otherwise, and so what a prediction is for by default
DEFAULT_RUNTIME = "eager"
#: the runtimes ``hw measure`` measures by default (compile takes tens of seconds to build: asked for by name)
MEASURED_RUNTIMES = ("eager", "inference", "functional", "export")
_RUNTIME_ALIASES = {"no_grad": "eager", "nograd": "eager", "module": "eager", "inference_mode": "inference",
                    "f": "functional", "torch.export": "export", "exported": "export", "torch.compile": "compile",
                    "inductor": "compile", "aotinductor": "aoti", "aot": "aoti"}


def parse_dtype(text: str) -> str:
    """``"fp32"``, ``"float32"`` or ``"FP32"`` -> ``"fp32"``."""
    key = str(text).strip().lower()
    key = _DTYPE_ALIASES.get(key, key)
    if key not in DTYPE_BYTES:
        raise ValueError(f"dtype {text!r} is not known: choose one of {', '.join(DTYPES)}")
    return key


def parse_runtime(text: str) -> str:
    """``"eager"``, ``"no_grad"`` -> ``"eager"``; ``"inference_mode"`` -> ``"inference"``; ... (see RUNTIMES)."""
    key = str(text).strip().lower().replace("-", "_")
    key = _RUNTIME_ALIASES.get(key, key)
    if key not in RUNTIMES:
        raise ValueError(f"runtime {text!r} is not known: choose one of {', '.join(RUNTIMES)}")
    return key


def parse_hidden(spec: str) -> tuple[int, ...]:
    """``"mlp:64x64"`` -> ``(64, 64)``; ``"mlp:linear"`` (or ``"mlp:"``) -> ``()``, a single linear layer."""
    text = str(spec).strip().lower()
    if not text.startswith("mlp:"):
        raise ValueError(f"surrogate {spec!r} is not understood: write mlp:HIDDEN, e.g. mlp:64x64")
    body = text[4:]
    if body in ("", "linear"):
        return ()
    try:
        widths = tuple(int(w) for w in body.split("x"))
    except ValueError:
        raise ValueError(f"surrogate {spec!r}: hidden widths must be integers joined by 'x', e.g. mlp:64x64") from None
    if any(w < 1 for w in widths):
        raise ValueError(f"surrogate {spec!r}: hidden widths must be >= 1")
    return widths


def hidden_text(hidden: Sequence[int]) -> str:
    """The inverse of :func:`parse_hidden`: ``(64, 64)`` -> ``"mlp:64x64"``, ``()`` -> ``"mlp:linear"``."""
    return "mlp:" + ("x".join(str(int(h)) for h in hidden) if hidden else "linear")


def powers_of_two(upto: int) -> list[int]:
    """``[1, 2, 4, ...]`` up to and including the largest power of two <= ``upto`` (at least ``[1]``)."""
    out, b = [], 1
    while b <= max(1, upto):
        out.append(b)
        b *= 2
    return out


def parse_batches(text: str) -> tuple[int, ...]:
    """``"1,8,64"`` -> ``(1, 8, 64)``; ``"1-4096"`` -> the powers of two from 1 to 4096; sorted, no repeats."""
    out: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in str(text).split(","))):
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                out += [b for b in powers_of_two(hi) if b >= lo]
            else:
                out.append(int(part))
    except ValueError:
        raise ValueError(f"batch sizes {text!r}: give them like 1,8,64 or a power-of-two range like 1-4096") from None
    if not out or any(b < 1 for b in out):
        raise ValueError(f"batch sizes {text!r}: each must be a whole number >= 1")
    return tuple(sorted(set(out)))


def batches_text(batches: Sequence[int]) -> str:
    return ",".join(str(int(b)) for b in batches)


@dataclass(frozen=True)
class SurrogateSpec:
    """What surrogate to predict, train or time: hidden widths, dtype, hidden activation, the batch sizes
    (``None``: the caller's default sweep) and the runtime it runs in. Its text form is the architecture,
    ``mlp:64x64``."""

    hidden: tuple[int, ...] = (64, 64)
    dtype: str = "fp32"
    activation: str = "relu"
    batches: tuple[int, ...] | None = None
    runtime: str = DEFAULT_RUNTIME

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "dtype", parse_dtype(self.dtype))
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not known: choose one of {', '.join(ACTIVATIONS)}")
        if self.batches is not None:
            object.__setattr__(self, "batches", parse_batches(batches_text(self.batches)))
        object.__setattr__(self, "runtime", parse_runtime(self.runtime))

    @classmethod
    def parse(cls, architecture: str = "mlp:64x64", dtype: str = "fp32", activation: str = "relu",
              batches: str | Sequence[int] | None = None, runtime: str = DEFAULT_RUNTIME) -> "SurrogateSpec":
        if isinstance(batches, str):
            batches = parse_batches(batches)
        return cls(parse_hidden(architecture), dtype, activation, tuple(batches) if batches is not None else None,
                   runtime)

    @property
    def architecture(self) -> str:
        return hidden_text(self.hidden)

    @property
    def torch_dtype(self) -> str:
        return TORCH_DTYPES[self.dtype]

    @property
    def element_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    def __str__(self) -> str:
        return self.architecture


__all__ = ["DTYPE_BYTES", "DTYPES", "TORCH_DTYPES", "ACTIVATIONS", "RUNTIMES", "DEFAULT_RUNTIME", "parse_runtime",
           "parse_dtype", "parse_hidden", "hidden_text",
           "powers_of_two", "parse_batches", "batches_text", "SurrogateSpec"]
