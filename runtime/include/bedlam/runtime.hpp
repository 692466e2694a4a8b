// Everything a bedlam runtime user needs: processes, both schedulers, and the value types.
#pragma once

#include "bedlam/runtime/interposer.hpp"
#include "bedlam/runtime/message.hpp"
#include "bedlam/runtime/process.hpp"
#include "bedlam/runtime/rng.hpp"
#include "bedlam/runtime/runtime.hpp"
#include "bedlam/runtime/simulator.hpp"
#include "bedlam/runtime/threads.hpp"
#include "bedlam/runtime/trace.hpp"
#include "bedlam/runtime/types.hpp"
