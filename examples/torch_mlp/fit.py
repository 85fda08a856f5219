#!/usr/bin/env python3
"""A small PyTorch program: fit an MLP to a detector response, with a data-loading wait per batch.

    python examples/torch_mlp/fit.py --steps 60

The heavy operators are the matrix multiplications of the three linear layers (``aten::addmm`` forward,
``aten::mm`` backward); ``load_batch`` waits a little for each batch, as reading from disk would.
"""

import argparse
import time

import torch


def load_batch(batch: int, features: int, wait: float) -> tuple[torch.Tensor, torch.Tensor]:
    time.sleep(wait)  # the "disk"
    x = torch.randn(batch, features)
    y = torch.sin(x[:, :8]).sum(dim=1, keepdim=True)
    return x, y


def train(steps: int, batch: int, features: int, wait: float) -> float:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(features, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 1))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss = torch.tensor(0.0)
    for _ in range(steps):
        x, y = load_batch(batch, features, wait)
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--features", type=int, default=128)
    p.add_argument("--wait", type=float, default=0.005)
    a = p.parse_args()
    torch.set_num_threads(1)
    print(f"final loss: {train(a.steps, a.batch, a.features, a.wait):.5f}")


if __name__ == "__main__":
    main()
