"""DWARF types of compiled functions (pyelftools) and where their arguments live (System V x86-64)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from phasm_perf.core.errors import PhasmError

pytest.importorskip("elftools")
from phasm_perf.discover.abi import locate  # noqa: E402
from phasm_perf.discover.dwarf import CType, Function, Member, Param, find_function, read_binary  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
CASES = HERE / "programs" / "native" / "vars_cases.cpp"
FIELDMAP = HERE.parent / "examples" / "fieldmap"
SHOWER = HERE.parent / "examples" / "shower"


def _build(tmp: Path, name: str, *flags: str) -> Path:
    if shutil.which("g++") is None:
        pytest.skip("no g++")
    out = tmp / name
    subprocess.run(["g++", *flags, "-o", str(out), str(CASES)], check=True)
    return out


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("dwarf"), "vars_cases", "-g", "-O2")


def _example(folder: Path) -> Path:
    """The example built by its Makefile (the binary is named after its folder)."""
    if shutil.which("g++") is None or shutil.which("make") is None:
        pytest.skip("no g++/make")
    subprocess.run(["make", "-s", "-C", str(folder)], check=True)
    return folder / folder.name


@pytest.fixture(scope="module")
def fieldmap() -> Path:
    return _example(FIELDMAP)


@pytest.fixture(scope="module")
def shower() -> Path:
    return _example(SHOWER)


def test_member_function_parameters_and_globals(fieldmap):
    info = read_binary(fieldmap)
    fn = find_function(info, "fmap::FieldMap::lookup")
    assert fn.qualname == "fmap::FieldMap::lookup"
    assert [(p.name, p.type.kind, p.type.name) for p in fn.params] == [
        ("this", "pointer", "const fmap::FieldMap* const"), ("xyz", "pointer", "const double*"),
        ("bx", "reference", "double&"), ("by", "reference", "double&"), ("bz", "reference", "double&")]
    assert fn.params[0].artificial
    this = fn.params[0].type.target
    assert [(m.name, m.offset, m.type.dtype) for m in this.members] == [("strength_", 0, "float64"),
                                                                       ("calibrated_", 8, "bool")]
    names = {g.qualname: g for g in info.globals}
    assert {"fmap::g_config", "fmap::g_lookups"} <= set(names)
    cfg = names["fmap::g_config"].type
    assert [m.name for m in cfg.members] == ["coil_radius", "coil_pitch", "coils", "segments", "mu0_i"]
    assert names["fmap::g_lookups"].type.dtype == "int64"
    assert fn.returns.kind == "void"
    assert find_function(info, "FieldMap::lookup") is not None  # a unique tail of the qualified name


def test_the_call_operator_is_found_by_its_name(shower):
    info = read_binary(shower)
    for spec in ("phys::FieldMap::operator()", "FieldMap::operator()", "phys::FieldMap::operator()()"):
        assert find_function(info, spec).qualname == "phys::FieldMap::operator()"
    assert find_function(info, "sim::transport()").qualname == "sim::transport"     # `f()` still names f


def test_close_names_inlined_and_missing_debug_info(cases, tmp_path):
    info = read_binary(cases)
    with pytest.raises(PhasmError, match="close names: .*cases::scale"):
        find_function(info, "cases::scal")
    with pytest.raises(PhasmError, match="inlined everywhere.*noinline.*-O1"):
        find_function(info, "cases::square")
    nog = _build(tmp_path, "nog", "-O2")
    with pytest.raises(PhasmError, match="no debug information.*-g"):
        read_binary(nog)
    stripped = tmp_path / "stripped"
    subprocess.run(["strip", "-o", str(stripped), str(cases)], check=True)
    with pytest.raises(PhasmError, match="stripped"):
        read_binary(stripped)
    with pytest.raises(PhasmError, match="not an ELF"):
        read_binary(CASES)


def _t(kind, name, size, dtype=None, target=None, members=()):
    return CType(kind, name, size, dtype=dtype, target=target, members=list(members))


D = _t("base", "double", 8, "float64")
I = _t("base", "int", 4, "int32")
VEC = _t("struct", "Vec3", 24, members=[Member("x", 0, D), Member("y", 8, D), Member("z", 16, D)])
PAIR = _t("struct", "Pair", 16, members=[Member("a", 0, D), Member("b", 8, D)])


def test_sysv_locations_scalars_pointers_structs():
    ptr = _t("pointer", "double*", 8, target=D)
    fn = Function("f", None, 0, [Param("this", _t("pointer", "S*", 8, target=VEC), True), Param("e", D),
                                 Param("n", I), Param("p", ptr), Param("v", VEC), Param("c", D)], VEC, Path("x"))
    args, ret = locate(fn)
    assert ret.kind == "sret" and ret.size == 24            # a 24-byte struct comes back through rdi
    assert [(a.name, a.reg, a.xmm, a.stack) for a in args] == [
        ("this", "rsi", None, None), ("e", None, 0, None), ("n", "rdx", None, None), ("p", "rcx", None, None),
        ("v", None, None, 8), ("c", None, 1, None)]
    fn2 = Function("g", None, 0, [Param("q", PAIR)], D, Path("x"))
    args2, ret2 = locate(fn2)
    assert ret2.kind == "xmm" and args2[0].xmm == 0
