// Computes for a while, then crashes (SIGSEGV): its profile must be kept, with status failed.
//   crash SECONDS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) double work(double seconds) {
    const clock_t end = clock() + (clock_t)(seconds * CLOCKS_PER_SEC);
    double x = 0;
    while (clock() < end)
        for (int i = 0; i < 1000; ++i) x += 1e-9 * i;
    return x;
}

int main(int argc, char** argv) {
    const double x = work(argc > 1 ? atof(argv[1]) : 0.5);
    fprintf(stderr, "about to crash after computing %g\n", x);
    fflush(stderr);
    raise(SIGSEGV);
    return 0;
}
