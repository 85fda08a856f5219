"""GPU counters over time through NVML (``nvidia-ml-py``, module ``pynvml``), sampled while the program runs.

A background thread reads, every ``interval`` seconds and for each GPU: utilisation (SM and memory, percent),
memory used, power, SM clock and PCIe TX/RX throughput. The rows go to the bundle's ``gpu.csv``; ``gpu.json`` holds
the devices and a summary per GPU (mean and peak utilisation, the share of samples with the GPU busy, peak memory,
mean power). Without a GPU the sampler does nothing and says why, once: ``unavailable (NVML library not found)``.

The NVML module is passed in (``nvml=``) so the logic is tested with a fake one; by default it is ``pynvml``.
A counter a device does not support (NVML ``NotSupported``) is left empty in its rows, not made up.
"""

from __future__ import annotations

import csv
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COLUMNS = ["t", "gpu", "util_percent", "mem_util_percent", "mem_used_bytes", "power_watts", "sm_clock_mhz",
           "pcie_tx_bytes_per_s", "pcie_rx_bytes_per_s"]
#: a GPU counts as busy in a sample when its SM utilisation is at least this
BUSY_PERCENT = 5.0


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "LibraryNotFound" in type(exc).__name__ or "not found" in text.lower():
        return "NVML library not found"
    if "DriverNotLoaded" in type(exc).__name__:
        return "NVIDIA driver not loaded"
    return f"NVML: {text}"


def _load_nvml():
    try:
        import pynvml  # provided by nvidia-ml-py
    except ImportError:
        return None
    return pynvml


@dataclass
class GpuSampler:
    """Start with :meth:`start`, stop with :meth:`stop`; :attr:`rows` and :meth:`summary` hold the result."""

    interval: float = 0.1
    nvml: Any = None
    status: str = "unavailable (not started)"
    devices: list[dict] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    _handles: list = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _t0: float = 0.0

    def start(self) -> None:
        nv = self.nvml if self.nvml is not None else _load_nvml()
        if nv is None:
            self.status = "unavailable (nvidia-ml-py not installed: pip install 'phasm-perf[gpu]')"
            return
        self.nvml = nv
        try:
            nv.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
            self.status = f"unavailable ({_reason(exc)})"
            return
        try:
            n = nv.nvmlDeviceGetCount()
            for i in range(n):
                h = nv.nvmlDeviceGetHandleByIndex(i)
                name = nv.nvmlDeviceGetName(h)
                mem = nv.nvmlDeviceGetMemoryInfo(h)
                self._handles.append(h)
                self.devices.append({"index": i, "name": name if isinstance(name, str) else name.decode(),
                                     "memory_bytes": int(mem.total)})
        except Exception as exc:
            self.status = f"unavailable ({_reason(exc)})"
            self._shutdown()
            return
        if not self._handles:
            self.status = "unavailable (NVML reports no devices)"
            self._shutdown()
            return
        self.status = "available"
        self._t0 = time.monotonic()
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="phasm-perf-nvml", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def _get(self, fn: str, *args):
        try:
            return getattr(self.nvml, fn)(*args)
        except Exception:  # NotSupported on this device, or a transient error: leave the cell empty
            return None

    def sample(self) -> None:
        t = round(time.monotonic() - self._t0, 4)
        nv = self.nvml
        for i, h in enumerate(self._handles):
            util = self._get("nvmlDeviceGetUtilizationRates", h)
            mem = self._get("nvmlDeviceGetMemoryInfo", h)
            power = self._get("nvmlDeviceGetPowerUsage", h)            # milliwatts
            clock = self._get("nvmlDeviceGetClockInfo", h, getattr(nv, "NVML_CLOCK_SM", 1))
            tx = self._get("nvmlDeviceGetPcieThroughput", h, getattr(nv, "NVML_PCIE_UTIL_TX_BYTES", 0))  # KB/s
            rx = self._get("nvmlDeviceGetPcieThroughput", h, getattr(nv, "NVML_PCIE_UTIL_RX_BYTES", 1))
            self.rows.append({
                "t": t, "gpu": i,
                "util_percent": None if util is None else float(util.gpu),
                "mem_util_percent": None if util is None else float(util.memory),
                "mem_used_bytes": None if mem is None else int(mem.used),
                "power_watts": None if power is None else power / 1000.0,
                "sm_clock_mhz": None if clock is None else int(clock),
                "pcie_tx_bytes_per_s": None if tx is None else int(tx) * 1024,
                "pcie_rx_bytes_per_s": None if rx is None else int(rx) * 1024,
            })

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None
            self.sample()
        self._shutdown()

    def _shutdown(self) -> None:
        if self.nvml is not None and hasattr(self.nvml, "nvmlShutdown"):
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass

    # -- results ----------------------------------------------------------------------------------------------
    def summary(self) -> list[dict]:
        """Per GPU: samples, mean and peak utilisation, busy share, peak memory used, mean power, mean PCIe."""
        out = []
        for dev in self.devices:
            rows = [r for r in self.rows if r["gpu"] == dev["index"]]

            def vals(key: str) -> list[float]:
                return [r[key] for r in rows if r[key] is not None]

            util = vals("util_percent")
            mem = vals("mem_used_bytes")
            power = vals("power_watts")
            tx, rx = vals("pcie_tx_bytes_per_s"), vals("pcie_rx_bytes_per_s")
            out.append({
                **dev,
                "samples": len(rows),
                "util_mean_percent": sum(util) / len(util) if util else None,
                "util_peak_percent": max(util) if util else None,
                "busy_fraction": sum(u >= BUSY_PERCENT for u in util) / len(util) if util else None,
                "mem_used_peak_bytes": max(mem) if mem else None,
                "power_mean_watts": sum(power) / len(power) if power else None,
                "pcie_tx_mean_bytes_per_s": sum(tx) / len(tx) if tx else None,
                "pcie_rx_mean_bytes_per_s": sum(rx) / len(rx) if rx else None,
            })
        return out

    def status_line(self) -> str:
        """``available: GPU0 NAME busy 73% of the run (mean 61% util)`` or ``unavailable (reason)``."""
        if self.status != "available":
            return self.status
        parts = []
        for s in self.summary():
            if s["util_mean_percent"] is None:
                parts.append(f"GPU{s['index']} {s['name']}: utilisation not reported")
            else:
                parts.append(f"GPU{s['index']} {s['name']}: busy {100 * s['busy_fraction']:.0f}% of the run, "
                             f"mean utilisation {s['util_mean_percent']:.0f}%")
        return "available: " + "; ".join(parts)

    def write(self, folder: Path) -> None:
        """``gpu.json`` always (status, devices, summary); ``gpu.csv`` when there are samples."""
        import json

        (folder / "gpu.json").write_text(json.dumps({
            "status": self.status, "interval_seconds": self.interval, "busy_threshold_percent": BUSY_PERCENT,
            "devices": self.summary() if self.status == "available" else [],
        }, indent=2) + "\n", encoding="utf-8")
        if self.rows:
            with open(folder / "gpu.csv", "w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=COLUMNS)
                w.writeheader()
                for r in self.rows:
                    w.writerow({k: ("" if v is None else v) for k, v in r.items()})


__all__ = ["GpuSampler", "COLUMNS", "BUSY_PERCENT"]
