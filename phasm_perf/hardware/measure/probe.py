"""The reference forward of the speed probe: the one call ``hw measure`` and ``bench`` both time, so that a bench
run can say how fast the machine ran compared with when its profile was measured (:class:`~.timing.SpeedProbe`).

It is the examples' surrogate shape (6 -> 64 -> 64 -> 3, fp32, ReLU) at batch 1: about 20-40 µs a call on the
development VMs, short enough to run between the groups of any measurement, and dominated by what dominates small
surrogates (the runtime's dispatch and small kernels), which is what a core's speed changes most.
"""

from __future__ import annotations

from typing import Callable

from .timing import SpeedProbe

REFERENCE = ("a 6-64-64-3 fp32 MLP (nn.Sequential, ReLU, fixed weights) at batch 1 under inference_mode, groups of "
             "8 calls on the thread's CPU clock")


def reference_forward() -> Callable[[], object]:
    """The reference call, built the same way in every process (seeded weights; fixed input)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    widths = (6, 64, 64, 3)
    layers: list = []
    for k, (i, o) in enumerate(zip(widths, widths[1:])):
        lin = torch.nn.Linear(i, o)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(o, i, generator=gen) / i ** 0.5)
            lin.bias.copy_(torch.randn(o, generator=gen) * 0.1)
        layers += [lin] + ([torch.nn.ReLU()] if k < len(widths) - 2 else [])
    module = torch.nn.Sequential(*layers).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    x = torch.randn(1, widths[0], generator=gen)

    def call():
        with torch.inference_mode():
            return module(x)

    for _ in range(50):  # warm: the first calls allocate and specialise
        call()
    return call


def speed_probe(every: float = 0.02) -> SpeedProbe:
    return SpeedProbe(reference_forward(), every=every)
