"""What PROG is, and the bundle's atomic writes."""

import json
import sys
from collections import Counter

import pytest

from phasm_perf.core.bundle import BundleWriter, CollectorInfo, Meta, load_bundle
from phasm_perf.collect.program import resolve_target
from phasm_perf.core.errors import PhasmError


def test_python_script(tmp_path):
    p = tmp_path / "a.py"
    p.write_text("print(1)\n")
    t = resolve_target(str(p), ["--x", "1"])
    assert t.kind == "python" and t.argv == [sys.executable, str(p), "--x", "1"]


def test_shebang_and_elf(tmp_path):
    s = tmp_path / "tool"
    s.write_text("#!/usr/bin/env -S python3 -u\nprint(1)\n")
    s.chmod(0o755)
    assert resolve_target(str(s)).kind == "python"
    sh = tmp_path / "tool.sh"
    sh.write_text("#!/bin/sh\necho\n")
    sh.chmod(0o755)
    assert resolve_target(str(sh)).kind == "other"
    assert resolve_target("/bin/true" if __import__("os").path.exists("/bin/true") else "/usr/bin/true").kind == "native"


def test_command_after_dashes():
    t = resolve_target("python3", ["-m", "json.tool"], as_command=True)
    assert t.kind == "python" and t.argv == ["python3", "-m", "json.tool"]


@pytest.mark.parametrize("prog,msg", [("/no/such/prog.py", "program not found"), ("no-such-cmd-xyz", "not found")])
def test_missing_program(prog, msg):
    with pytest.raises(PhasmError, match=msg):
        resolve_target(prog)


def test_not_executable(tmp_path):
    f = tmp_path / "data.bin"
    f.write_text("x")
    with pytest.raises(PhasmError, match="not executable"):
        resolve_target(str(f))


def _meta(**kw):
    base = dict(tool_version="t", argv=["x"], cwd="/", kind="python", start_time="", wall_seconds=1.0,
                exit_status=0, status="complete", collector=CollectorInfo(name="austin", off_cpu=True),
                weight_unit="us", seconds_per_unit=1e-6)
    base.update(kw)
    return Meta(**base)


def test_bundle_is_invisible_until_commit(tmp_path):
    dest = tmp_path / "b"
    w = BundleWriter(dest)
    w.write_stacks("oncpu.folded", Counter({("a", "b"): 3}))
    assert not dest.exists()
    w.commit(_meta())
    b = load_bundle(dest)
    assert b.on_cpu == Counter({("a", "b"): 3}) and b.meta.status == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_aborted_bundle_leaves_nothing(tmp_path):
    w = BundleWriter(tmp_path / "b")
    w.write_stacks("oncpu.folded", Counter({("a",): 1}))
    w.abort()
    assert list(tmp_path.iterdir()) == []


def test_existing_bundle_needs_overwrite(tmp_path):
    (tmp_path / "b").mkdir()
    with pytest.raises(PhasmError, match="--force"):
        BundleWriter(tmp_path / "b")
    w = BundleWriter(tmp_path / "b", overwrite=True)
    w.write_stacks("oncpu.folded", Counter({("a",): 1}))
    w.commit(_meta(status="failed", exit_status=2))
    assert json.loads((tmp_path / "b" / "meta.json").read_text())["status"] == "failed"


def test_load_bundle_errors(tmp_path):
    with pytest.raises(PhasmError, match="not a phasm-perf bundle"):
        load_bundle(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"schema_version": 1}))
    with pytest.raises(PhasmError, match="malformed meta.json"):
        load_bundle(tmp_path)
    (tmp_path / "meta.json").write_text(_meta(schema_version=99).model_dump_json())
    with pytest.raises(PhasmError, match="newer"):
        load_bundle(tmp_path)


def test_a_main_frame_inside_a_native_stack_is_dropped_and_counted():
    from collections import Counter

    from phasm_perf.collect.native import drop_inner_main

    src = "/src/app.cpp"
    good = ("app", "_start", "__libc_start_main", f"main ({src}:10)", f"run ({src}:20)", f"kernel ({src}:30)")
    bad = ("app", "_start", "__libc_start_main", f"main ({src}:10)", f"run ({src}:20)", f"main ({src}:12)",
           f"kernel ({src}:30)")
    out, moved = drop_inner_main(Counter({good: 90, bad: 10}))
    assert moved == 10
    assert out == Counter({good: 100})  # the spurious frame gone, the sample attached to its real callers
    assert drop_inner_main(Counter({good: 5}))[1] == 0


def test_an_inlined_function_carries_its_definition_line_from_dwarf():
    """gamma_p is inlined into deposit: its frames carry the line where it is defined (stable from run to run),
    not the line at one sample's address."""
    import re
    import shutil
    import subprocess

    import pytest

    from phasm_perf.collect.dwarf import declarations, definition
    from tests.conftest import EXAMPLES

    pytest.importorskip("elftools")
    if shutil.which("g++") is None:
        pytest.skip("no C++ compiler")
    src = EXAMPLES / "shower"
    subprocess.run(["make", "-s", "-C", str(src)], check=True, capture_output=True)
    binary = src / "shower"
    line = next(i for i, text in enumerate((src / "profile.cpp").read_text().splitlines(), 1)
                if re.search(r"inline Real gamma_p\(", text))
    assert definition(binary, "gamma_p<double>") == (str(src / "profile.cpp"), line)
    assert definition(binary, "phys::shower::(anonymous namespace)::gamma_p<double>") == (str(src / "profile.cpp"), line)
    # a name declared in several files is resolved by the file the sample was in, else not at all
    assert len(declarations(str(binary))["operator()"]) > 1
    assert definition(binary, "operator()") is None
