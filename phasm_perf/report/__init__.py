"""Stage 4, report: the ranking, its versioned schema, and its renderers (table, json, csv, markdown)."""

from .ranking import RankOptions, build_report, selection_of
from .render import RENDERERS, SUFFIX_FORMATS
from .schema import SCHEMA_VERSION, Candidate, Prediction, RankReport

__all__ = ["RankOptions", "build_report", "selection_of", "RENDERERS", "SUFFIX_FORMATS", "SCHEMA_VERSION",
           "Candidate", "Prediction", "RankReport"]
