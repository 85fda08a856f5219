// A toy calorimeter simulation in the style of legacy detector code (see README.md beside this file).
#pragma once

#include <cstddef>
#include <cmath>

namespace phys {

template <typename Real>
struct Vec3 {
    Real x{}, y{}, z{};
    Vec3 operator+(const Vec3& o) const { return {x + o.x, y + o.y, z + o.z}; }
    Vec3 operator*(Real s) const { return {x * s, y * s, z * s}; }
    Real norm() const { return std::sqrt(x * x + y * y + z * z); }
};

namespace shower {

// Longitudinal profile of an electromagnetic shower (Longo-Sestili gamma parametrisation):
// dE/dt = E b (b t)^(a-1) exp(-b t) / Gamma(a), integrated over the calorimeter's layers.
template <typename Real>
class GammaProfile {
public:
    static constexpr std::size_t kLayers = 48;
    GammaProfile(Real critical_energy, Real radiation_lengths_per_layer)
        : ec_(critical_energy), dt_(radiation_lengths_per_layer) {}

    // The numeric kernel: energy deposited in each layer by a shower of energy e (GeV). Pure: a few numbers in,
    // kLayers numbers out. Defined in profile.cpp (its own translation unit, as in the legacy code).
    void deposit(Real e, Real cos_theta, Real* layers) const;

private:
    Real ec_;
    Real dt_;
};

extern template class GammaProfile<double>;

}  // namespace shower

// A tabulated solenoid field with trilinear interpolation (field.cpp).
class FieldMap {
public:
    FieldMap(int n, double half_size);
    Vec3<double> operator()(const Vec3<double>& p) const;  // B at p, interpolated

private:
    int n_;
    double half_, step_;
    double* bz_;  // n^3 values, never freed: lives as long as the program
};

}  // namespace phys
