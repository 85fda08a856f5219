// The event loop of the toy simulation: generate, transport, shower, read out (see shower.cpp).
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <vector>

#include "event_loop.hpp"
#include "shower.hpp"

namespace sim {

std::uint64_t g_kernel_calls = 0;

namespace {

std::vector<Particle> generate_event(std::mt19937_64& rng, int n) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::exponential_distribution<double> e(0.2);
    std::vector<Particle> out(n);
    for (auto& p : out) {
        p.pos = {0, 0, 0};
        p.dir = {u(rng), u(rng), u(rng)};
        p.dir = p.dir * (1.0 / (p.dir.norm() + 1e-9));
        p.energy = 1.0 + e(rng);
    }
    return out;
}

// The read-out: wait for the "DAQ", then write the event's energies and make sure they reach the disk.
void read_out(int fd, const std::vector<double>& energies, long wait_ms) {
    timespec ts{wait_ms / 1000, (wait_ms % 1000) * 1000000L};
    nanosleep(&ts, nullptr);
    if (write(fd, energies.data(), energies.size() * sizeof(double)) < 0) std::perror("write");
    fsync(fd);
}

}  // namespace

// Steps one particle through the field (midpoint rule: two field look-ups per step).
double transport(const phys::FieldMap& field, Particle& p, int steps) {
    double bsum = 0;
    for (int s = 0; s < steps; ++s) {
        const auto b1 = field(p.pos);
        const auto mid = p.pos + p.dir * 0.005;
        const auto b2 = field(mid);
        bsum += 0.5 * (b1.z + b2.z) + 1e-3 * (b1.x * b2.y - b1.y * b2.x);
        p.pos = p.pos + p.dir * 0.01;
    }
    return bsum;
}

double run_events(int events, int particles, long wait_ms, int fd) {
    std::mt19937_64 rng(12345);
    const phys::FieldMap field(64, 2.0);
    const phys::shower::GammaProfile<double> profile(0.0085, 0.5);
    std::vector<double> layers(phys::shower::GammaProfile<double>::kLayers);
    double total = 0;
    for (int ev = 0; ev < events; ++ev) {
        auto parts = generate_event(rng, particles);
        std::vector<double> energies;
        energies.reserve(parts.size());
        for (auto& p : parts) {
            total += 1e-6 * transport(field, p, kSteps);
            for (int segment = 0; segment < 4; ++segment) {  // four calorimeter segments, one shower each
                profile.deposit(p.energy, p.dir.z < 0 ? -p.dir.z : p.dir.z, layers.data());
                ++g_kernel_calls;
            }
            double e = 0;
            for (double v : layers) e += v;
            energies.push_back(e);
            total += e;
        }
        read_out(fd, energies, wait_ms);
    }
    return total;
}

}  // namespace sim
