// Application: the root of a supervision tree (OTP's application master, much reduced). It runs
// as a registered process that starts the top supervisor, linked, and stops it in order: stop()
// shuts the top supervisor down (children in reverse start order, each by its shutdown rule) and
// returns once every process of the tree is gone. If the top supervisor gives up by itself, the
// application ends with the supervisor's reason, which its starter can watch for.
#pragma once

#include <string>
#include <vector>

#include "bedlam/runtime/supervisor.hpp"

namespace bedlam {

/// Starts application `name`: a process registered under `name` that starts the top supervisor
/// with `flags` and `children`. Returns {ok, Pid of the application} or the top supervisor's
/// start error.
Async<StartResult> start_application(Self self, std::string name, SupFlags flags,
                                     std::vector<ChildSpec> children);

/// The top supervisor of a running application, or Pid{} if it is not running.
Async<Pid> application_top(Self self, std::string name);

/// Stops application `name` in order and waits until it has exited. Exits the caller with
/// `noproc` if no such application runs.
Async<void> stop_application(Self self, std::string name);

}  // namespace bedlam
