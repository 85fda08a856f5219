"""The Optuna adapter: the only module of phasm-perf that imports Optuna.

A :class:`Study` is a multi-objective Optuna study (TPE or NSGA-II) in a storage (an RDB URL such as
``sqlite:///search.db``): :meth:`Study.ask` hands out a :class:`TrialHandle` to draw an architecture from,
:meth:`Study.tell` records a finished, pruned or failed trial with its results as user attributes, so that a study
continued in another session (same ``--study`` and ``--storage``) rebuilds every earlier trial. The study remembers
what it searched (function, space, objectives, hardware, batch): continuing it with other ones is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

import optuna
from optuna.trial import TrialState

from ..core.errors import PhasmError
from .objectives import OBJECTIVES

SAMPLERS = ("tpe", "nsga2")
_STATES = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "failed": TrialState.FAIL}


class TrialHandle:
    """One asked trial: its number, and the three ways to draw a value (see :class:`~.space.Suggest`)."""

    def __init__(self, trial: "optuna.Trial") -> None:
        self._trial = trial
        self.number = trial.number

    def integer(self, name: str, low: int, high: int) -> int:
        return self._trial.suggest_int(name, low, high)

    def choice(self, name: str, options: Sequence):
        return self._trial.suggest_categorical(name, list(options))

    def log_float(self, name: str, low: float, high: float) -> float:
        return self._trial.suggest_float(name, low, high, log=True)


@dataclass
class Finished:
    number: int
    state: str  # complete, pruned, failed, running
    values: list[float] | None
    params: dict
    attrs: dict = field(default_factory=dict)


def _sampler(name: str, seed: int, trials: int):
    if name == "nsga2":
        # a population small enough that a short search still sees several generations
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, min(50, trials // 5)))
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(4, min(10, trials // 4)),
                                          constant_liar=True)
    raise PhasmError(f"--sampler {name!r}: choose {' or '.join(SAMPLERS)}")


class Study:
    def __init__(self, name: str, storage: str, objectives: list[str], sampler: str, seed: int, trials: int,
                 attrs: dict) -> None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # Ctrl-C while SQLAlchemy's pool resets a connection: the pool logs "Exception during reset or similar" with
        # a traceback (seen in CI); every finished trial is committed already, and the command says what was kept
        logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
        self.name, self.storage_url = name, storage
        store = _storage(storage)
        directions = [OBJECTIVES[o] for o in objectives]
        try:
            self._study = optuna.create_study(study_name=name, storage=store, directions=directions,
                                              sampler=_sampler(sampler, seed, trials), load_if_exists=True)
        except PhasmError:
            raise
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy and Optuna errors: one line
            raise PhasmError(f"--storage {storage!r}: cannot open the study ({_first_line(exc)})") from None
        self.resumed = bool(self._study.trials)
        self._check(attrs, directions)
        self.stale = self._fail_stale()

    def _check(self, attrs: dict, directions: list) -> None:
        """A study continued with another function, space, objectives, hardware or batch is refused."""
        old = self._study.user_attrs
        if not old.get("phasm_perf"):
            if self.resumed:
                raise PhasmError(f"study {self.name!r} in {self.storage_url} was not made by phasm-perf search; "
                                 "give another --study name")
            for k, v in attrs.items():
                self._study.set_user_attr(k, v)
            self._study.set_user_attr("phasm_perf", True)
            return
        diff = [k for k, v in attrs.items() if old.get(k) != v]
        if [d.name for d in self._study.directions] != [getattr(d, "name", str(d)).upper() for d in directions]:
            diff.append("objectives")
        if diff:
            k = diff[0]
            was = old.get(k, [d.name.lower() for d in self._study.directions])
            now = attrs.get(k, "the ones given")
            raise PhasmError(f"study {self.name!r} in {self.storage_url} searched another {k} ({was!r}, not {now!r}); "
                             "continue it with the same options, or give another --study name")

    def _fail_stale(self) -> int:
        """Trials left RUNNING by a session that was killed: marked failed, so they neither count nor block."""
        stale = [t for t in self._study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))]
        for t in stale:
            self._study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
        return len(stale)

    def next_session(self) -> int:
        """This run's number among the runs of ``phasm-perf search`` on the study (0, 1, ...)."""
        n = int(self._study.user_attrs.get("sessions", 0))
        self._study.set_user_attr("sessions", n + 1)
        return n

    def ask(self) -> TrialHandle:
        return TrialHandle(self._study.ask())

    def tell(self, handle: TrialHandle, state: str, values: list[float] | None = None, attrs: dict | None = None):
        for k, v in (attrs or {}).items():
            handle._trial.set_user_attr(k, v)
        if state == "complete":
            self._study.tell(handle._trial, values)
        else:
            self._study.tell(handle._trial, state=_STATES[state])

    def finished(self) -> list[Finished]:
        names = {v: k for k, v in _STATES.items()}
        return [Finished(number=t.number, state=names.get(t.state, t.state.name.lower()), values=t.values,
                         params=dict(t.params), attrs=dict(t.user_attrs))
                for t in self._study.get_trials(deepcopy=False)]

    def done(self) -> int:
        """Trials that count toward ``--trials``: finished or pruned (a failed one is tried again)."""
        return len(self._study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _storage(url: str):
    """An Optuna RDB storage for ``url``; a malformed URL or a database that cannot be opened is one line."""
    if "://" not in url:
        raise PhasmError(f"--storage {url!r}: give a database URL, e.g. sqlite:///search.db "
                         "(or postgresql://user@host/db)")
    try:
        return optuna.storages.RDBStorage(url, heartbeat_interval=None)
    except ImportError as exc:
        raise PhasmError(f"--storage {url!r}: no database driver for it ({_first_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's ArgumentError, OperationalError...
        raise PhasmError(f"--storage {url!r}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:240]
