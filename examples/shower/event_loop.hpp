#pragma once

#include <cstdint>

#include "shower.hpp"

namespace sim {

constexpr int kSteps = 100;             // transport steps per particle
extern std::uint64_t g_kernel_calls;    // how many times the shower kernel ran

struct Particle {
    phys::Vec3<double> pos, dir;
    double energy;
};

double transport(const phys::FieldMap& field, Particle& p, int steps);
double run_events(int events, int particles, long wait_ms, int fd);

}  // namespace sim
