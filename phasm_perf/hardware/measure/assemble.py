"""The measured figures of the CPU as a hardware profile (the same format as the shipped ones), every figure
with how it was measured, the raw points under ``measured`` and the load, spread and flags under ``quality``."""

from __future__ import annotations

from ..profile import HardwareProfile
from .cpu_profile import achievable_compute
from .checks import as_flag, check_speed
from .probe import REFERENCE
from .tables import BURST, table_spread

fig = lambda v, src: {"value": v, "source": src}  # noqa: E731


def _peaks(r: dict, how: str) -> dict:
    n = r["threads"]
    out = {d: fig(r["peaks"][d], f"{how}: torch.matmul, best square size n={r['peak_n'][d]} {d}, {n} thread(s)"
                  + (f" (numpy, with its BLAS's own threads: {r['numpy_peaks'][d] / 1e9:.1f} GFLOP/s)"
                     if d in r["numpy_peaks"] else ""))
           for d in ("fp64", "fp32", "bf16", "fp16")}
    out["tf32"] = fig(None, "not applicable on a CPU (tf32 is a GPU tensor-core format)")
    return out


def _memory(r: dict, how: str) -> list[dict]:
    out = []
    for lvl in r["levels"]:
        where = ("beyond three times the last-level cache" if lvl["size"] is None else
                 f"that fit in {lvl['name']} ({lvl['size'] / 1024:,.0f} KB"
                 + (f": one per core, over the profile's {r['threads']} thread(s)" if lvl["private"] else ", shared")
                 + ", size from sysfs)")
        out.append({"name": lvl["name"], "size": lvl["size"], "bandwidth": lvl["bandwidth"],
                    "private": lvl["private"],
                    "source": f"{how}: triad a = b + 3c (torch.add, fp64), median of {lvl['points']} working-set "
                              f"size(s) {where}"})
    return out


