"""Functions whose argument and result sizes are known: ``kernel`` takes 8 numbers (2 floats, a list of 5, an int)
and returns 6 (a float and a list of 5); ``Model.step`` takes 4 (``self`` is not counted) and returns 3."""


def kernel(a, b, v, n=3):
    return a + b * n, [x * 2 for x in v]


class Model:
    def step(self, state):
        return {"e": sum(state), "p": (state[0], state[1])}


def main():
    m = Model()
    total = 0.0
    for i in range(10):
        s, v = kernel(float(i), 2.0, [1.0, 2.0, 3.0, 4.0, 5.0])
        total += s + sum(v) + m.step((1.0, 2.0, 3.0, float(i)))["e"]
    print(total)


main()
