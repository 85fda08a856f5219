"""Train the MLP surrogate on the captured samples and save it portably (``torch.export``, normalisation inside).

Training normalises inputs and outputs (``net((x - x_mean) / x_std) * y_std + y_mean``). Before saving, the
normalisation is folded into the first and the last linear layer (``W1 / x_std``, ``b1 - W1 x_mean / x_std``;
``y_std W_L``, ``y_std b_L + y_mean``), so the saved surrogate is a plain ``Sequential`` of Linear and activation
layers that takes and returns the function's own units: exactly the MLP the model prices (ARCHITECTURE.md, "The model"), with
no extra element-wise kernels. The saved file (``surrogate.pt2``) is one ``torch.export`` program, exported
with a dynamic batch dimension (any batch from 1 up), with ``phasm_surrogate.json`` inside: which arguments it
reads, the schemas to flatten them and to rebuild the result, the dtype, the shape and the normalisation it was
trained with. ``torch.export.load(path).module()`` is all a user needs to run it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Sequence

import numpy as np

from ..core.errors import PhasmError
from ..core.output import output_file
from ..model.spec import ACTIVATIONS, NORMALISATIONS, TORCH_DTYPES, hidden_text, parse_dtype, parse_hidden
from .capture import CONSTANT_RTOL



@dataclass
class TrainOptions:
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    epochs: int = 400
    patience: int = 40
    val_fraction: float = 0.2
    lr: float = 3e-3
    batch_size: int = 256
    seed: int = 0
    dtype: str = "fp32"
    threads: int = 1
    normalise: str = "standard"  # inputs: standard (mean, std), minmax (mid-range, half range) or none




@dataclass
class OutputError:
    name: str
    mae: float
    rmse: float
    max_abs: float
    relative: float | None  # mae / mean |y| on the validation set


@dataclass
class Trained:
    module: object  # the deployable torch.nn.Sequential (normalisation folded in), in the chosen dtype, eval mode
    hidden: tuple[int, ...]
    activation: str
    dtype: str
    n_train: int
    n_val: int
    epochs_run: int
    best_epoch: int
    stopped_early: bool
    seconds: float
    train_loss: float
    val_loss: float
    errors: list[OutputError] = field(default_factory=list)
    parameters: int = 0
    normalisation: dict = field(default_factory=dict)  # folded into the first and last layer; kept for the record


def _torch():
    try:
        import torch
    except ImportError:
        raise PhasmError("bench needs PyTorch: pip install 'phasm-perf[bench]'") from None
    return torch


def build_surrogate(n_in: int, n_out: int, hidden: Sequence[int], activation: str = "relu",
                    x_mean=None, x_std=None, y_mean=None, y_std=None):
    """The surrogate module: normalise, MLP, de-normalise (untrained unless the caller trains it)."""
    torch = _torch()
    nn = torch.nn
    act = {"silu": nn.SiLU, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}[activation]
    layers: list = []
    widths = [n_in, *hidden, n_out]
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(act())

    class Surrogate(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(*layers)
            self.register_buffer("x_mean", torch.zeros(n_in) if x_mean is None else torch.as_tensor(x_mean))
            self.register_buffer("x_std", torch.ones(n_in) if x_std is None else torch.as_tensor(x_std))
            self.register_buffer("y_mean", torch.zeros(n_out) if y_mean is None else torch.as_tensor(y_mean))
            self.register_buffer("y_std", torch.ones(n_out) if y_std is None else torch.as_tensor(y_std))

        def forward(self, x):
            return self.net((x - self.x_mean) / self.x_std) * self.y_std + self.y_mean

    return Surrogate().float()


def fold(model, dtype: str = "fp32"):
    """The deployable surrogate: ``model.net`` with the normalisation folded into its first and last Linear, in
    ``dtype``, eval mode. Same function, fewer kernels."""
    import copy

    torch = _torch()
    net = copy.deepcopy(model.net).float().eval()
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        first, last = linears[0], linears[-1]
        inv = 1.0 / model.x_std.float()
        first.bias -= first.weight @ (model.x_mean.float() * inv)
        first.weight *= inv
        last.weight *= model.y_std.float()[:, None]
        last.bias.mul_(model.y_std.float()).add_(model.y_mean.float())
    return net.to(getattr(torch, TORCH_DTYPES[parse_dtype(dtype)]))


def _stats(a: np.ndarray, how: str = "standard") -> tuple[np.ndarray, np.ndarray]:
    """Offset and scale per column: ``standard`` mean and std, ``minmax`` mid-range and half range (to [-1, 1]),
    ``none`` 0 and 1. Any affine normalisation folds into the first layer alike."""
    if how == "none":
        return np.zeros(a.shape[1], np.float32), np.ones(a.shape[1], np.float32)
    if how == "minmax":
        lo, hi = a.min(axis=0), a.max(axis=0)
        mean, std = (lo + hi) / 2, (hi - lo) / 2
    else:
        mean, std = a.mean(axis=0), a.std(axis=0)
    # a column constant up to rounding (Capture.constant_inputs) is not scaled up by its rounding noise
    std[~np.isfinite(std) | (std <= CONSTANT_RTOL * np.abs(a).max(axis=0, initial=0.0))] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def train(X: np.ndarray, Y: np.ndarray, output_names: Sequence[str], opts: TrainOptions,
          progress: Callable[[int, int, float, float], None] | None = None) -> Trained:
    """Fit the surrogate; ``progress(epoch, epochs, train_loss, val_loss)`` is called after every epoch."""
    torch = _torch()
    X, Y = _finite_samples(X, Y, opts)
    torch.manual_seed(opts.seed)
    torch.set_num_threads(max(1, opts.threads))
    n = len(X)
    rng = np.random.default_rng(opts.seed)
    order = rng.permutation(n)
    n_val = max(1, int(round(n * opts.val_fraction)))
    if n - n_val < 2:
        raise PhasmError(f"too few samples to train: {n} (need a training and a validation set)")
    val_idx, tr_idx = order[:n_val], order[n_val:]
    if opts.normalise not in NORMALISATIONS:
        raise PhasmError(f"normalisation {opts.normalise!r}: choose one of {', '.join(NORMALISATIONS)}")
    xm, xs = _stats(X[tr_idx], opts.normalise)
    ym, ys = _stats(Y[tr_idx])
    model = build_surrogate(X.shape[1], Y.shape[1], opts.hidden, opts.activation, xm, xs, ym, ys)
    xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(Y, dtype=torch.float32)
    yn = (yt - torch.as_tensor(ym)) / torch.as_tensor(ys)
    fit = _fit(model, xt[tr_idx], yn[tr_idx], xt[val_idx], yn[val_idx], ym, ys, opts, progress)
    model.load_state_dict(fit.best_state)
    model.eval()
    deployed = fold(model, opts.dtype)
    with torch.no_grad():  # the error of what the program will run: folded, in its dtype
        pred = deployed(xt[val_idx].to(getattr(torch, TORCH_DTYPES[opts.dtype]))).double().numpy()
    return Trained(module=deployed, hidden=tuple(opts.hidden), activation=opts.activation, dtype=opts.dtype,
                   n_train=len(tr_idx), n_val=n_val, epochs_run=fit.epoch, best_epoch=fit.best_epoch,
                   stopped_early=fit.epoch < opts.epochs, seconds=fit.seconds, train_loss=fit.train_loss,
                   val_loss=fit.best, errors=_output_errors(pred, Y[val_idx], output_names),
                   parameters=sum(p.numel() for p in deployed.parameters()),
                   normalisation={"x_mean": xm.tolist(), "x_std": xs.tolist(), "y_mean": ym.tolist(),
                                  "y_std": ys.tolist()})


def _finite_samples(X: np.ndarray, Y: np.ndarray, opts: TrainOptions) -> tuple[np.ndarray, np.ndarray]:
    """The options checked, and the samples without NaN or infinite values (too few left: an error)."""
    if opts.dtype not in TORCH_DTYPES:
        raise PhasmError(f"--dtype {opts.dtype!r}: choose one of {', '.join(TORCH_DTYPES)}")
    if opts.activation not in ACTIVATIONS:
        raise PhasmError(f"--activation {opts.activation!r}: choose one of {', '.join(ACTIVATIONS)}")
    if not np.isfinite(X).all() or not np.isfinite(Y).all():
        bad = int((~np.isfinite(X)).any(axis=1).sum() + (~np.isfinite(Y)).any(axis=1).sum())
        keep = np.isfinite(X).all(axis=1) & np.isfinite(Y).all(axis=1)
        X, Y = X[keep], Y[keep]
        if len(X) < 8:
            raise PhasmError(f"too few samples to train: {bad} captured calls had NaN or infinite values")
    return X, Y


@dataclass
class _Fit:
    best: float          # the best validation loss (normalised outputs)
    best_state: dict     # the model's state at that epoch
    best_epoch: int
    epoch: int           # epochs run
    train_loss: float    # of the last epoch
    seconds: float


def _fit(model, xtr, ytr, xva, yva, ym: np.ndarray, ys: np.ndarray, opts: TrainOptions,
         progress: Callable[[int, int, float, float], None] | None) -> _Fit:
    """Adam on the mean squared error of the normalised outputs, the learning rate halved on a plateau, stopped
    after ``opts.patience`` epochs without a better validation loss."""
    torch = _torch()
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(optim, factor=0.5, patience=max(2, opts.patience // 4))
    gen = torch.Generator().manual_seed(opts.seed)
    ym_t, ys_t = torch.as_tensor(ym), torch.as_tensor(ys)

    def normalised(x):
        return (model(x) - ym_t) / ys_t

    best, best_state, best_epoch, stale = math.inf, None, 0, 0
    t0 = time.perf_counter()
    epoch = 0
    tr_loss = math.nan
    for epoch in range(1, opts.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), opts.batch_size):
            b = perm[i:i + opts.batch_size]
            optim.zero_grad()
            loss = torch.nn.functional.mse_loss(normalised(xtr[b]), ytr[b])
            loss.backward()
            optim.step()
            total += float(loss.detach()) * len(b)
        tr_loss = total / len(xtr)
        model.eval()
        with torch.no_grad():
            va_loss = float(torch.nn.functional.mse_loss(normalised(xva), yva))
        sched.step(va_loss)
        if progress:
            progress(epoch, opts.epochs, tr_loss, va_loss)
        if va_loss < best * (1 - 1e-4):
            best, best_epoch, stale = va_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= opts.patience:
                break
    return _Fit(best, best_state, best_epoch, epoch, tr_loss, time.perf_counter() - t0)


def _output_errors(pred: np.ndarray, truth: np.ndarray, output_names: Sequence[str]) -> list[OutputError]:
    """Each output's error on the validation set."""
    errors = []
    for j, name in enumerate(output_names):
        err = pred[:, j] - truth[:, j]
        scale = float(np.mean(np.abs(truth[:, j])))
        mae = float(np.mean(np.abs(err)))
        errors.append(OutputError(name=name, mae=mae, rmse=float(np.sqrt(np.mean(err ** 2))),
                                  max_abs=float(np.max(np.abs(err))), relative=mae / scale if scale > 0 else None))
    return errors


