"""The tracking options shared by ``bench`` and ``search``: ``--tracking-uri``, ``--no-track``, ``--experiment``."""

from __future__ import annotations

import argparse

from ..track import DEFAULT_EXPERIMENT, Tracking


def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("tracking (MLflow)")
    x = g.add_mutually_exclusive_group()
    x.add_argument("--tracking-uri", metavar="URI",
                   help="MLflow tracking store: a server (http://host:5000) or a database URI (default: "
                        "$MLFLOW_TRACKING_URI, else mlflow.db in the output folder)")
    x.add_argument("--no-track", dest="track", action="store_false", help="do not record the run in MLflow")
    g.add_argument("--experiment", default=DEFAULT_EXPERIMENT, metavar="NAME",
                   help=f"MLflow experiment (default {DEFAULT_EXPERIMENT})")


def tracking_of(args: argparse.Namespace) -> Tracking:
    return Tracking(enabled=args.track, uri=args.tracking_uri, experiment=args.experiment)
