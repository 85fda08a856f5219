"""The native MLP runtime (``runtime/mlp.cpp``): its weights file, and its per-batch timing through ctypes.

    write_weights(module, "surrogate.mlp")      # a torch Sequential of Linear and activation layers
    lib = load_runtime(); lib.load("surrogate.mlp"); lib.seconds(batch=1)
"""

from __future__ import annotations

import ctypes
import struct
from pathlib import Path

import numpy as np

from ..core.errors import PhasmError
from ..core.output import write_output
from .build import build_shared, shipped

ACTIVATIONS = {"relu": 0, "tanh": 1, "silu": 2, "gelu": 3}


def weights_bytes(layers: list[tuple[np.ndarray, np.ndarray]], activation: str) -> bytes:
    """``layers``: (W [out, in], b [out]) per Linear, in order."""
    parts = [b"PHMLP1\0\0", struct.pack("<ii", ACTIVATIONS[activation], len(layers))]
    for w, b in layers:
        w = np.ascontiguousarray(w, dtype="<f4")
        parts += [struct.pack("<ii", w.shape[1], w.shape[0]), w.tobytes(), np.asarray(b, dtype="<f4").tobytes()]
    return b"".join(parts)


def layers_of(module) -> list[tuple[np.ndarray, np.ndarray]]:
    import torch
    return [(m.weight.detach().float().cpu().numpy(), m.bias.detach().float().cpu().numpy())
            for m in module.modules() if isinstance(m, torch.nn.Linear)]


def write_weights(module, activation: str, path: str | Path) -> Path:
    write_output(weights_bytes(layers_of(module), activation), path)
    return Path(path)


def runtime_library(activation: str = "relu") -> Path:
    """ReLU: a build with no libm dependency (loads into any program); other activations need libm."""
    if activation == "relu":
        return build_shared(shipped("mlp.cpp"), "phasm-mlp-relu", "c++", ["-DPHASM_RELU_ONLY"])
    return build_shared(shipped("mlp.cpp"), "phasm-mlp", "c++")


class Runtime:
    """The runtime loaded into this process (timing, checks); the program loads its own copy."""

    def __init__(self, path: Path | None = None, activation: str = "relu") -> None:
        self.path = path or runtime_library(activation)
        self.lib = ctypes.CDLL(str(self.path))
        self.lib.phasm_mlp_load.argtypes = [ctypes.c_char_p]
        self.lib.phasm_mlp_time.restype = ctypes.c_double
        self.lib.phasm_mlp_time.argtypes = [ctypes.c_int, ctypes.c_int]
        self.lib.phasm_mlp_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]

    def load(self, weights: str | Path) -> None:
        rc = self.lib.phasm_mlp_load(str(weights).encode())
        if rc != 0:
            why = {-1: "unreadable", -2: "malformed", -3: "not a ReLU MLP"}.get(rc, str(rc))
            raise PhasmError(f"the native runtime could not read {weights} ({why})")

    def seconds(self, batch: int, repeats: int = 15) -> float:
        return float(self.lib.phasm_mlp_time(batch, repeats))

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.zeros((x.shape[0], self.lib.phasm_mlp_outputs()), dtype=np.float32)
        self.lib.phasm_mlp_run(x.ctypes.data, y.ctypes.data, x.shape[0])
        return y
