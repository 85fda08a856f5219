// phasm-perf native surrogate runtime: a dense MLP forward in plain C++, run inside the user's program.
//
// Built on demand by phasm_perf/native/build.py (g++ -O3 -march=native -shared -fPIC) into a cache folder keyed by
// this file's hash; loaded into the program by the swap agent and into phasm-perf by ctypes (timing).
// Weights file (little endian): "PHMLP1\0\0", int32 activation (0 relu, 1 tanh, 2 silu, 3 gelu), int32 layers,
// then per layer int32 in, int32 out, float32 W[out][in] (as torch stores it), float32 b[out]. The normalisation is folded in already.
#include <algorithm>
#include <chrono>
#ifndef PHASM_RELU_ONLY
#include <cmath>
#endif
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

struct Layer {
    int in = 0, out = 0;
    std::vector<float> w, b;
};

std::vector<Layer> g_layers;
int g_activation = 0;
std::vector<float> g_a, g_b;  // ping-pong activations, one row

// PHASM_RELU_ONLY: no libm at all, so the runtime loads into any program (a C program that never loaded libm
// cannot load it from inside an intercepted call under Frida: the loader deadlocks)
inline float act(float x) {
#ifdef PHASM_RELU_ONLY
    return x > 0 ? x : 0;
#else
    switch (g_activation) {
        case 1: return std::tanh(x);
        case 2: return x / (1.0f + std::exp(-x));
        case 3: return 0.5f * x * (1.0f + std::erf(x * 0.70710678f));
        default: return x > 0 ? x : 0;
    }
#endif
}

void row_forward(const float* x, float* y) {
    const float* in = x;
    const std::size_t n = g_layers.size();
    for (std::size_t l = 0; l < n; ++l) {
        const Layer& L = g_layers[l];
        float* out = (l + 1 == n) ? y : ((l % 2) ? g_b.data() : g_a.data());
        // out = b + W x, with W stored transposed ([in][out]): the inner loop runs over contiguous outputs and
        // vectorises without reassociating a sum
        std::memcpy(out, L.b.data(), sizeof(float) * L.out);
        for (int i = 0; i < L.in; ++i) {
            const float xi = in[i];
            const float* w = L.w.data() + static_cast<std::size_t>(i) * L.out;
            for (int j = 0; j < L.out; ++j) out[j] += w[j] * xi;
        }
        if (l + 1 != n)
            for (int j = 0; j < L.out; ++j) out[j] = act(out[j]);
        in = out;
    }
}

}  // namespace

extern "C" {

// 0 on success, -1 unreadable, -2 malformed
int phasm_mlp_load(const char* path) {
    std::FILE* f = std::fopen(path, "rb");
    if (!f) return -1;
    char magic[8];
    int hdr[2];
    bool ok = std::fread(magic, 1, 8, f) == 8 && std::memcmp(magic, "PHMLP1", 6) == 0 &&
              std::fread(hdr, sizeof(int), 2, f) == 2 && hdr[1] > 0 && hdr[1] < 64;
    std::vector<Layer> layers;
    std::size_t widest = 0;
    for (int l = 0; ok && l < hdr[1]; ++l) {
        Layer L;
        int io[2];
        ok = std::fread(io, sizeof(int), 2, f) == 2 && io[0] > 0 && io[1] > 0 && io[0] < (1 << 20) && io[1] < (1 << 20);
        if (!ok) break;
        L.in = io[0], L.out = io[1];
        L.w.resize(static_cast<std::size_t>(L.in) * L.out);
        L.b.resize(L.out);
        std::vector<float> w(L.w.size());
        ok = std::fread(w.data(), sizeof(float), w.size(), f) == w.size() &&
             std::fread(L.b.data(), sizeof(float), L.b.size(), f) == L.b.size();
        for (int j = 0; ok && j < L.out; ++j)  // W[out][in] in the file, transposed here
            for (int i = 0; i < L.in; ++i) L.w[static_cast<std::size_t>(i) * L.out + j] = w[static_cast<std::size_t>(j) * L.in + i];
        if (L.out > static_cast<int>(widest)) widest = L.out;
        layers.push_back(std::move(L));
    }
    std::fclose(f);
    if (!ok) return -2;
#ifdef PHASM_RELU_ONLY
    if (hdr[0] != 0) return -3;
#endif
    g_layers = std::move(layers);
    g_activation = hdr[0];
    g_a.assign(widest, 0.0f);
    g_b.assign(widest, 0.0f);
    return 0;
}

int phasm_mlp_inputs() { return g_layers.empty() ? 0 : g_layers.front().in; }
int phasm_mlp_outputs() { return g_layers.empty() ? 0 : g_layers.back().out; }

void phasm_mlp_run(const float* x, float* y, int batch) {
    const int n_in = g_layers.front().in, n_out = g_layers.back().out;
    for (int r = 0; r < batch; ++r) row_forward(x + static_cast<std::size_t>(r) * n_in, y + static_cast<std::size_t>(r) * n_out);
}

// seconds of one forward of `batch` rows: the fastest of `repeats` groups (each long enough to time), the one other
// processes on a shared machine disturbed least
double phasm_mlp_time(int batch, int repeats) {
    const int n_in = g_layers.front().in, n_out = g_layers.back().out;
    std::vector<float> x(static_cast<std::size_t>(batch) * n_in), y(static_cast<std::size_t>(batch) * n_out);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.01f * static_cast<float>(i % 97);
    using clk = std::chrono::steady_clock;
    int inner = 1;
    for (;;) {  // a group of at least 200 microseconds
        auto t0 = clk::now();
        for (int k = 0; k < inner; ++k) phasm_mlp_run(x.data(), y.data(), batch);
        if (std::chrono::duration<double>(clk::now() - t0).count() > 2e-4 || inner > (1 << 20)) break;
        inner *= 2;
    }
    std::vector<double> t(repeats);
    for (int r = 0; r < repeats; ++r) {
        auto t0 = clk::now();
        for (int k = 0; k < inner; ++k) phasm_mlp_run(x.data(), y.data(), batch);
        t[r] = std::chrono::duration<double>(clk::now() - t0).count() / inner;
    }
    return *std::min_element(t.begin(), t.end());
}

}  // extern "C"
