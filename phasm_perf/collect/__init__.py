"""Stage 1, collect: run a program once under a sampler and write a profile *bundle* (a directory).

- :mod:`.program`  what PROG is (Python script, Python command, ELF binary) and the argv to run it
- :mod:`.bundle`   the bundle on disk: ``meta.json``, folded on-CPU and off-CPU stacks, call counts; atomic writes
- :mod:`.austin`   the default Python collector (Austin full mode: one run, each sample marked idle or not)
- :mod:`.pyspy`    py-spy, on-CPU stacks only
- :mod:`.counts`   the exact call-counting pass, limited to the top candidates
- :mod:`.run`      the profile run itself: signals, exit status, the bundle
"""

from .bundle import Bundle, Meta, load_bundle
from .program import Target, resolve_target
from .run import ProfileOptions, profile

__all__ = ["Bundle", "Meta", "load_bundle", "Target", "resolve_target", "ProfileOptions", "profile"]
