"""The NVML sampler's logic with a fake NVML module: what it records per GPU, its summary, and its silence
without a GPU."""

from __future__ import annotations

import csv
import json
import types

import pytest

from phasm_perf.collect.gpu import BUSY_PERCENT, COLUMNS, GpuSampler


class NVMLError(Exception):
    pass


class NVMLError_LibraryNotFound(NVMLError):  # noqa: N801 - pynvml's own spelling
    pass


class NVMLError_NotSupported(NVMLError):  # noqa: N801
    pass


def fake_nvml(devices: list[dict]):
    """A stand-in for ``pynvml``: each device replays its list of readings, one per sample."""
    state = {"init": 0, "shutdown": 0, "calls": {i: 0 for i in range(len(devices))}}
    nv = types.SimpleNamespace(NVML_CLOCK_SM=1, NVML_PCIE_UTIL_TX_BYTES=0, NVML_PCIE_UTIL_RX_BYTES=1, state=state)

    def reading(h):
        seq = devices[h]["readings"]
        return seq[min(state["calls"][h], len(seq) - 1)]

    def util(h):
        r = reading(h)
        return types.SimpleNamespace(gpu=r["util"], memory=r["mem_util"])

    def memory(h):
        return types.SimpleNamespace(total=devices[h]["total"], used=reading(h)["used"])

    def power(h):
        if devices[h].get("no_power"):
            raise NVMLError_NotSupported("Not Supported")
        return reading(h)["mw"]

    def clock(h, kind):
        assert kind == nv.NVML_CLOCK_SM
        return reading(h)["sm"]

    def pcie(h, which):
        r = reading(h)
        value = r["tx_kb"] if which == nv.NVML_PCIE_UTIL_TX_BYTES else r["rx_kb"]
        if which == nv.NVML_PCIE_UTIL_RX_BYTES:  # the last counter read per sample: advance the replay
            state["calls"][h] += 1
        return value

    nv.nvmlInit = lambda: state.__setitem__("init", state["init"] + 1)
    nv.nvmlShutdown = lambda: state.__setitem__("shutdown", state["shutdown"] + 1)
    nv.nvmlDeviceGetCount = lambda: len(devices)
    nv.nvmlDeviceGetHandleByIndex = lambda i: i
    nv.nvmlDeviceGetName = lambda h: devices[h]["name"].encode()  # old pynvml returns bytes
    nv.nvmlDeviceGetMemoryInfo = memory
    nv.nvmlDeviceGetUtilizationRates = util
    nv.nvmlDeviceGetPowerUsage = power
    nv.nvmlDeviceGetClockInfo = clock
    nv.nvmlDeviceGetPcieThroughput = pcie
    return nv


def _reading(util, used, mw=100_000, sm=1400, tx=2048, rx=1024, mem_util=10):
    return {"util": util, "mem_util": mem_util, "used": used, "mw": mw, "sm": sm, "tx_kb": tx, "rx_kb": rx}


def _two_gpus():
    busy = [_reading(u, used) for u, used in [(90, 1 << 30), (80, 2 << 30), (0, 3 << 30), (70, 2 << 30)]]
    idle = [_reading(0, 100 << 20, mw=30_000, sm=210) for _ in range(4)]
    return [{"name": "Fake A100", "total": 40 << 30, "readings": busy},
            {"name": "Fake T4", "total": 16 << 30, "readings": idle, "no_power": True}]


def test_sampler_records_every_counter_per_gpu_and_summarises(tmp_path):
    devices = _two_gpus()
    nv = fake_nvml(devices)
    s = GpuSampler(interval=3600, nvml=nv)  # the thread never ticks: samples are taken by hand
    s.start()                                # first sample at start
    s.sample()
    s.sample()
    s.stop()                                 # last sample at stop
    assert s.status == "available"
    assert nv.state["init"] == 1 and nv.state["shutdown"] == 1
    rows0 = [r for r in s.rows if r["gpu"] == 0]
    assert [r["util_percent"] for r in rows0] == [float(r["util"]) for r in devices[0]["readings"]]
    assert [r["mem_used_bytes"] for r in rows0] == [r["used"] for r in devices[0]["readings"]]
    assert rows0[0]["power_watts"] == devices[0]["readings"][0]["mw"] / 1000
    assert rows0[0]["sm_clock_mhz"] == devices[0]["readings"][0]["sm"]
    assert rows0[0]["pcie_tx_bytes_per_s"] == devices[0]["readings"][0]["tx_kb"] * 1024
    assert rows0[0]["pcie_rx_bytes_per_s"] == devices[0]["readings"][0]["rx_kb"] * 1024
    # a counter the device does not support stays empty, it is not made up
    assert all(r["power_watts"] is None for r in s.rows if r["gpu"] == 1)

    summary = {d["name"]: d for d in s.summary()}
    utils = [r["util"] for r in devices[0]["readings"]]
    a = summary["Fake A100"]
    assert a["samples"] == 4
    assert a["util_mean_percent"] == pytest.approx(sum(utils) / len(utils))
    assert a["util_peak_percent"] == max(utils)
    assert a["busy_fraction"] == pytest.approx(sum(u >= BUSY_PERCENT for u in utils) / len(utils))
    assert a["mem_used_peak_bytes"] == max(r["used"] for r in devices[0]["readings"])
    assert summary["Fake T4"]["busy_fraction"] == 0 and summary["Fake T4"]["power_mean_watts"] is None

    line = s.status_line()
    assert line.startswith("available: ")
    assert f"GPU0 Fake A100: busy {100 * a['busy_fraction']:.0f}% of the run" in line
    assert "GPU1 Fake T4: busy 0% of the run" in line

    s.write(tmp_path)
    data = json.loads((tmp_path / "gpu.json").read_text())
    assert data["status"] == "available" and len(data["devices"]) == 2
    with open(tmp_path / "gpu.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == COLUMNS and len(table) == len(s.rows)


def test_sampler_thread_samples_over_time():
    import time

    nv = fake_nvml([{"name": "G", "total": 1 << 30, "readings": [_reading(50, 1 << 20)]}])
    s = GpuSampler(interval=0.01, nvml=nv)
    s.start()
    time.sleep(0.2)
    s.stop()
    ts = [r["t"] for r in s.rows]
    assert len(ts) >= 5 and ts == sorted(ts)


def test_no_nvml_library_says_unavailable_and_writes_no_samples(tmp_path):
    nv = types.SimpleNamespace()

    def init():
        raise NVMLError_LibraryNotFound("NVML Shared Library Not Found")

    nv.nvmlInit = init
    s = GpuSampler(nvml=nv)
    s.start()
    s.stop()
    assert s.status == "unavailable (NVML library not found)"
    assert s.status_line() == s.status and s.rows == []
    s.write(tmp_path)
    assert json.loads((tmp_path / "gpu.json").read_text())["status"] == s.status
    assert not (tmp_path / "gpu.csv").exists()


def test_real_pynvml_without_a_gpu_says_why():
    pynvml = pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed (the gpu extra)")
    try:
        pynvml.nvmlInit()
    except Exception:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("this machine has a working NVML: the no-GPU path cannot be seen here")
    s = GpuSampler()
    s.start()
    s.stop()
    assert s.status.startswith("unavailable (") and s.rows == []
