// shower: a toy calorimeter simulation in the style of legacy detector code.
//
//   ./shower [EVENTS] [PARTICLES_PER_EVENT] [READOUT_MS]
//
// The event loop (sim::run_events, event_loop.cpp) generates the particles of an event, transports each through
// the field map (sim::transport calling phys::FieldMap::operator(), field.cpp), lets each one shower in four
// calorimeter segments (phys::shower::GammaProfile<double>::deposit, profile.cpp: the numeric kernel), and hands
// the event to the read-out, which waits for the "DAQ" (nanosleep) and writes the energies to disk (write + fsync).
// At the end it prints how many times the kernel ran, so a profiler's exact call count can be checked against it.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "event_loop.hpp"

int main(int argc, char** argv) {
    const int events = argc > 1 ? std::atoi(argv[1]) : 200;
    const int particles = argc > 2 ? std::atoi(argv[2]) : 200;
    const long wait_ms = argc > 3 ? std::atol(argv[3]) : 2;
    if (events <= 0 || particles <= 0 || wait_ms < 0) {
        std::fprintf(stderr, "usage: shower [EVENTS>0] [PARTICLES>0] [READOUT_MS>=0]\n");
        return 2;
    }
    char path[] = "/tmp/shower-readout-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) {
        std::perror("mkstemp");
        return 1;
    }
    unlink(path);
    const double total = sim::run_events(events, particles, wait_ms, fd);
    close(fd);
    std::printf("events: %d\nkernel calls: %llu\ntotal energy: %.6f\n", events,
                static_cast<unsigned long long>(sim::g_kernel_calls), total);
    return 0;
}
