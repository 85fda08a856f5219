"""Stage 2, read: stacks from any profile format into one pandas call-tree model.

The call tree (pandas) is loaded on first use (PEP 562 ``__getattr__``): the readers and the collectors import this
package on the way to starting a program, and pandas costs half a second of start-up (ARCHITECTURE.md: start-up).
"""

from ..core.folded import make_frame, parse_folded_lines, read_folded, split_frame, write_folded

_TREE = ("CallTree", "function_key", "map_stacks")


def __getattr__(name: str):
    if name in _TREE:
        from . import tree  # pandas: only when a call tree is built (start-up time)

        return getattr(tree, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CallTree", "function_key", "map_stacks", "make_frame", "parse_folded_lines", "read_folded",
           "split_frame", "write_folded"]
