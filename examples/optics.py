#!/usr/bin/env python3
"""Rays through a lens: a toy optical-design code in the style of a legacy Fortran port.

The event loop (``run``) draws a fan of rays for each exposure and refracts every ray at the lens's front surface
(``Surface.refract``), which writes the refracted ray into the row of ``hits`` it is given and returns nothing.
``refract`` reads far more than its signature says: the surface's attributes (``self.curvature``, its glass's
dispersion table through ``index_at``, the lens temperature, which drifts as the lens heats up), module-level
tables (``WAVELENGTHS``, ``CONFIG``), and it counts the rays it traced in a global.

    python examples/optics.py --exposures 30 --rays 64
"""

import argparse
import math
import sys

import numpy as np

# --- the glass catalogue and the configuration: module-level tables, as in the Fortran COMMON blocks -----------
WAVELENGTHS = np.array([404.7, 435.8, 486.1, 546.1, 587.6, 656.3, 706.5])  # nm, the catalogue's lines
DISPERSION = {
    "BK7": np.array([1.53024, 1.52668, 1.52238, 1.51872, 1.51680, 1.51432, 1.51289]),
    "F2": np.array([1.65063, 1.64202, 1.63208, 1.62408, 1.62004, 1.61503, 1.61227]),
}
CONFIG = {"aperture": 12.5, "vignetting": 0.35}  # mm, fraction lost at the rim
RAYS_TRACED = 0  # statistics, printed at the end


class Glass:
    def __init__(self, name, dn_dt):
        self.name = name
        self.index = DISPERSION[name]
        self.dn_dt = dn_dt  # per kelvin


class Surface:
    def __init__(self, curvature, glass):
        self.curvature = curvature  # 1/mm
        self.glass = glass
        self.n_before = 1.000293  # air
        self.temperature = 20.0  # celsius

    def refract(self, ray, out):
        """Refract ``ray`` (x, y, u, v, wavelength) at this surface; write (x, y, u', v', transmission) to ``out``."""
        global RAYS_TRACED
        RAYS_TRACED += 1
        x, y, u, v, wl = ray[0], ray[1], ray[2], ray[3], ray[4]
        n2 = index_at(self.glass, wl) + self.glass.dn_dt * (self.temperature - 20.0)
        eta = self.n_before / n2
        c = self.curvature
        h2 = x * x + y * y
        # the sphere's normal at height h, pointing along the axis
        nx, ny, nz = -c * x, -c * y, math.sqrt(max(1.0 - c * c * h2, 1e-12))
        norm = math.sqrt(nx * nx + ny * ny + nz * nz)
        nx, ny, nz = nx / norm, ny / norm, nz / norm
        w = math.sqrt(max(1.0 - u * u - v * v, 1e-12))
        cos_i = u * nx + v * ny + w * nz
        cos_t = math.sqrt(max(1.0 - eta * eta * (1.0 - cos_i * cos_i), 0.0))
        k = cos_t - eta * cos_i
        out[0] = x
        out[1] = y
        out[2] = eta * u + k * nx
        out[3] = eta * v + k * ny
        out[4] = 1.0 - CONFIG["vignetting"] * h2 / CONFIG["aperture"] ** 2


def index_at(glass, wavelength):
    """Refractive index at a wavelength, interpolated in the catalogue's table."""
    return float(np.interp(wavelength, WAVELENGTHS, glass.index))


def fan(rng, nrays):
    """A fan of rays over the aperture: (x, y, u, v, wavelength) per row."""
    r = CONFIG["aperture"] * np.sqrt(rng.uniform(0.0, 1.0, nrays))
    phi = rng.uniform(0.0, 2 * math.pi, nrays)
    rays = np.empty((nrays, 5))
    rays[:, 0], rays[:, 1] = r * np.cos(phi), r * np.sin(phi)
    rays[:, 2:4] = rng.normal(0.0, 0.02, (nrays, 2))
    rays[:, 4] = rng.uniform(420.0, 680.0, nrays)
    return rays


def run(exposures, nrays, seed):
    rng = np.random.default_rng(seed)
    lens = Surface(0.02, Glass("BK7", 2.3e-6))
    spot = np.zeros(2)
    transmission = 0.0
    for _ in range(exposures):
        rays = fan(rng, nrays)
        hits = np.empty((nrays, 5))
        for i in range(nrays):
            lens.refract(rays[i], hits[i])
        spot += hits[:, 2:4].mean(axis=0)
        transmission += hits[:, 4].sum()
        lens.temperature += 0.5  # the lamp heats the lens
    return spot, transmission


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exposures", type=int, default=30)
    ap.add_argument("--rays", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    spot, transmission = run(args.exposures, args.rays, args.seed)
    print(f"transmission {transmission:.9e} spot {spot[0]:.9e} {spot[1]:.9e} rays {RAYS_TRACED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
