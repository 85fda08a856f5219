// fieldmap: the magnetic field of a set of coaxial current loops, looked up along charged-particle tracks, written
// the way legacy detector code often is: the configuration in a global struct, a global counter, the result handed
// back through references, the position through a pointer to three doubles (see README.md beside this file).
#pragma once

namespace fmap {

struct FieldConfig {
    double coil_radius;  // metres
    double coil_pitch;   // distance between loops along z
    int coils;           // loops in the solenoid
    int segments;        // straight segments per loop (Biot-Savart sum)
    double mu0_i;        // mu0 * current / (4 pi)
};

extern FieldConfig g_config;  // read by every look-up
extern long g_lookups;        // written by every look-up

class FieldMap {
public:
    explicit FieldMap(double strength) : strength_(strength), calibrated_(true) {}
    // B (tesla) at xyz[0..2] (metres), summed over every segment of every loop.
    void lookup(const double* xyz, double& bx, double& by, double& bz) const;

private:
    double strength_;   // read through `this` by lookup
    bool calibrated_;   // never read by lookup
};

}  // namespace fmap
