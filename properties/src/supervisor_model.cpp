// The model follows otp-semantics §3 rule by rule; it shares no code with runtime/src/supervisor.cpp.
#include "bedlam/properties/supervisor_model.hpp"

#include <algorithm>
#include <deque>

namespace bedlam::properties {

namespace {

class Node;

struct Slot {
    const ModelChild* spec = nullptr;
    std::string path;
    bool present = true;   // Still in the supervisor's child list.
    bool running = false;  // Has a live process.
    std::unique_ptr<Node> sub{};  // A running nested supervisor.
};

/// One running supervisor process. Nested ones are owned by their parent's slot, so a restart
/// replaces the whole subtree, restart history included, as a new process would.
class Node {
public:
    Node(const ModelSupervisor& spec, const std::string& path, Node* parent, std::size_t index,
         std::vector<std::string>* log)
        : spec_(spec), parent_(parent), index_(index), log_(log) {
        for (std::size_t i = 0; i < spec.children.size(); ++i) {
            slots_.push_back(Slot{&spec.children[i],
                                  path.empty() ? child_id(i) : path + "/" + child_id(i)});
        }
        // Rule 5: children start in order.
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            start(i);
        }
    }

    /// The running worker at `address` (child indices from this node down), or null.
    std::pair<Node*, std::size_t> find(const std::vector<std::size_t>& address, std::size_t depth) {
        Slot& s = slots_[address[depth]];
        if (!s.running) {
            return {nullptr, 0};
        }
        if (depth + 1 == address.size()) {
            return {this, address[depth]};
        }
        return s.sub->find(address, depth + 1);
    }

    /// A worker of this supervisor gets an exit signal from outside.
    void signal(std::size_t i, const ExitReason& signal, Ticks at) {
        Slot& s = slots_[i];
        const bool killed = signal.kind() == ExitReason::Kind::kill;
        const ExitReason reason = killed ? ExitReason::killed() : signal;
        if (!killed) {
            log_->push_back("stop " + s.path + " " + reason.to_string());
        }
        s.running = false;
        child_exited(i, reason, at);
    }

    /// The supervisor is told to shut down: its children stop newest first (rule 7).
    void shut_down() { stop_all_from(0, false); }

private:
    void start(std::size_t i) {
        Slot& s = slots_[i];
        s.running = true;
        if (s.spec->is_supervisor()) {
            s.sub = std::make_unique<Node>(*s.spec->supervisor, s.path, this, i, log_);
        } else {
            log_->push_back("start " + s.path);
        }
    }

    // Rule 7: a worker with a timeout gets `shutdown`, notes it and exits; one with brutal_kill is
    // killed and notes nothing; a nested supervisor stops its own children first.
    void stop(std::size_t i) {
        Slot& s = slots_[i];
        if (s.sub) {
            s.sub->shut_down();
            s.sub.reset();
        } else if (!s.spec->brutal_kill) {
            log_->push_back("stop " + s.path + " shutdown");
        }
        s.running = false;
    }

    // Stops running children from the newest down to `first`, in reverse start order; temporary
    // ones are removed when `remove_temporary` (rule 4).
    void stop_all_from(std::size_t first, bool remove_temporary) {
        for (std::size_t i = slots_.size(); i-- > first;) {
            if (slots_[i].running) {
                stop(i);
            }
            if (remove_temporary && slots_[i].present &&
                slots_[i].spec->restart == Restart::temporary) {
                slots_[i].present = false;
            }
        }
    }

    // Rule 8: restarts in whole seconds; keep those at or after now - period; more than
    // `intensity` of them means giving up.
    bool add_restart(Ticks at) {
        const std::int64_t now_s = at / 1'000'000'000;
        restarts_.push_back(now_s);
        while (!restarts_.empty() && restarts_.front() < now_s - spec_.period_s) {
            restarts_.pop_front();
        }
        return static_cast<int>(restarts_.size()) <= spec_.intensity;
    }

