// Registration of the property-suite benchmarks (properties_bench.cpp), called from bedlam_bench's
// main after the other simulator benchmarks and before the threaded ones.
#pragma once

namespace bedlam::bench {

void register_properties_benchmarks();

}  // namespace bedlam::bench