META_FILE = "phasm_surrogate.json"  # the metadata's name inside the saved program


def export(module):
    """``module`` (a ``Sequential`` of Linear and activation layers) as a ``torch.export`` program whose batch
    dimension is dynamic: one program for every batch size from 1 up."""
    torch = _torch()
    first = next(m for m in module.modules() if isinstance(m, torch.nn.Linear))
    # the example has two rows: an example batch of 1 would specialise the dimension to 1 (0/1 specialisation);
    # min=1 then widens the exported range back down to 1.
    example = torch.zeros(2, first.in_features, dtype=first.weight.dtype, device=first.weight.device)
    return torch.export.export(module.eval(), (example,),
                               dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))


def save(trained: Trained, path: str | Path, meta: dict) -> Path:
    """Write the surrogate as a ``torch.export`` program with ``meta`` (inputs, result schema, names) inside;
    atomic."""
    torch = _torch()
    path = Path(path)
    meta = dict(meta, dtype=trained.dtype, surrogate=hidden_text(trained.hidden), activation=trained.activation,
                normalisation=trained.normalisation)
    program = export(trained.module)
    with output_file(path, binary=True) as fh:  # a file object: torch.export warns about a path not ending in .pt2
        torch.export.save(program, fh, extra_files={META_FILE: json.dumps(meta)})
    return path


