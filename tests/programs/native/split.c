// A native program with a known compute/sleep split: ROUNDS rounds of COMPUTE_S/ROUNDS seconds of arithmetic
// (busy) and SLEEP_S/ROUNDS seconds of nanosleep (idle). It prints what it measured itself:
// "compute <CPU seconds in busy> sleep <wall seconds in idle>".
//   split COMPUTE_S SLEEP_S ROUNDS
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

__attribute__((noinline)) double busy(double seconds) {
    const double end = now(CLOCK_THREAD_CPUTIME_ID) + seconds;
    double x = 0;
    while (now(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 1000; ++i) x += 1e-9 * i;
    return x;
}

__attribute__((noinline)) void idle(double seconds) {
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: split COMPUTE_S SLEEP_S ROUNDS\n");
        return 2;
    }
    const double compute = atof(argv[1]), sleep = atof(argv[2]);
    const int rounds = atoi(argv[3]);
    double c = 0, s = 0, x = 0;
    for (int r = 0; r < rounds; ++r) {
        double t0 = now(CLOCK_THREAD_CPUTIME_ID);
        x += busy(compute / rounds);
        c += now(CLOCK_THREAD_CPUTIME_ID) - t0;
        t0 = now(CLOCK_MONOTONIC);
        idle(sleep / rounds);
        s += now(CLOCK_MONOTONIC) - t0;
    }
    printf("compute %.6f sleep %.6f\n", c, s);
    return x < 0;
}
