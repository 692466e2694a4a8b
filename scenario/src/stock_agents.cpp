// Stock behaviours of the agent stories: linked spies, a handler monitoring a spy, an agent
// state machine, an agent framework (Registry + DynamicSupervisor).
#include "stock_support.hpp"

namespace bedlam::scenario::stock {

void add_agent_behaviours(std::vector<StockBehaviour>* /*all*/) {}

}  // namespace bedlam::scenario::stock