def to_bytes(module, meta: dict) -> bytes:
    """``module`` exported, with ``meta`` inside, as the bytes of a saved surrogate (to ship without a file)."""
    torch = _torch()
    buf = io.BytesIO()
    torch.export.save(export(module), buf, extra_files={META_FILE: json.dumps(meta)})
    return buf.getvalue()


@contextlib.contextmanager
def _quiet_torch_export():
    """torch.export.load logs a traceback (twice) before raising on a file it cannot read; the one-line error
    says it."""
    log = logging.getLogger("torch.export")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _torchscript(source) -> bool:
    """Whether ``source`` is a TorchScript archive (a surrogate saved by phasm-perf before torch.export)."""
    try:
        if not isinstance(source, (str, Path)):
            source.seek(0)
        with zipfile.ZipFile(source) as z:
            return any("/code/" in n for n in z.namelist()) and not any(n.endswith("archive_format")
                                                                        for n in z.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def load(source: str | Path | IO[bytes], device: str = "cpu"):
    """``(module, meta)`` from a saved surrogate (a path, or a binary file object): ``module`` is the exported
    program's ``.module()`` on ``device``, its parameters without gradients."""
    torch = _torch()
    name = str(source) if isinstance(source, (str, Path)) else "<bytes>"
    extra = {META_FILE: ""}
    try:
        with contextlib.ExitStack() as stack:
            fh = stack.enter_context(open(source, "rb")) if isinstance(source, (str, Path)) else source
            stack.enter_context(_quiet_torch_export())
            program = torch.export.load(fh, extra_files=extra)
    except (OSError, RuntimeError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        why = (str(exc).splitlines() or [type(exc).__name__])[0].strip()
        if _torchscript(source):
            why = "a TorchScript file, from phasm-perf before surrogates moved to torch.export: run bench again"
        elif "deserializing" in why:
            why = "not a torch.export program"
        raise PhasmError(f"cannot load surrogate {name!r}: {why}") from None
    if not extra[META_FILE]:
        raise PhasmError(f"cannot load surrogate {name!r}: no {META_FILE} inside (not saved by phasm-perf bench)")
    if torch.device(device) != torch.device("cpu"):
        from torch.export.passes import move_to_device_pass

        program = move_to_device_pass(program, device)
    module = program.module()
    for p in module.parameters():
        p.requires_grad_(False)
    return module, json.loads(extra[META_FILE])


RUNTIMES = ("eager", "export")


def runtime_module(module, meta: dict, runtime: str = "eager"):
    """What the program calls: ``export`` runs the saved program's module (``torch.export.load(...).module()``,
    as :func:`load` returns it); ``eager`` rebuilds the same layers as a plain ``torch.nn.Sequential`` with the
    saved weights (the form ``hw measure`` calibrates the model's dispatch and launch costs with, so predicted and
    measured are like for like)."""
    torch = _torch()
    if runtime == "export":
        return module
    if runtime != "eager":
        raise PhasmError(f"--runtime {runtime!r}: choose eager or export")
    widths = [len(meta["input_names"]), *parse_hidden(meta["surrogate"]), len(meta["output_names"])]
    act = {"silu": torch.nn.SiLU, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "gelu": torch.nn.GELU}[
        meta.get("activation", "relu")]
    layers: list = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(act())
    net = torch.nn.Sequential(*layers)
    state = module.state_dict()  # the exported module keeps the Sequential's names: 0.weight, 0.bias, 2.weight...
    dtype = next(iter(state.values())).dtype
    net.to(dtype).load_state_dict(state)
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval().to(next(iter(state.values())).device)
