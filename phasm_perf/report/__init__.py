"""Stage 4, report: the ranking, its versioned schema, and its renderers (table, json, csv, markdown).

The names below are imported on first use (PEP 562 ``__getattr__``): the command line reads the format names of
:mod:`.formats` without loading pandas through the ranking (start-up time, ARCHITECTURE.md).
"""

import importlib

_WHERE = {
    "RankOptions": "ranking", "build_report": "ranking", "selection_of": "ranking",
    "RENDERERS": "render", "SCHEMA_VERSION": "schema", "Candidate": "schema", "Prediction": "schema",
    "RankReport": "schema", "SUFFIX_FORMATS": "formats",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RankOptions", "build_report", "selection_of", "RENDERERS", "SUFFIX_FORMATS", "SCHEMA_VERSION",
           "Candidate", "Prediction", "RankReport"]
