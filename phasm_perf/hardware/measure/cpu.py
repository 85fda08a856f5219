"""This CPU as the OS describes it: caches (sysfs), model, vendor, flags and clock (``/proc/cpuinfo``), and the
peak FLOPs per cycle its vector units allow."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_caches(cpu: int = 0, root: str = "/sys/devices/system/cpu") -> list[dict]:
    """Data and unified caches of ``cpu`` from sysfs: ``[{level, size, shared_with}]``, smallest level first."""
    out = []
    base = Path(root) / f"cpu{cpu}" / "cache"
    for idx in sorted(base.glob("index*")):
        try:
            kind = (idx / "type").read_text().strip()
            if kind == "Instruction":
                continue
            level = int((idx / "level").read_text())
            size = parse_size((idx / "size").read_text().strip())
            shared = len(parse_cpu_list((idx / "shared_cpu_list").read_text().strip()))
        except (OSError, ValueError):
            continue
        out.append({"level": level, "size": size, "shared_with": max(shared, 1)})
    return sorted(out, key=lambda c: c["level"])


def parse_size(text: str) -> int:
    """``"32K"`` -> 32768 (sysfs cache sizes)."""
    units = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
    text = text.strip().upper()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def parse_cpu_list(text: str) -> list[int]:
    """``"0-3,6"`` -> ``[0, 1, 2, 3, 6]``."""
    cpus: list[int] = []
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def cpu_info(text: str | None = None) -> dict:
    """Model name, vendor, family, flags and clock from ``/proc/cpuinfo`` text."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:
            text = ""
    info: dict = {}
    for line in text.splitlines():
        key, _, val = line.partition(":")
        key, val = key.strip(), val.strip()
        if key in ("model name", "vendor_id", "cpu family", "model", "cpu MHz", "flags") and key not in info:
            info[key] = val
    return {
        "model": info.get("model name", platform.processor() or "unknown"),
        "vendor": info.get("vendor_id", ""),
        "family": int(info["cpu family"]) if info.get("cpu family", "").isdigit() else None,
        "mhz": float(info["cpu MHz"]) if info.get("cpu MHz") else None,
        "flags": set(info.get("flags", "").split()),
    }


def flops_per_cycle(info: dict, dtype: str) -> int | None:
    """Peak FLOPs per cycle per core from the vector ISA (FMA = 2 FLOPs per lane, two FMA pipes).

    AVX-512 counts as 512-bit only on Intel and on AMD Zen 5 (family 26); Zen 4 runs it on 256-bit pipes. AMX
    (Intel's tile unit) runs bf16 at 1,024 operations per cycle per core (Intel, Accelerate Artificial
    Intelligence Workloads with Intel Advanced Matrix Extensions, 2023), which oneDNN uses for bf16 matrix products.
    """
    flags = info["flags"]
    if "fma" not in flags and "avx512f" not in flags:
        return None
    wide = "avx512f" in flags and (info["vendor"] == "GenuineIntel" or (info.get("family") or 0) >= 26)
    lanes32 = 16 if wide else 8
    per_cycle = {"fp32": 2 * 2 * lanes32, "fp64": 2 * 2 * lanes32 // 2}
    if "amx_bf16" in flags:
        per_cycle["bf16"] = 1024
    elif "avx512_bf16" in flags:
        per_cycle["bf16"] = 2 * per_cycle["fp32"]
    if "avx512_fp16" in flags:
        per_cycle["fp16"] = 2 * per_cycle["fp32"]
    return per_cycle.get(dtype)
