// The field map: tabulated once, interpolated for every step of every particle.
#include "shower.hpp"

namespace phys {

FieldMap::FieldMap(int n, double half_size)
    : n_(n), half_(half_size), step_(2 * half_size / (n - 1)), bz_(new double[static_cast<std::size_t>(n) * n * n]) {
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
            for (int k = 0; k < n; ++k) {
                const double x = -half_ + i * step_, y = -half_ + j * step_, z = -half_ + k * step_;
                const double r = std::sqrt(x * x + y * y);
                bz_[(static_cast<std::size_t>(i) * n + j) * n + k] = 2.0 / (1.0 + std::exp((r - 1.2) * 8.0)) * (1 - 0.05 * z * z);
            }
}

Vec3<double> FieldMap::operator()(const Vec3<double>& p) const {
    auto cell = [this](double v, int& idx) {
        double u = (v + half_) / step_;
        if (u < 0) u = 0;
        if (u > n_ - 1.000001) u = n_ - 1.000001;
        idx = static_cast<int>(u);
        return u - idx;
    };
    int i, j, k;
    const double fx = cell(p.x, i), fy = cell(p.y, j), fz = cell(p.z, k);
    auto at = [this](int a, int b, int c) { return bz_[(static_cast<std::size_t>(a) * n_ + b) * n_ + c]; };
    double c00 = at(i, j, k) * (1 - fx) + at(i + 1, j, k) * fx;
    double c10 = at(i, j + 1, k) * (1 - fx) + at(i + 1, j + 1, k) * fx;
    double c01 = at(i, j, k + 1) * (1 - fx) + at(i + 1, j, k + 1) * fx;
    double c11 = at(i, j + 1, k + 1) * (1 - fx) + at(i + 1, j + 1, k + 1) * fx;
    const double bz = (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
    // the radial component from the field's divergence, as the legacy code derived it
    const double dbz = ((c01 - c00) * (1 - fy) + (c11 - c10) * fy) / step_;
    const double r = std::sqrt(p.x * p.x + p.y * p.y) + 1e-12;
    const double br = -0.5 * r * dbz;
    return {br * p.x / r, br * p.y / r, bz};
}

}  // namespace phys
