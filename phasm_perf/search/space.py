"""The surrogate design space a search explores, one point of it (:class:`Architecture`), and its constraints.

Dimensions: depth (hidden layers), the width of each layer, the hidden activation, the deployed dtype, the learning
rate (log scale), the number of epochs (at most; training stops early on a flat validation loss), and the input
normalisation. The space is constrained before any run: dtypes the hardware profile has no peak for are dropped
(the model cannot price them), epochs above ``--epochs`` are dropped; a dimension left empty is an error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Protocol, Sequence

from ..model.spec import ACTIVATIONS, NORMALISATIONS, hidden_text
from ..core.errors import PhasmError


class Suggest(Protocol):
    """What a trial offers to draw a point (the Optuna adapter's trial handle)."""

    def integer(self, name: str, low: int, high: int) -> int: ...

    def choice(self, name: str, options: Sequence) -> object: ...

    def log_float(self, name: str, low: float, high: float) -> float: ...


@dataclass(frozen=True)
class Space:
    min_depth: int = 1
    max_depth: int = 4
    widths: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    activations: tuple[str, ...] = ACTIVATIONS
    dtypes: tuple[str, ...] = ("fp32", "bf16", "fp16")
    lr: tuple[float, float] = (1e-4, 3e-2)
    epochs: tuple[int, ...] = (50, 100, 200, 400)
    normalisations: tuple[str, ...] = NORMALISATIONS

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def signature(self) -> str:
        """A short hash of the space: a study continued with another space is refused."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def constrained(self, profile_dtypes: Sequence[str] | None, max_epochs: int | None) -> "Space":
        """The space without what cannot be priced or run; :class:`PhasmError` naming the empty dimension."""
        dtypes = tuple(d for d in self.dtypes if profile_dtypes is None or d in profile_dtypes)
        epochs = tuple(e for e in self.epochs if max_epochs is None or e <= max_epochs)
        if max_epochs is not None and not epochs:
            epochs = (max_epochs,)
        out = replace(self, dtypes=dtypes, epochs=epochs)
        out.check(profile_dtypes)
        return out

    def check(self, profile_dtypes: Sequence[str] | None = None) -> None:
        empty = [name for name, v in (("widths", self.widths), ("activations", self.activations),
                                      ("epochs", self.epochs), ("normalisations", self.normalisations)) if not v]
        if not self.dtypes:
            have = ", ".join(profile_dtypes or []) or "none"
            raise PhasmError(f"the search space is empty after constraints: no dtype of the space has a peak in the "
                             f"hardware profile (it has {have}); give --dtypes from those")
        if empty:
            raise PhasmError(f"the search space is empty after constraints: no {empty[0]} left")
        if any(w < 1 for w in self.widths):
            raise PhasmError(f"--widths {','.join(map(str, self.widths))}: a hidden layer needs a width >= 1")
        unknown = [a for a in self.activations if a not in ACTIVATIONS] + \
            [n for n in self.normalisations if n not in NORMALISATIONS]
        if unknown:
            raise PhasmError(f"unknown activation or normalisation {unknown[0]!r}: activations "
                             f"{', '.join(ACTIVATIONS)}; normalisations {', '.join(NORMALISATIONS)}")
        if not 1 <= self.min_depth <= self.max_depth:
            raise PhasmError(f"the search space is empty: depth {self.min_depth}..{self.max_depth} "
                             "(give --max-depth >= 1)")
        if not 0 < self.lr[0] <= self.lr[1]:
            raise PhasmError(f"learning rate range {self.lr[0]:g}..{self.lr[1]:g}: give 0 < low <= high")

    def size(self) -> int | None:
        """Discrete points (the learning rate left aside), for the report."""
        per_depth = sum(len(self.widths) ** d for d in range(self.min_depth, self.max_depth + 1))
        return per_depth * len(self.activations) * len(self.dtypes) * len(self.epochs) * len(self.normalisations)


@dataclass(frozen=True)
class Architecture:
    """One point of the space: what a trial trains."""

    hidden: tuple[int, ...]
    activation: str = "relu"
    dtype: str = "fp32"
    lr: float = 3e-3
    epochs: int = 200
    normalise: str = "standard"

    @property
    def surrogate(self) -> str:
        return hidden_text(self.hidden)

    def label(self) -> str:
        return f"{self.surrogate} {self.activation} {self.dtype}"

    def as_params(self) -> dict:
        return {"surrogate": self.surrogate, "depth": len(self.hidden), "activation": self.activation,
                "dtype": self.dtype, "lr": self.lr, "epochs": self.epochs, "normalise": self.normalise}


def sample(space: Space, trial: Suggest) -> Architecture:
    """Draw one architecture through ``trial`` (names are stable: a resumed study keeps its history)."""
    depth = trial.integer("depth", space.min_depth, space.max_depth)
    hidden = tuple(int(trial.choice(f"width{i + 1}", list(space.widths))) for i in range(depth))
    return Architecture(
        hidden=hidden,
        activation=str(trial.choice("activation", list(space.activations))),
        dtype=str(trial.choice("dtype", list(space.dtypes))),
        lr=float(trial.log_float("lr", space.lr[0], space.lr[1])),
        epochs=int(trial.choice("epochs", list(space.epochs))),
        normalise=str(trial.choice("normalise", list(space.normalisations))),
    )


def from_params(params: dict) -> Architecture:
    """An architecture back from a finished trial's parameters (as :func:`sample` named them)."""
    depth = int(params["depth"])
    return Architecture(hidden=tuple(int(params[f"width{i + 1}"]) for i in range(depth)),
                        activation=str(params["activation"]), dtype=str(params["dtype"]), lr=float(params["lr"]),
                        epochs=int(params["epochs"]), normalise=str(params["normalise"]))