    void child_exited(std::size_t i, const ExitReason& reason, Ticks at) {
        Slot& s = slots_[i];
        s.sub.reset();
        const Restart restart = s.spec->restart;
        const bool again = restart == Restart::permanent ||
                           (restart == Restart::transient && !reason.is_clean());  // Rule 4.
        if (!again) {
            if (restart == Restart::temporary) {
                s.present = false;
            }
            return;
        }
        if (!add_restart(at)) {
            give_up(at);
            return;
        }
        switch (spec_.strategy) {
            case Strategy::one_for_one:
            case Strategy::simple_one_for_one:
                start(i);
                break;
            case Strategy::one_for_all:
                stop_all_from(0, true);
                for (std::size_t j = 0; j < slots_.size(); ++j) {
                    if (slots_[j].present) {
                        start(j);
                    }
                }
                break;
            case Strategy::rest_for_one:
                stop_all_from(i + 1, true);
                for (std::size_t j = i; j < slots_.size(); ++j) {
                    if (slots_[j].present) {
                        start(j);
                    }
                }
                break;
        }
    }

    // Rule 9: the children stop newest first and the supervisor exits `shutdown`; its parent
    // handles that like any child's exit (rule 10: escalation). This node is destroyed here.
    void give_up(Ticks at) {
        stop_all_from(0, false);
        if (parent_ == nullptr) {
            log_->push_back("sup exit shutdown");
            given_up_ = true;
            return;
        }
        Node* parent = parent_;
        const std::size_t index = index_;
        parent->slots_[index].running = false;
        parent->child_exited(index, ExitReason::shutdown(), at);  // Resets this node.
    }

public:
    bool given_up_ = false;

private:
    const ModelSupervisor& spec_;
    Node* parent_;
    std::size_t index_;
    std::vector<std::string>* log_;
    std::vector<Slot> slots_;
    std::deque<std::int64_t> restarts_;
};

void collect_workers(const ModelSupervisor& sup, std::vector<std::size_t>& address,
                     std::vector<std::vector<std::size_t>>* addresses,
                     std::vector<std::string>* paths, const std::string& path) {
    for (std::size_t i = 0; i < sup.children.size(); ++i) {
        const std::string child = path.empty() ? child_id(i) : path + "/" + child_id(i);
        address.push_back(i);
        if (sup.children[i].is_supervisor()) {
            collect_workers(*sup.children[i].supervisor, address, addresses, paths, child);
        } else {
            if (addresses != nullptr) {
                addresses->push_back(address);
            }
            if (paths != nullptr) {
                paths->push_back(child);
            }
        }
        address.pop_back();
    }
}

}  // namespace

std::string child_id(std::size_t index) { return "c" + std::to_string(index); }

std::string describe(const ModelSupervisor& sup) {
    std::string out = std::string(to_string(sup.strategy)) + " " + std::to_string(sup.intensity) +
                      "/" + std::to_string(sup.period_s) + "s [";
    for (std::size_t i = 0; i < sup.children.size(); ++i) {
        const ModelChild& c = sup.children[i];
        out += (i > 0 ? ", " : "") + child_id(i) + ":" + to_string(c.restart);
        if (c.is_supervisor()) {
            out += " " + describe(*c.supervisor);
        } else if (c.brutal_kill) {
            out += ",brutal_kill";
        }
    }
    return out + "]";
}

std::vector<std::string> worker_paths(const ModelSupervisor& sup) {
    std::vector<std::string> paths;
    std::vector<std::size_t> address;
    collect_workers(sup, address, nullptr, &paths, "");
    return paths;
}

TreeSize tree_size(const ModelSupervisor& sup) {
    TreeSize size{1, 0, 1};
    for (const ModelChild& c : sup.children) {
        if (c.is_supervisor()) {
            const TreeSize sub = tree_size(*c.supervisor);
            size.supervisors += sub.supervisors;
            size.workers += sub.workers;
            size.depth = std::max(size.depth, sub.depth + 1);
        } else {
            ++size.workers;
        }
    }
    return size;
}

std::vector<std::string> expected_log(const ModelSupervisor& sup,
                                      const std::vector<ModelExit>& exits, Ticks /*end*/) {
    std::vector<std::string> log;
    std::vector<std::vector<std::size_t>> addresses;
    std::vector<std::size_t> address;
    collect_workers(sup, address, &addresses, nullptr, "");
    Node root(sup, "", nullptr, 0, &log);
    for (const ModelExit& e : exits) {
        if (root.given_up_ || e.worker >= addresses.size()) {
            continue;
        }
        const auto [node, index] = root.find(addresses[e.worker], 0);
        if (node != nullptr) {
            node->signal(index, e.reason, e.at);  // No process to signal otherwise.
        }
    }
    if (!root.given_up_) {
        root.shut_down();
        log.push_back("sup exit shutdown");
    }
    return log;
}

}  // namespace bedlam::properties
