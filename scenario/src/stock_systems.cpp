// Stock behaviours of the systems stories: a connection pool, chat rooms with a registry, a
// video player without durable state.
#include "stock_support.hpp"

namespace bedlam::scenario::stock {

void add_system_behaviours(std::vector<StockBehaviour>* /*all*/) {}

}  // namespace bedlam::scenario::stock
