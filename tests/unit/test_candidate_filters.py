"""Each candidate filter alone, then the pipeline."""

from collections import Counter

import pandas as pd
import pytest

from phasm_perf.calltree import CallTree, function_key, make_frame
from phasm_perf.candidates import SelectOptions, filters, select

USER = "/home/u/sim"
MOD = make_frame("<module>", f"{USER}/run.py", 1)
LOOP = make_frame("event_loop", f"{USER}/run.py", 5)
PUSH = make_frame("push", f"{USER}/run.py", 9)
FIELD = make_frame("field", f"{USER}/run.py", 20)
WAIT = make_frame("read_out", f"{USER}/run.py", 30)
SLEEP = make_frame("sleep", "/usr/lib/python3.11/threading.py", 5)
NP = make_frame("dot", "/venv/lib/python3.11/site-packages/numpy/core/multiarray.py", 1)
is_user = filters.make_is_user_code([USER], library_prefixes=["/usr/lib/python3.11"])


def table(on, off=Counter()):
    df = CallTree(on, off).functions.copy()
    df["excluded"] = ""
    return df


def test_is_user_code():
    assert is_user(f"{USER}/x.py")
    assert not is_user("/venv/lib/python3.11/site-packages/numpy/x.py")
    assert not is_user("/usr/lib/python3.11/json/__init__.py")
    assert not is_user("<frozen importlib._bootstrap>") and not is_user(None)


def test_runtime_frames():
    assert filters.is_runtime_frame("<module>", "x.py")
    assert filters.is_runtime_frame("_find_and_load", "<frozen importlib._bootstrap>")
    assert filters.is_runtime_frame("__libc_start_main", None)
    assert filters.is_runtime_frame("do_syscall_64_[k]", None)
    assert filters.is_runtime_frame("_bootstrap_inner", "/usr/lib/python3.11/threading.py")
    assert not filters.is_runtime_frame("run", f"{USER}/run.py")  # a user's own `run` is not runtime
    assert not filters.is_runtime_frame("push", f"{USER}/run.py")


def test_restrict_to_event_loop():
    on = Counter({(MOD, LOOP, PUSH): 5, (MOD, PUSH): 2, (MOD,): 1})
    assert filters.restrict_to_event_loop(on, "event_loop") == Counter({(MOD, LOOP, PUSH): 5})
    assert filters.restrict_to_event_loop(on, None) == on


def test_event_loop_and_callers_are_not_candidates():
    on = Counter({(MOD, LOOP, PUSH): 5, (MOD, LOOP): 1})
    df = filters.drop_event_loop_and_callers(table(on), on, "event_loop")
    assert set(df[df["excluded"] == "event loop"]["name"]) == {"<module>", "event_loop"}
    assert df.loc[function_key(PUSH), "excluded"] == ""


def test_library_leaves_go_to_the_nearest_user_frame():
    on = Counter({(MOD, PUSH, NP): 3, (MOD, PUSH): 1, (NP,): 2})
    out = filters.attribute_library_leaves(on, is_user)
    assert out == Counter({(MOD, PUSH): 4, (NP,): 2})


def test_fold_comprehensions():
    gen = make_frame("<genexpr>", f"{USER}/run.py", 10)
    assert filters.fold_comprehensions(Counter({(LOOP, gen, PUSH): 2})) == Counter({(LOOP, PUSH): 2})
    qualified = make_frame("event_loop.<locals>.<listcomp>", f"{USER}/run.py", 6)  # as Python 3.11+ names it
    assert filters.fold_comprehensions(Counter({(LOOP, qualified, PUSH): 3})) == Counter({(LOOP, PUSH): 3})
    assert filters.is_runtime_frame("event_loop.<locals>.<genexpr>", f"{USER}/run.py")
    assert not filters.is_runtime_frame("event_loop.<locals>.<lambda>", f"{USER}/run.py")  # a user function


def test_drop_tiny():
    on = Counter({(LOOP, PUSH): 97, (LOOP, FIELD): 3})
    df = filters.drop_tiny(table(on), total_seconds=100, min_fraction=0.05)
    assert df.loc[function_key(FIELD), "excluded"] == "tiny"
    assert df.loc[function_key(PUSH), "excluded"] == ""


