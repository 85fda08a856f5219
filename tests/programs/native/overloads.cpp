// Two overloads of one name, each a kernel of its own, called from one loop: they must stay two candidates.
#include <cmath>
#include <cstdio>
__attribute__((noinline)) double kern(double x) { double s = 0; for (int k = 0; k < 2000; ++k) s += std::sin(x + k); return s; }
__attribute__((noinline)) double kern(int n) { double s = 0; for (int k = 0; k < 6000; ++k) s += std::sqrt(double(n + k)); return s; }
__attribute__((noinline)) double run(int steps) { double t = 0; for (int i = 0; i < steps; ++i) t += kern(1.5 * i) + kern(i); return t; }
int main() { std::printf("%f\n", run(20000)); return 0; }
