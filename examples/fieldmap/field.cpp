// The field look-up: the candidate for a neural-network surrogate (its own translation unit, as in the legacy code).
#include <cmath>

#include "fieldmap.hpp"

namespace fmap {

FieldConfig g_config = {0.6, 0.25, 6, 48, 1e-7 * 2.0e4};
long g_lookups = 0;

void FieldMap::lookup(const double* xyz, double& bx, double& by, double& bz) const {
    const FieldConfig& c = g_config;
    const double two_pi = 6.283185307179586;
    double sx = 0, sy = 0, sz = 0;
    for (int k = 0; k < c.coils; ++k) {
        const double zc = (k - 0.5 * (c.coils - 1)) * c.coil_pitch;
        for (int s = 0; s < c.segments; ++s) {
            const double a0 = two_pi * s / c.segments, a1 = two_pi * (s + 1) / c.segments;
            const double x0 = c.coil_radius * std::cos(a0), y0 = c.coil_radius * std::sin(a0);
            const double x1 = c.coil_radius * std::cos(a1), y1 = c.coil_radius * std::sin(a1);
            // Biot-Savart for the segment's midpoint: dl x r / |r|^3
            const double dlx = x1 - x0, dly = y1 - y0;
            const double rx = xyz[0] - 0.5 * (x0 + x1), ry = xyz[1] - 0.5 * (y0 + y1), rz = xyz[2] - zc;
            const double r2 = rx * rx + ry * ry + rz * rz + 1e-6;
            const double inv = 1.0 / (r2 * std::sqrt(r2));
            sx += dly * rz * inv;
            sy += -dlx * rz * inv;
            sz += (dlx * ry - dly * rx) * inv;
        }
    }
    const double f = strength_ * c.mu0_i;
    bx = f * sx;
    by = f * sy;
    bz = f * sz;
    ++g_lookups;
}

}  // namespace fmap
