"""What a Dask worker runs for a trial: train one architecture on the shared data, judge it on the held-back calls.

Pruning a hopeless trial while it trains: at 30% and at 60% of its epochs, a trial whose validation loss is
still ``PRUNE_FACTOR`` times worse than the final loss of a finished trial that the model predicts at least as fast
is stopped (it would need to improve that much in the epochs left to matter). The finished trials it compares with
are the ones known when it was submitted (``front``), so a worker needs nothing but its arguments.
"""

from __future__ import annotations

import time

import numpy as np

from .space import Architecture

PRUNE_FACTOR = 10.0
CHECKPOINTS = (0.3, 0.6)


class _Pruned(Exception):
    def __init__(self, epoch: int, loss: float, against: float) -> None:
        super().__init__(epoch)
        self.epoch, self.loss, self.against = epoch, loss, against


def pruner(arch: Architecture, speedup: float, front: list[tuple[float, float]]):
    """``progress`` callback for :func:`phasm_perf.bench.train.train` that raises at a checkpoint when hopeless.
    ``front``: (predicted speedup, final validation loss) of finished trials."""
    rivals = [loss for s, loss in front if s >= speedup]
    if not rivals:
        return None
    target = min(rivals)
    marks = {max(1, int(arch.epochs * c)) for c in CHECKPOINTS}

    def progress(epoch: int, epochs: int, train_loss: float, val_loss: float) -> None:
        if epoch in marks and val_loss > PRUNE_FACTOR * target:
            raise _Pruned(epoch, val_loss, target)

    return progress


def train_task(arch: Architecture, data: dict, meta: dict, speedup: float, front: list[tuple[float, float]],
               seed: int, patience: int = 30, with_synthetic: bool = True) -> dict:
    """Train ``arch`` on ``data`` (``X``, ``Y``: captured training calls; ``Xs``, ``Ys``: synthetic ones, used when
    ``with_synthetic``; ``Xh``, ``Yh``: the held-back calls). Returns the state (``complete`` or ``pruned``), the
    held-back errors, the training figures and the surrogate as the bytes of a saved ``.pt2``."""
    import torch

    from ..bench.train import TrainOptions, to_bytes, train
    from ..model.spec import TORCH_DTYPES
    from .objectives import relative_errors

    torch.set_num_threads(1)
    X, Y = data["X"], data["Y"]
    if with_synthetic and data.get("Xs") is not None and len(data["Xs"]):
        X, Y = np.concatenate([X, data["Xs"]]), np.concatenate([Y, data["Ys"]])
    opts = TrainOptions(hidden=arch.hidden, activation=arch.activation, epochs=arch.epochs, patience=patience,
                        lr=arch.lr, seed=seed, dtype=arch.dtype, threads=1, normalise=arch.normalise)
    t0 = time.perf_counter()
    try:
        t = train(X, Y, meta["output_names"], opts, progress=pruner(arch, speedup, front) if front else None)
    except _Pruned as p:
        return {"state": "pruned", "reason": f"validation loss {p.loss:.3g} at epoch {p.epoch}, over "
                                             f"{PRUNE_FACTOR:g}x the {p.against:.3g} of a trial predicted as fast",
                "epochs_run": p.epoch, "seconds": time.perf_counter() - t0}
    with torch.no_grad():
        pred = t.module(torch.as_tensor(data["Xh"], dtype=getattr(torch, TORCH_DTYPES[arch.dtype]))).double().numpy()
    errors = relative_errors(pred, data["Yh"])
    full = dict(meta, dtype=t.dtype, surrogate=arch.surrogate, activation=t.activation, normalisation=t.normalisation)
    return {"state": "complete", "error": max(errors), "errors": errors, "validation_loss": t.val_loss,
            "epochs_run": t.epochs_run, "best_epoch": t.best_epoch, "seconds": t.seconds, "parameters": t.parameters,
            "bytes": to_bytes(t.module, full)}
