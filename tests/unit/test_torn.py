"""Torn Python samples (collect/torn.py): an edge the caller's source cannot make is repaired or cut, the counting
hook's own cost is dropped, and a library's source is never judged."""

from __future__ import annotations

import sysconfig
from collections import Counter
from pathlib import Path

from phasm_perf.collect import torn
from phasm_perf.core.folded import make_frame

PROGRAM = '''\
import math


def leaf(x):
    return math.sqrt(x) + 1.0


def push(n):
    total = 0.0
    for i in range(n):
        y = leaf(i)
        total += y * 2.0
        z = total / 3.0
    return z


def other(n):
    a = n * 2
    return a + 1


def main():
    push(10)
    other(3)
'''
# line numbers in PROGRAM
LEAF_DEF, LEAF_BODY = 4, 5
PUSH_CALLS_LEAF, PUSH_ARITH, PUSH_DIV = 11, 12, 13
OTHER_ARITH = 18
MAIN_PUSH, MAIN_OTHER = 23, 24


def _prog(tmp_path: Path) -> str:
    p = tmp_path / "prog.py"
    p.write_text(PROGRAM)
    torn._module.cache_clear(), torn.cannot_call.cache_clear(), torn.calling_line.cache_clear()
    return str(p)


def _stack(f: str, *frames: tuple[str, int]) -> tuple[str, ...]:
    return tuple(make_frame(name, f, line) for name, line in frames)


def test_judging_lines(tmp_path):
    f = _prog(tmp_path)
    assert torn.cannot_call(f, PUSH_ARITH, "leaf")            # arithmetic calls nothing
    assert not torn.cannot_call(f, PUSH_CALLS_LEAF, "leaf")   # it names leaf
    assert not torn.cannot_call(f, PUSH_ARITH, "__add__")      # dunders run from anywhere: never judged
    assert torn.calling_line(f, PUSH_DIV, "leaf") == PUSH_CALLS_LEAF
    assert torn.calling_line(f, OTHER_ARITH, "leaf") is None   # other() calls leaf nowhere


def test_a_torn_sample_is_put_back_at_its_calling_line(tmp_path):
    f = _prog(tmp_path)
    good = _stack(f, ("main", MAIN_PUSH), ("push", PUSH_CALLS_LEAF), ("leaf", LEAF_BODY))
    bad = _stack(f, ("main", MAIN_PUSH), ("push", PUSH_ARITH), ("leaf", LEAF_BODY))
    out = torn.repair(Counter({good: 7, bad: 3}))
    assert out.stacks == Counter({good: 10})       # the time stays in leaf, under push's calling line
    assert out.torn == 3 and out.cut == 0
    assert out.edges[(make_frame("push", f, PUSH_ARITH), "leaf")] == 3


def test_a_caller_that_calls_the_callee_nowhere_loses_the_stale_frames(tmp_path):
    f = _prog(tmp_path)
    bad = _stack(f, ("main", MAIN_OTHER), ("other", OTHER_ARITH), ("leaf", LEAF_BODY))
    out = torn.repair(Counter({bad: 4}))
    assert out.stacks == Counter({bad[:2]: 4})     # the time is other's own
    assert out.torn == 4 and out.cut == 4


def test_the_counting_hook_and_the_counter_in_a_function_are_dropped(tmp_path):
    f = _prog(tmp_path)
    hook_dir = str(tmp_path / "_sitehook")
    in_hook = _stack(f, ("main", MAIN_PUSH)) + (make_frame("hook", hook_dir + "/count.py", 10),)
    in_counter = _stack(f, ("main", MAIN_PUSH), ("push", PUSH_CALLS_LEAF), ("leaf", LEAF_DEF))
    real = _stack(f, ("main", MAIN_PUSH), ("push", PUSH_CALLS_LEAF), ("leaf", LEAF_BODY))
    out = torn.repair(Counter({in_hook: 2, in_counter: 5, real: 11}), hook_dir, {(f, "leaf"): LEAF_DEF})
    assert out.stacks == Counter({real: 11}) and out.hook == 7 and out.torn == 0


def test_a_library_source_is_not_judged(tmp_path):
    """A frame in the standard library is never a candidate: its edges are kept as sampled and its source is not
    parsed (argparse, re, tempfile... at a program's start-up cost most of the repair's time)."""
    torn._module.cache_clear(), torn.cannot_call.cache_clear()
    argparse_py = str(Path(sysconfig.get_paths()["stdlib"]) / "argparse.py")
    line = next(i for i, text in enumerate(Path(argparse_py).read_text().splitlines(), 1) if text.strip() == "pass")
    stack = (make_frame("ArgumentParser.parse_args", argparse_py, line), make_frame("leaf", "/x/prog.py", 5))
    out = torn.repair(Counter({stack: 3}))
    assert out.stacks == Counter({stack: 3}) and out.torn == 0
    assert torn._module.cache_info().currsize == 0


def test_a_frame_the_sampler_misnamed_is_renamed_from_the_source(tmp_path):
    """Austin reported boris_push as `def_op` (a freed name's string reused) for a whole run: the frames are
    renamed after the function whose body holds their line; right names, comprehensions, lines outside any body
    and unreadable sources are left alone."""
    from collections import Counter

    from phasm_perf.collect.torn import repair, source_name

    src = tmp_path / "prog.py"
    src.write_text("import math\n"                         # 1
                   "\n"                                    # 2
                   "class Kernel:\n"                       # 3
                   "    scale = 2\n"                       # 4
                   "    def push(self, x):\n"              # 5
                   "        return [x * k for k in range(3)]\n"  # 6
                   "\n"                                    # 7
                   "def run(n):\n"                         # 8
                   "    def inner(v):\n"                   # 9
                   "        return math.sqrt(v)\n"         # 10
                   "    return sum(inner(i) for i in range(n))\n"  # 11
                   "run(3)\n")                             # 12
    f = str(src)
    assert source_name(f, 6, "def_op") == "Kernel.push"
    assert source_name(f, 10, "<module>") == "run.<locals>.inner"
    assert source_name(f, 4, "whatever") == "Kernel"  # a class body's own line
    assert source_name(f, 6, "Kernel.push") is None and source_name(f, 6, "push") is None  # 3.11 and 3.10 names
    assert source_name(f, 6, "Kernel.push.<locals>.<listcomp>") is None  # a comprehension: not judged
    assert source_name(f, 12, "<module>") is None and source_name(f, 8, "run") is None  # outside any body
    assert source_name(str(tmp_path / "gone.py"), 6, "def_op") is None
    stacks = Counter({(f"<module> ({f}:12)", f"def_op ({f}:11)", f"<module> ({f}:10)"): 7,
                      (f"<module> ({f}:12)", f"run ({f}:11)"): 3})
    out = repair(stacks)
    assert out.stacks == Counter({(f"<module> ({f}:12)", f"run ({f}:11)", f"run.<locals>.inner ({f}:10)"): 7,
                                  (f"<module> ({f}:12)", f"run ({f}:11)"): 3})
    assert out.renamed == 7 and out.names == Counter({("def_op", "prog.py", "run"): 7})
