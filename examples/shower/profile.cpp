// The shower parametrisation: the candidate for a neural-network surrogate.
#include "shower.hpp"

namespace phys::shower {

namespace {
// Regularised lower incomplete gamma function P(a, x) by its series: the expensive part.
template <typename Real>
inline Real gamma_p(Real a, Real x) {
    if (x <= 0) return 0;
    Real sum = 1 / a, term = sum;
    for (int n = 1; n < 200; ++n) {
        term *= x / (a + n);
        sum += term;
        if (term < sum * Real(1e-12)) break;
    }
    return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}
}  // namespace

template <typename Real>
void GammaProfile<Real>::deposit(Real e, Real cos_theta, Real* layers) const {
    const Real y = e / ec_;
    const Real b = Real(0.5);
    const Real tmax = std::log(y) - Real(0.5);             // shower maximum, radiation lengths
    const Real a = b * (tmax > Real(0.1) ? tmax : Real(0.1)) + 1;
    const Real step = dt_ / (cos_theta > Real(0.2) ? cos_theta : Real(0.2));
    Real prev = 0;
    for (std::size_t i = 0; i < kLayers; ++i) {
        const Real depth = step * Real(i + 1);
        const Real cum = gamma_p(a, b * depth);
        // lateral containment in the cell: a core and a halo whose Moliere radii grow with depth
        const Real r_core = Real(0.15) * (1 + Real(0.08) * depth), r_halo = Real(0.9) * (1 + Real(0.05) * depth);
        Real contained = 0;
        for (int ring = 1; ring <= 4; ++ring) {
            const Real r = Real(0.25) * ring;
            contained += Real(0.25) * (Real(0.85) * (1 - std::exp(-r * r / (r_core * r_core))) +
                                       Real(0.15) * (1 - std::exp(-r / r_halo)));
        }
        layers[i] = e * (cum - prev) * contained;
        prev = cum;
    }
}

template class GammaProfile<double>;

}  // namespace phys::shower