def _runtimes(r: dict, how: str) -> dict:
    sub = "beyond the operators' own times (measured in the same rounds)" if r["linear"] else \
        "including the tiny kernels' own time (no tables)"
    return {rt: {"forward": c["forward"], "per_kernel": c["per_kernel"],
                 "source": f"{how}: MLPs 13-51-...-13 at batch 1, depths "
                           + "/".join(str((k + 1) // 2) for k, _, _ in c["points"])
                           + f", {rt}; a line over the kernels of what the runtime adds {sub}"}
            for rt, c in r["runtimes"].items()}


def _tables(r: dict, how: str) -> dict | None:
    if not r["linear"]:
        return None
    lin = {dt: {k: t[k] for k in ("batches", "inputs", "outputs", "seconds")} |
           {"source": f"{how}: F.linear {dt} under inference_mode, median over groups of calls per node, "
                      f"{r['threads']} thread(s); two passes, {t['again']} node(s) that differed by more than "
                      f"{BURST:g}x between them measured a third time"} for dt, t in r["linear"].items()}
    act = {dt: {"elements": t["elements"], "seconds": t["seconds"],
                "source": f"{how}: each activation out of place on a contiguous {dt} tensor, median over groups"}
           for dt, t in r["activation"].items()}
    f = r["fresh_pages"]
    fresh = {"seconds_per_byte": f["seconds_per_byte"], "from_bytes": f["from_bytes"],
             "source": f"{how}: torch.empty({f['bytes'] >> 20} MB).fill_(1) ({f['fresh'] * 1e3:.2f} ms, fresh pages "
                       f"from the OS) against filling a kept buffer ({f['reused'] * 1e3:.2f} ms), per byte; from "
                       "32 MiB: glibc's largest mmap threshold (malloc(3)), above which every block is fresh memory"} if f else None
    return {"threads": r["threads"], "linear": lin, "activation": act, "fresh_pages": fresh}


def _in_program(r: dict, how: str) -> dict:
    p = r["in_program"]
    pts = ", ".join(f"{w / 1e6:.2f} MB: {c * 1e6:.1f} µs" for w, c, _ in p["points"])
    return {"cold_cache": p["cold_cache"], "cold_cache_per_byte": p["cold_cache_per_byte"],
            "marshal": p["marshal"], "marshal_per_number": p["marshal_per_number"],
            "marshal_per_numpy_number": p["marshal_per_numpy_number"],
            "source": f"{how}: MLPs 8-h-h-8 fp32 at batch 1 (eager, no_grad), {p['calls']} single calls each after "
                      f"an untimed sweep of {p['sweep_bytes'] / 2 ** 20:,.2f} MB (half the core's private cache: what the "
                      "program's own work between two calls is assumed to touch) and "
                      f"again warm; cold extra by the weights' size ({pts}): cold_cache + W cold_cache_per_byte, "
                      "a least-squares line; marshal = a tuple of 8 Python floats into the input and 8 back, median in "
                      "a tight loop; marshal_per_number = (256 rows - 1 row) / (255 x 16 numbers), per numpy scalar "
                      "likewise (phasm_perf.core.marshal, the code bench's swapped-in function runs)"}


def _quality(r: dict) -> dict:
    flags = [{"figure": f, "reason": why} for s in r["steps"].values() for f, why in s.flags]
    flags += [dict(zip(("figure", "reason"), as_flag(p))) for p in check_speed(r.get("probe"))]
    spread = {f"linear.{dt}": {k: round(v, 3) for k, v in table_spread(t["passes"]).items()}
              | {"again": t["again"]} for dt, t in r["linear"].items()}
    spread |= {f"runtime.{rt}": c["spread"] for rt, c in r["runtimes"].items()}
    spread["in_program.cold_cache"] = [round(x["cold_cache"] * 1e6, 2) for x in r["in_program"]["rounds"]]
    load = {name: dict(s.load.as_dict(), attempts=s.attempts) for name, s in r["steps"].items()}
    return {"flags": flags, "load": load, "spread": spread}


def assemble(r: dict, quick: bool, torch_version: str, cuda_status: str) -> HardwareProfile:
    how = f"measured by phasm-perf hw measure{' --quick' if quick else ''} on {r['stamp']}"
    info, n = r["info"], r["threads"]
    eager = r["runtimes"].get("eager") or next(iter(r["runtimes"].values()))
    compute, compute_src = achievable_compute(r)
    ghz = (info["mhz"] or 0) / 1e3
    data = {
        "name": "local", "kind": "cpu",
        "description": f"this machine: {info['model']}, {n} thread(s) of PyTorch {torch_version}"
                       + (f", {ghz:.2f} GHz" if ghz else ""),
        "cores": n, "clock_hz": info["mhz"] * 1e6 if info["mhz"] else None,
        "peak_flops": _peaks(r, how), "memory": _memory(r, how), "link": None,
        "launch_latency": fig(max(eager["per_kernel"], 1e-9), f"{how}: the eager runtime's cost per kernel (runtimes)"),
        "dispatch": fig(max(eager["forward"], 1e-9), f"{how}: the eager runtime's cost per forward (runtimes)"),
        "achievable": {"compute": compute, "memory": 1.0,
                       "source": f"{how}: compute = {compute_src} (the roofline of the dtypes without a table); "
                                 "memory = 1, the triad roofs are achieved rates"},
        "in_program": _in_program(r, how), "runtimes": _runtimes(r, how), "tables": _tables(r, how),
        "quality": _quality(r),
        "speed_probe": dict(r["probe"], forward=REFERENCE) if r.get("probe") else None,
        "measured": {"when": r["stamp"], "seconds": round(r["seconds"], 2), "quick": quick, "torch": torch_version,
                     "threads": n, "cpu": info["model"], "gemm_numpy_flops": r["numpy_peaks"],
                     "theoretical_peak_flops": r["theoretical"], "triad_call_overhead_seconds": r["overhead"],
                     "triad_sweep": [[ws, bw] for ws, bw in r["sweep"]],
                     "runtime_points": {rt: c["points"] for rt, c in r["runtimes"].items()},
                     "in_program_call": {k: v for k, v in r["in_program"].items() if k != "rounds"},
                     "cuda": cuda_status},
        "notes": [f"GEMM vs theoretical peak ({n} cores x clock x FLOPs/cycle): "
                  + ", ".join(f"{d} {r['peaks'][d] / t:.0%}" for d, t in r["theoretical"].items() if d in r["peaks"])]
        if r["theoretical"] else [],
    }
    return HardwareProfile.model_validate(data)
