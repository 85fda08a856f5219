"""A legacy-style kernel without numpy, for ``phasm-perf vars`` on every Python: ``step`` reads its arguments,
items of a list argument, attributes through an object it is given (and through a callee), items of a module
table and of a module list, writes into a list argument in place, sets an attribute, counts its calls in a
global and returns a number; ``make_scaler``'s ``scale`` reads a closure variable. Nothing depends on the
previous call, eight calls per round.

    python tests/programs/legacy.py [ROUNDS]
"""
import sys

TABLE = {"gain": 2.0, "offset": 0.5}
LUT = [0.0, 0.1, 0.4, 0.9, 1.6]
CALLS = 0


class Config:
    def __init__(self):
        self.scale = 3.0


class Stage:
    def __init__(self, k):
        self.k = k
        self.cfg = Config()
        self.last = 0.0


def weight(stage):
    return stage.cfg.scale * stage.k


def step(stage, xs, out, t):
    global CALLS
    CALLS += 1
    s = weight(stage) + TABLE["gain"] * xs[0] + LUT[2] * t
    out[0] = s
    out[1] = s * xs[1]
    stage.last = s
    return s - TABLE["offset"]


def make_scaler(bias):
    def scale(v):
        return v * 2.0 + bias
    return scale


def main(rounds):
    stage = Stage(1.5)
    scale = make_scaler(0.25)
    total = 0.0
    for r in range(rounds):
        outs = [[0.0, 0.0] for _ in range(8)]
        for i in range(8):
            total += step(stage, [0.1 * i, 1.0 + r], outs[i], r * 0.5)
        total += sum(scale(o[0]) for o in outs)
        stage.k += 0.25
    print(f"total {total:.6f} calls {CALLS}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
