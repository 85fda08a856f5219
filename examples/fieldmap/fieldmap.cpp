// fieldmap: tracks charged particles through the field of a solenoid, looking the field up at every step.
//
//   ./fieldmap [TRACKS] [STEPS]
//
// The event loop (track) steps each particle with a simple Lorentz-force update, calling FieldMap::lookup
// (field.cpp: the expensive Biot-Savart sum) once per step. At the end it prints the mean final radius and
// momentum angle of the tracks and how many look-ups ran, so a swapped-in surrogate's effect on the results shows.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "fieldmap.hpp"

namespace {

struct Track {
    double pos[3];
    double mom[3];  // GeV/c
    double charge;
};

void track(const fmap::FieldMap& field, Track& t, int steps, double dt) {
    for (int i = 0; i < steps; ++i) {
        double bx, by, bz;
        field.lookup(t.pos, bx, by, bz);
        const double k = 0.3 * t.charge * dt;  // p x B, GeV/c per tesla metre
        const double px = t.mom[0] + k * (t.mom[1] * bz - t.mom[2] * by);
        const double py = t.mom[1] + k * (t.mom[2] * bx - t.mom[0] * bz);
        const double pz = t.mom[2] + k * (t.mom[0] * by - t.mom[1] * bx);
        t.mom[0] = px, t.mom[1] = py, t.mom[2] = pz;
        const double p = std::sqrt(px * px + py * py + pz * pz);
        for (int a = 0; a < 3; ++a) t.pos[a] += dt * t.mom[a] / p;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int tracks = argc > 1 ? std::atoi(argv[1]) : 400;
    const int steps = argc > 2 ? std::atoi(argv[2]) : 100;
    if (tracks <= 0 || steps <= 0) {
        std::fprintf(stderr, "usage: fieldmap [TRACKS>0] [STEPS>0]\n");
        return 2;
    }
    const fmap::FieldMap field(1.5);
    double radius = 0, angle = 0;
    unsigned seed = 12345;
    for (int n = 0; n < tracks; ++n) {
        auto uniform = [&seed]() { seed = seed * 1103515245u + 12345u; return (seed >> 8) / 16777216.0; };
        Track t{{0.2 * (uniform() - 0.5), 0.2 * (uniform() - 0.5), -0.5},
                {0.3 * (uniform() - 0.5), 0.3 * (uniform() - 0.5), 0.5 + uniform()}, uniform() < 0.5 ? -1.0 : 1.0};
        track(field, t, steps, 0.01);
        radius += std::sqrt(t.pos[0] * t.pos[0] + t.pos[1] * t.pos[1]);
        angle += std::atan2(t.mom[1], t.mom[0]);
    }
    std::printf("tracks: %d\nlookups: %ld\nmean radius: %.6f\nmean angle: %.6f\n", tracks, fmap::g_lookups,
                radius / tracks, angle / tracks);
    return 0;
}
