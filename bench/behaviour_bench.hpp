// Registration of the behaviour benchmarks (behaviour_bench.cpp), called from bedlam_bench's
// main in the order that keeps simulator benchmarks ahead of threaded ones.
#pragma once

namespace bedlam::bench {

void register_behaviour_sim_benchmarks();
void register_behaviour_threads_benchmarks();

}  // namespace bedlam::bench
