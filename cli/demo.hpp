// The built-in demo system behind `bedlam demo`: a bank server, clients that use it, and a
// coordinator that links to the clients and monitors the bank, restarting it when it crashes.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "bedlam/runtime/simulator.hpp"

namespace bedlam::cli {

struct DemoResult {
    std::string plan;              // With chaos: the swarm plan, as chaos::describe prints it.
    std::vector<std::string> log;  // What the coordinator saw, in order.
    RunResult run;
    std::uint64_t hash = 0;
    std::uint64_t events = 0;
};

/// Runs the demo in the simulator with `seed` and `policy`; writes the JSON-lines trace to
/// `trace_out` if it is not null. With `swarm`, a chaos plan drawn from the seed (swarm mode,
/// faults for the first 2 s of virtual time) runs against it.
DemoResult run_demo(std::uint64_t seed, Policy policy, std::ostream* trace_out,
                    bool swarm = false);

/// `seed=<N> hash=<16 hex digits>`
std::string summary_line(std::uint64_t seed, std::uint64_t hash);

}  // namespace bedlam::cli
