"""Stage 2, read: stacks from any profile format into one pandas call-tree model."""

from ..core.folded import make_frame, parse_folded_lines, read_folded, split_frame, write_folded
from .tree import CallTree, function_key, map_stacks

__all__ = ["CallTree", "function_key", "map_stacks", "make_frame", "parse_folded_lines", "read_folded",
           "split_frame", "write_folded"]
