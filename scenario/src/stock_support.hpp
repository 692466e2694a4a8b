// What the stock behaviours' source files share (internal to bedlam::scenario): the idle loop
// of a plain worker, start functions for servers and plain processes, and the registration
// hooks through which each file adds its behaviours to the catalogue (stock.cpp).
#pragma once

#include <string>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/server.hpp"
#include "bedlam/scenario/stock.hpp"

namespace bedlam::scenario::stock {

inline Duration dur(Ticks t) { return Duration(t); }

/// Plain workers run this between their own events: an exit signal (they trap exits, as
/// gen_servers under supervisors do) from the parent ends them with its reason; one from
/// elsewhere is ignored. Returns when `wait` has passed with nothing to do.
Async<void> idle(Self self, Pid parent, Ticks wait);

/// Waits `wait`, throwing away whatever arrives meanwhile. For clients, whose only mail besides
/// the replies they wait for is late replies to calls that timed out: bedlam keeps those, as OTP
/// before 24 did, so a client that only sleeps would let them pile up.
Async<void> drain_for(Self self, Ticks wait);

/// A supervisor start function for a Server `Impl` registered as `name`, constructed from
/// `args` (copied into each start, so every restart begins afresh).
template <typename Impl, typename... A>
StartFn server_start(const std::string& name, A... args) {
    return [name, args...](Self self, const Any& /*extra*/) {
        return start_server<Impl>(self, StartOptions(name), args...);
    };
}

/// A supervisor start function for a plain process `body(self, parent, args...)`, which must
/// call ack_started(self, parent) once it is ready (proc_lib's start handshake).
template <typename F, typename... A>
StartFn process_start(F body, A... args) {
    return [body, args...](Self self, const Any& /*extra*/) -> Async<StartResult> {
        const Pid pid = self.spawn_link(body, self.pid(), args...);
        return await_started(self, pid);
    };
}

/// A worker's registered name: `name` if given, else its id (the last segment of its path).
std::string name_of(const Params& p, const std::string& path);

/// Each file of stock behaviours appends its own, in the order docs/scenarios.md lists them.
void add_core_behaviours(std::vector<StockBehaviour>* all);    // stock.cpp
void add_agent_behaviours(std::vector<StockBehaviour>* all);   // stock_agents.cpp
void add_system_behaviours(std::vector<StockBehaviour>* all);  // stock_systems.cpp

}  // namespace bedlam::scenario::stock
