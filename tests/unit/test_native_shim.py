"""The replacement's source for each kind of result, compiled; the build cache; the missing compiler."""

from __future__ import annotations

import shutil

import pytest

from phasm_perf.core.errors import PhasmError
from phasm_perf.native import build as B
from phasm_perf.native.shim import ShimSpec, source


def _spec(**kw) -> ShimSpec:
    base = dict(ret="void", params=["char*", "double", "char*"], cap_in=["a1", "*(double*)(a0 + 8)"],
                cap_out=["*(double*)(a2 + 0)"], model_in=["a1"], model_out=["*(double*)(a2 + 0)"],
                counters=["*(int64_t*)(g[0]) += 1;"], globals=[4096])
    base.update(kw)
    return ShimSpec(**base)


def test_registers_kept_except_the_result():
    void = source(_spec())
    assert '"movdqu 0(%rsp),%xmm0\\n"' in void and '"pop %rax\\n"' in void  # nothing carries a result
    dbl = source(_spec(ret="double", cap_out=["r"], model_out=["r"], ret_kind="xmm", ret_size=8))
    assert '"movdqu 0(%rsp),%xmm0\\n"' not in dbl and '"movdqu 16(%rsp),%xmm1\\n"' in dbl
    assert "return r;" in dbl
    ptr = source(_spec(ret="int64_t", cap_out=["r"], model_out=["r"], ret_kind="int", ret_size=8))
    assert '"add $8,%rsp\\n"' in ptr and '"pop %rax\\n"' not in ptr
    assert "g[0] = base + 4096L;" in void and "*(int64_t*)(g[0]) += 1;" in void


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")
def test_compiles_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    lib = B.build_shared(source(_spec()), "phasm-shim", "c")
    assert lib.is_file() and lib.parent == tmp_path / "phasm-perf" / "native"
    again = B.build_shared(source(_spec()), "phasm-shim", "c")
    assert again == lib and again.stat().st_mtime == lib.stat().st_mtime


def test_no_compiler_is_one_line(monkeypatch):
    monkeypatch.setattr(B.shutil, "which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(PhasmError, match="no C\\+\\+ compiler for the native surrogate runtime: install g\\+\\+"):
        B.compiler("c++")


def test_ptrace_scope_says_how_to_fix(tmp_path, monkeypatch):
    from phasm_perf.native import frida_run

    scope = tmp_path / "ptrace_scope"
    monkeypatch.setattr(frida_run, "PTRACE_SCOPE", scope)
    scope.write_text("3\n")
    with pytest.raises(PhasmError, match="not permitted.*ptrace_scope is 3.*rebooting"):
        frida_run.check_permitted()
    scope.write_text("2\n")
    monkeypatch.setattr(frida_run.os, "geteuid", lambda: 1000)
    with pytest.raises(PhasmError, match="ptrace_scope is 2.*sysctl kernel.yama.ptrace_scope=1"):
        frida_run.check_permitted()
    scope.write_text("1\n")
    frida_run.check_permitted()  # the parent may trace its child: Frida's spawn works
