// Test program for `phasm-perf vars` on compiled code: the cases the discovery must name or refuse.
//   vars_cases MODE     MODE: scale (calls scale and opaque), never, crash
#include <cstdio>
#include <cstring>

namespace cases {

double g_gain = 2.0;

// an array through a pointer whose length the types do not give, written in place
__attribute__((noinline)) void scale(double* v, int n) {
    for (int i = 0; i < n; ++i) v[i] *= g_gain;
}

// an opaque handle: the types say nothing of what it points to
__attribute__((noinline)) double opaque(void* handle) {
    return *static_cast<double*>(handle) + 1.0;
}

// inlined at every call site: there is no out-of-line copy to intercept
static inline double square(double x) { return x * x; }

__attribute__((noinline)) void never_called(double* out) { out[0] = 1; }

__attribute__((noinline)) void boom(int* p, int i) { p[i] = 42; }

}  // namespace cases

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "scale";
    double v[6] = {1, 2, 3, 4, 5, 6};
    double sum = 0;
    if (std::strcmp(mode, "scale") == 0) {
        for (int k = 0; k < 5; ++k) {
            cases::scale(v, 4 + (k % 2) * 2);  // 4 or 6 elements: no one length
            sum += cases::opaque(&v[0]) + cases::square(v[1] + argc);
        }
    } else if (std::strcmp(mode, "crash") == 0) {
        cases::scale(v, 3);
        cases::boom(nullptr, argc);
    } else if (std::strcmp(mode, "never") == 0) {
        sum = cases::square(argc + 0.5);
    } else {
        cases::never_called(v);
    }
    std::printf("sum: %.3f\n", sum);
    return 0;
}
