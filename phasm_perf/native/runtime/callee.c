/* phasm-perf hw measure: a program whose calls to narrow() or wide() are intercepted to measure the in-program
 * cost of a native surrogate call (entry through the interception, marshalling, the runtime's forward).
 *   callee MODE CALLS     MODE: narrow (1 number in, 1 out) or wide (32 in, 32 out)
 * Prints the loop's own time, so that start-up and instrumentation set-up are not in it. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((noinline)) void narrow(const double* x, double* y) { y[0] = x[0] * 1.0000001; }

__attribute__((noinline)) void wide(const double* x, double* y) {
    for (int i = 0; i < 32; ++i) y[i] = x[i] * 1.0000001;
}

int main(int argc, char** argv) {
    const int is_wide = argc > 1 && strcmp(argv[1], "wide") == 0;
    const long calls = argc > 2 ? atol(argv[2]) : 100000;
    double x[32], y[32], sum = 0;
    for (int i = 0; i < 32; ++i) x[i] = 0.01 * i;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < calls; ++k) {
        if (is_wide) wide(x, y); else narrow(x, y);
        x[k & 31] = 0.01 * (double)(k & 1023);
        sum += y[0];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("loop seconds: %.9f\nsum: %.6f\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), sum);
    return 0;
}