def test_tower_base_dropped_only_above_threshold():
    on = Counter({(LOOP, PUSH, FIELD): 96, (LOOP, PUSH): 4})
    df = filters.drop_tower_bases(table(on), CallTree(on).callees, 0.95)
    assert df.loc[function_key(LOOP), "excluded"] == "tower"  # 100% in push
    assert df.loc[function_key(PUSH), "excluded"] == "tower"  # 96% in field
    df = filters.drop_tower_bases(table(on), CallTree(on).callees, 0.97)
    assert df.loc[function_key(PUSH), "excluded"] == ""


def test_first_reason_wins():
    df = table(Counter({(MOD, PUSH): 1}))
    df = filters.drop_runtime_frames(df)
    df = filters.drop_tiny(df, total_seconds=1000)
    assert df.loc[function_key(MOD), "excluded"] == "runtime"
    assert df.loc[function_key(PUSH), "excluded"] == "tiny"


def test_flag_waiting():
    on = Counter({(LOOP, PUSH): 9, (LOOP, WAIT): 1})
    off = Counter({(LOOP, WAIT, SLEEP): 9})
    df = filters.flag_waiting(table(on, off))
    assert df.loc[function_key(WAIT), "kind"] == "waiting"
    assert df.loc[function_key(PUSH), "kind"] == "compute"
    assert df.loc[function_key(LOOP), "kind"] == "mixed"


def test_pipeline_orders_by_on_cpu_and_keeps_reasons():
    on = Counter({(MOD, LOOP, PUSH, NP): 50, (MOD, LOOP, PUSH): 10, (MOD, LOOP, WAIT): 2, (MOD, LOOP, FIELD): 1})
    off = Counter({(MOD, LOOP, WAIT, SLEEP): 37})
    sel = select(CallTree(on, off), SelectOptions(event_loop="event_loop", user_roots=(USER,)), is_user=is_user)
    assert list(sel.candidates["name"]) == ["push", "read_out"]
    reasons = dict(zip(sel.table["name"], sel.table["excluded"]))
    assert reasons["field"] == "tiny" and reasons["event_loop"] == "event loop"
    push = sel.candidates.iloc[0]
    assert push["on_excl"] == pytest.approx(60)  # numpy's time attributed to push
    assert sel.total_seconds == pytest.approx(100)
    assert isinstance(sel.table, pd.DataFrame)


def test_stack_filters_with_the_distinct_frames_given():
    """Given the call tree's distinct frames, the stack filters give what they give without them, and the same
    Counter back (no copy) when no stack changes: no user frame, or no library leaf under a user frame."""
    gen = make_frame("<genexpr>", f"{USER}/run.py", 10)
    on = Counter({(MOD, PUSH, NP): 3, (MOD, PUSH): 1, (NP,): 2, (MOD, gen, PUSH): 4})
    frames = CallTree(on).table.frames
    assert filters.attribute_library_leaves(on, is_user, frames) == filters.attribute_library_leaves(on, is_user)
    assert filters.fold_comprehensions(on, frames) == filters.fold_comprehensions(on)
    libs = Counter({(NP, SLEEP): 2, (SLEEP,): 1})
    assert filters.attribute_library_leaves(libs, is_user, CallTree(libs).table.frames) is libs
    users = Counter({(MOD, PUSH): 2, (NP, MOD): 1})  # every leaf is the user's
    assert filters.attribute_library_leaves(users, is_user) is users
    assert filters.fold_comprehensions(users, CallTree(users).table.frames) is users


def test_the_program_itself_is_measured_against_its_outermost_frame_not_the_run():
    """Interpreter start-up outside the script (6% here) does not make ``main`` a candidate: it holds all of the
    script's time (94% of the run), called once; a phase called once holding half of it is still a candidate."""
    from phasm_perf.candidates import whole_run_frames

    main = make_frame("main", f"{USER}/run.py", 40)
    site = make_frame("<module>", "/usr/lib/python3.11/site.py", 1)
    on = Counter({(site,): 6, (MOD, main, PUSH): 47, (MOD, main, FIELD): 46, (MOD, main): 1})
    calls = {function_key(main): 1, function_key(PUSH): 1, function_key(FIELD): 1}
    assert whole_run_frames(CallTree(on), calls) == {function_key(MOD), function_key(main)}
    # a function holding 94% of the script but called many times is a kernel, not the program
    assert function_key(main) not in whole_run_frames(CallTree(on), dict(calls, **{function_key(main): 500}))
