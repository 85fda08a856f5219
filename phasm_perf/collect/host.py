"""Facts about the machine a profile was taken on (CPU, memory, Python, GPUs)."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # pragma: no cover - psutil is a dependency
        return None


def gpus() -> dict[str, Any]:
    """GPUs seen through NVML, or ``{"status": "unavailable (reason)"}``: never raises."""
    try:
        import pynvml  # provided by nvidia-ml-py
    except ImportError:
        return {"status": "unavailable (nvidia-ml-py not installed: pip install 'phasm-perf[gpu]')", "devices": []}
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return {"status": f"unavailable ({_nvml_reason(exc)})", "devices": []}
    try:
        devices = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            devices.append({"index": i, "name": name if isinstance(name, str) else name.decode(), "memory_bytes": int(mem.total)})
        return {"status": "available" if devices else "unavailable (NVML reports no devices)", "devices": devices}
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def _nvml_reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "LibraryNotFound" in type(exc).__name__ or "not found" in text.lower():
        return "NVML library not found"
    return f"NVML: {text}"


def host_info() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "python": sys.version.split()[0],
        "gpu": gpus(),
    }
