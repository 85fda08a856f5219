"""Hardware profiles: every shipped one loads and cites its figures; bad files and names are one clear error;
the pieces of `hw measure` that are pure (cpuinfo, sysfs, fits, grouping) against hand-made inputs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from phasm_perf.core.errors import PhasmError
from phasm_perf.hardware import available, dump, load, parse_profile
from phasm_perf.hardware.measure import best_time, cpu_caches, cpu_info, fit_line, flops_per_cycle, group_levels, \
    parse_cpu_list, parse_size, triad_sizes
from phasm_perf.hardware.profile import close_names

REQUIRED = ["t4", "v100-sxm2", "titan-rtx", "a100-40gb-sxm", "a100-80gb-sxm", "a100-80gb-pcie", "h100-sxm",
            "h100-pcie", "h200", "mi250x", "xeon-8380", "epyc-7763"]


def test_every_required_profile_ships_and_cites_every_figure():
    names = available()
    assert set(REQUIRED) <= set(names)
    for name in REQUIRED:
        p = load(name)
        assert p.name == name == names[name].stem
        figures = list(p.peak_flops.values()) + [p.launch_latency, p.dispatch]
        assert all(len(f.source) > 10 for f in figures)
        assert all(len(lvl.source) > 10 for lvl in p.memory) and len(p.achievable.source) > 10
        assert set(p.peak_flops) == {"fp64", "fp32", "tf32", "bf16", "fp16"}
        assert (p.link is not None) == (p.kind == "gpu")
        dev = p.device("fp32")
        assert dev.peak == pytest.approx(p.peak_flops["fp32"].value * p.achievable.compute)
        assert dev.levels[-1].size > 1e9  # main memory: GBs, or all of it (inf) on a CPU


def test_the_corrected_datasheet_figures():
    # fp64 on the FP64 vector units (the tensor-core rates are a large DGEMM's)
    assert [load(n).peak_flops["fp64"].value for n in ("a100-40gb-sxm", "a100-80gb-sxm", "a100-80gb-pcie",
                                                        "h100-sxm", "h100-pcie", "h200")] == \
        [9.7e12, 9.7e12, 9.7e12, 34e12, 26e12, 34e12]
    # the MI250X as PyTorch sees it: one GCD, half the package
    mi = load("mi250x")
    assert mi.peak_flops["fp32"].value == 23.95e12 and mi.main_memory().bandwidth == 1638.4e9
    assert mi.main_memory().size == 64e9 and mi.cores == 110
    for name in available():
        p = load(name)
        # a GPU's L1 does not keep data between kernels; the levels that do grow in size (V100, TITAN RTX: their
        # L1 summed over the SMs is larger than L2)
        kept = [lvl.size for lvl in p.memory if lvl.persistent and lvl.size]
        assert kept == sorted(kept)
        if p.kind == "gpu":
            assert p.memory[0].name == "L1" and not p.memory[0].persistent
            assert p.link.pageable_bandwidth == pytest.approx(p.link.bandwidth / 2)
        # marshalling is a host cost on every device: kept on the datasheet profiles, as an estimate
        assert p.in_program and p.in_program.marshal > 0 and p.in_program.source.startswith("estimate")
    data = yaml.safe_load(Path(available()["v100-sxm2"]).read_text())
    data["memory"][0]["persistent"] = True
    with pytest.raises(PhasmError, match="must grow in size"):
        parse_profile(yaml.safe_dump(data), "v100 with a persistent L1")


def test_datasheet_figures_that_are_easy_to_get_wrong():
    a100 = load("a100-40gb-sxm")
    assert a100.peak_flops["fp16"].value == 312e12  # dense, not the 624 TFLOPS sparse figure
    assert a100.main_memory().bandwidth == 1555e9
    assert load("h100-sxm").peak_flops["bf16"].value == pytest.approx(989.5e12)
    assert load("t4").peak_flops["bf16"].value is None  # Turing has no bf16 path


def test_a_dump_reloads_to_the_same_profile():
    p = load("h200")
    assert parse_profile(dump(p), "dumped") == p


def test_in_program_cost_is_optional_validated_and_reaches_the_device(tmp_path: Path):
    data = yaml.safe_load(Path(available()["xeon-8380"]).read_text())
    data.pop("in_program")
    f0 = tmp_path / "none.yaml"
    f0.write_text(yaml.safe_dump(data))
    assert load(str(f0)).device("fp32").t_in_program == 0.0  # optional: unset, the tight-loop cost
    data["in_program"] = {"cold_cache": 6e-6, "marshal": 2.5e-6, "marshal_per_number": 5e-8, "source": "by hand"}
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(data))
    p = load(str(f))
    assert p.in_program.seconds == pytest.approx(8.5e-6)
    assert p.device("fp32").t_in_program == pytest.approx(8.5e-6)
    assert p.device("fp32").t_marshal_number == pytest.approx(5e-8)
    assert parse_profile(dump(p), "dumped") == p
    for bad in ({"cold_cache": -1e-6, "marshal": 0.0, "source": "x" * 3}, {"cold_cache": 1e-6, "marshal": 0.0}):
        data["in_program"] = bad
        f.write_text(yaml.safe_dump(data))
        with pytest.raises(PhasmError, match="in_program"):
            load(str(f))


def test_unknown_name_gives_close_names():
    with pytest.raises(PhasmError) as e:
        load("a100-40gb")
    msg = str(e.value)
    assert "a100-40gb-sxm" in msg and "\n" not in msg
    assert close_names("h100", sorted(available()))[:2] == ["h100-pcie", "h100-sxm"]


def test_a_dtype_the_device_lacks_is_a_clear_error():
    with pytest.raises(PhasmError, match="t4 has no bf16 peak.*fp16"):
        load("t4").device("bf16")
    with pytest.raises(PhasmError, match="unknown dtype"):
        load("t4").device("int8")


@pytest.mark.parametrize("edit, expect", [
    (lambda d: d.update(kind="tpu"), "kind"),
    (lambda d: d["peak_flops"]["fp32"].update(value=-1), "peak_flops.fp32.value"),
    (lambda d: d["peak_flops"]["fp32"].pop("source"), "source"),
    (lambda d: d["peak_flops"].update(int4={"value": 1, "source": "made up"}), "unknown dtype"),
    (lambda d: d["memory"].reverse(), "fastest first"),
    (lambda d: d.update(link=None), "host link"),
    (lambda d: d.update(colour="green"), "colour"),
])
def test_invalid_profiles_are_one_line_errors(edit, expect, tmp_path: Path):
    data = yaml.safe_load(Path(available()["a100-40gb-sxm"]).read_text())
    edit(data)
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(data))
    with pytest.raises(PhasmError) as e:
        load(str(f))
    assert expect in str(e.value) and "\n" not in str(e.value) and str(f) in str(e.value)


def test_not_yaml_and_missing_files(tmp_path: Path):
    f = tmp_path / "x.yaml"
    f.write_text("name: [unclosed\n")
    with pytest.raises(PhasmError, match="not valid YAML at line"):
        load(str(f))
    with pytest.raises(PhasmError, match="not found"):
        load(str(tmp_path / "none.yaml"))


def test_local_without_a_measurement_says_how_to_make_one(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PHASM_PERF_LOCAL_PROFILE", str(tmp_path / "local.yaml"))
    with pytest.raises(PhasmError, match="hw measure"):
        load("local")


# ------------------------------------------------------------------------------------------ measure, pure parts
CPUINFO_ZEN4 = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC 9654\n" \
               "cpu MHz\t\t: 2400.000\nflags\t\t: fpu sse2 avx fma avx2 avx512f avx512_bf16\n"
CPUINFO_ICX = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: Intel(R) Xeon(R) Platinum 8380\n" \
              "cpu MHz\t\t: 2300.000\nflags\t\t: fpu avx fma avx2 avx512f\n"


def test_flops_per_cycle_from_cpuinfo():
    zen4, icx = cpu_info(CPUINFO_ZEN4), cpu_info(CPUINFO_ICX)
    assert zen4["model"] == "AMD EPYC 9654" and zen4["mhz"] == 2400.0 and zen4["family"] == 25
    assert flops_per_cycle(zen4, "fp32") == 32   # AVX-512 on 256-bit pipes: 2 FMA x 8 lanes x 2
    assert flops_per_cycle(zen4, "fp64") == 16
    assert flops_per_cycle(zen4, "bf16") == 64
    assert flops_per_cycle(icx, "fp32") == 64    # 2 FMA x 16 lanes x 2
    assert flops_per_cycle(icx, "bf16") is None
    assert flops_per_cycle(cpu_info("flags\t: sse2\n"), "fp32") is None
    spr = cpu_info(CPUINFO_ICX.replace("avx512f", "avx512f avx512_bf16 amx_bf16"))
    assert flops_per_cycle(spr, "bf16") == 1024  # AMX: 1,024 bf16 operations per cycle per core


def test_sysfs_parsing(tmp_path: Path):
    assert parse_size("32K") == 32768 and parse_size("1024K") == 1 << 20 and parse_size("12") == 12
    assert parse_cpu_list("0-3,6") == [0, 1, 2, 3, 6]
    for i, (lvl, kind, size, shared) in enumerate([(1, "Data", "32K", "0"), (1, "Instruction", "32K", "0"),
                                                   (2, "Unified", "1024K", "0"), (3, "Unified", "32768K", "0-1")]):
        d = tmp_path / "cpu0" / "cache" / f"index{i}"
        d.mkdir(parents=True)
        for name, val in (("level", lvl), ("type", kind), ("size", size), ("shared_cpu_list", shared)):
            (d / name).write_text(f"{val}\n")
    caches = cpu_caches(0, str(tmp_path))
    assert caches == [{"level": 1, "size": 32768, "shared_with": 1}, {"level": 2, "size": 1 << 20, "shared_with": 1},
                      {"level": 3, "size": 32 << 20, "shared_with": 2}]


def test_group_levels_takes_each_cache_from_the_points_that_fit_in_it():
    caches = [{"level": 1, "size": 32768, "shared_with": 1}, {"level": 2, "size": 1 << 20, "shared_with": 1},
              {"level": 3, "size": 32 << 20, "shared_with": 2}]
    sweep = [(24 << 10, 100e9), (48 << 10, 90e9), (1 << 20, 60e9), (8 << 20, 40e9), (100 << 20, 10e9),
             (200 << 20, 12e9)]
    levels, problems = group_levels(sweep, caches, cores=2)
    # a private cache over the profile's 2 threads: twice one core's capacity
    assert [(lvl["name"], lvl["size"], lvl["private"]) for lvl in levels] == [
        ("L1", 65536.0, True), ("L2", 2097152.0, True), ("L3", 33554432.0, False), ("DRAM", None, False)]
    # L1: its points (24 and 48 KB, under 32,768 elements: one thread each) at 95 GB/s median per core, x 2 cores;
    # L2: the 1 MB point ran on 2 threads (43,690 elements): 30 GB/s per core, x 2; main memory: the median of the
    # points beyond 3x the last-level cache (100 and 200 MB), not the best one
    assert [lvl["bandwidth"] for lvl in levels] == [190e9, 60e9, 40e9, 11e9]
    assert problems == []


def test_group_levels_reports_roofs_out_of_order_unless_the_framework_bounds_them():
    caches = [{"level": 1, "size": 32768, "shared_with": 2}, {"level": 2, "size": 1 << 20, "shared_with": 2}]
    sweep = [(24 << 10, 10e9), (512 << 10, 60e9), (100 << 20, 12e9)]
    levels, problems = group_levels(sweep, caches, cores=2)
    assert len(problems) == 1 and problems[0].startswith("L1 measured at 10 GB/s, slower than L2")
    assert levels[0]["bandwidth"] == 60e9  # raised to the level behind it
    _, problems = group_levels(sweep, caches, cores=2, lower_bounds=frozenset({24 << 10}))
    assert problems == []  # a triad dominated by the per-call overhead is a lower bound, not an inconsistency


def test_fit_line_and_sizes():
    a, b = fit_line([1, 3, 7, 15], [3.0, 7.0, 15.0, 31.0])
    assert (a, b) == (pytest.approx(1.0), pytest.approx(2.0))
    sizes = triad_sizes(32 << 20, quick=True)
    assert sizes[0] == 24 << 10 and sizes[-1] >= 64 << 20 and sizes == sorted(sizes)


def test_best_time_keeps_the_uninterrupted_rate():
    """A fake clock: every fifth group is interrupted (10x slower); the low quantile ignores it."""
    state = {"t": 0.0, "calls": 0}

    def clock():
        return state["t"]

    def fn():
        state["calls"] += 1
        state["t"] += 1e-3 * (10 if (state["calls"] // 7) % 5 == 4 else 1)

    t = best_time(fn, trials=3, min_seconds=0.1, clock=clock, group_seconds=1e-3)
    assert t == pytest.approx(1e-3)


def _fake_local(torch_version: str = "2.13.0+cpu", cpu: str = "Test CPU"):
    """A measured-looking profile (tables and all), without measuring."""
    data = yaml.safe_load(Path(available()["xeon-8380"]).read_text())
    data.update(name="local", measured={"torch": torch_version, "cpu": cpu},
                tables={"threads": 1, "linear": {"fp32": {"batches": [1, 8], "inputs": [2, 8], "outputs": [2, 8],
                                                          "seconds": [1e-6] * 8, "source": "by hand"}}})
    return parse_profile(yaml.safe_dump(data), "fake")


def test_local_is_measured_the_first_time_it_is_asked_for(tmp_path: Path, monkeypatch):
    """`--hardware local` with no profile yet measures this machine once (the measurement is faked here: the real
    one is exercised by the `hw measure --quick` integration test), says so (how long, where it is kept) and
    reads the file it wrote afterwards."""
    from phasm_perf.hardware import measure as measure_mod
    from phasm_perf.hardware import resolve

    dest = tmp_path / "cache" / "local.yaml"
    monkeypatch.setenv("PHASM_PERF_LOCAL_PROFILE", str(dest))
    calls, said = [], []
    fake = _fake_local()
    monkeypatch.setattr(measure_mod, "measure", lambda opts, on_progress=None: calls.append(opts) or fake)
    monkeypatch.setattr("phasm_perf.hardware.stale_reason", lambda p: None)
    first = resolve("local", on_status=said.append)
    again = resolve("local", on_status=said.append)
    assert len(calls) == 1 and dest.exists() and first == again == fake
    assert len(said) == 1 and str(dest) in said[0] and "measuring this machine" in said[0]
    assert "no profile of this machine yet" in said[0] and " s on a quiet machine" in said[0]


def test_a_stale_local_profile_is_measured_again(tmp_path: Path, monkeypatch):
    from phasm_perf.hardware import measure as measure_mod
    from phasm_perf.hardware import resolve, stale_reason

    old = _fake_local(torch_version="2.1.0")
    assert stale_reason(old, torch_version="2.13.0+cpu", cpu="Test CPU") == \
        "it was measured with torch 2.1.0, this is torch 2.13.0+cpu"
    assert "measured on Test CPU, this is Other CPU" in stale_reason(_fake_local(), "2.13.0+cpu", "Other CPU")
    assert stale_reason(_fake_local(), "2.13.0+cpu", "Test CPU") is None
    # PyPI's CUDA wheel: torch.__version__ 2.13.0+cu130 (what hw measure records), metadata 2.13.0: the same build
    cuda = _fake_local(torch_version="2.13.0+cu130")
    assert stale_reason(cuda, "2.13.0", "Test CPU") is None
    assert "measured with torch 2.13.0+cu130, this is torch 2.13.0+cpu" in stale_reason(cuda, "2.13.0+cpu", "Test CPU")
    assert stale_reason(cuda, "2.14.1", "Test CPU").startswith("it was measured with torch 2.13.0+cu130")
    assert "without cost tables" in stale_reason(load("xeon-8380").model_copy(update={"measured": {}}), "x", "y")
    dest = tmp_path / "local.yaml"
    dest.write_text(dump(old))
    monkeypatch.setenv("PHASM_PERF_LOCAL_PROFILE", str(dest))
    new, said = _fake_local(), []
    monkeypatch.setattr(measure_mod, "measure", lambda opts, on_progress=None: new)
    assert resolve("local", on_status=said.append) == new
    assert "measured with torch 2.1.0" in said[0] and str(dest) in said[0]
