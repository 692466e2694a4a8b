// Registry (otp-semantics §7): the table, the server that owns it, and the calls clients make.
#include "bedlam/runtime/registry.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bedlam::registry {

namespace {

// -- The table ------------------------------------------------------------------------------------

// The entries of one registry, indexed by key and by owner, so that no read walks the whole
// table. Entry ids grow with each registration, so a set of ids iterates in registration order.
class Table {
public:
    void insert(Pid pid, std::string key, Value value) {
        const std::uint64_t id = next_id_++;
        by_key_[key].insert(id);
        by_owner_[pid][key].insert(id);
        rows_.emplace(id, Row{std::move(key), pid, std::move(value)});
    }

    /// Removes `pid`'s entries under `key`; returns how many there were.
    std::size_t erase(Pid pid, const std::string& key) {
        const auto owner = by_owner_.find(pid);
        if (owner == by_owner_.end()) {
            return 0;
        }
        const auto owned = owner->second.find(key);
        if (owned == owner->second.end()) {
            return 0;
        }
        const std::size_t erased = owned->second.size();
        for (const std::uint64_t id : owned->second) {
            erase_row(id);
        }
        owner->second.erase(owned);
        if (owner->second.empty()) {
            by_owner_.erase(owner);
        }
        return erased;
    }

    /// Removes every entry of `pid`.
    void erase_all(Pid pid) {
        const auto owner = by_owner_.find(pid);
        if (owner == by_owner_.end()) {
            return;
        }
        for (const auto& [key, ids] : owner->second) {
            for (const std::uint64_t id : ids) {
                erase_row(id);
            }
        }
        by_owner_.erase(owner);
    }

    [[nodiscard]] bool owns_any(Pid pid) const { return by_owner_.contains(pid); }

    /// The pid of the oldest entry under `key` (the only one in a unique registry), or Pid{}.
    [[nodiscard]] Pid first_owner(std::string_view key) const {
        const auto keyed = by_key_.find(key);
        return keyed == by_key_.end() ? Pid{} : rows_.at(*keyed->second.begin()).pid;
    }

    [[nodiscard]] std::vector<Entry> lookup(std::string_view key) const {
        std::vector<Entry> entries;
        const auto keyed = by_key_.find(key);
        if (keyed == by_key_.end()) {
            return entries;
        }
        entries.reserve(keyed->second.size());
        for (const std::uint64_t id : keyed->second) {
            const Row& row = rows_.at(id);
            entries.push_back(Entry{row.pid, row.value});
        }
        return entries;
    }

    [[nodiscard]] std::vector<std::string> keys(Pid pid) const {
        std::vector<std::string> keys;
        const auto owner = by_owner_.find(pid);
        if (owner == by_owner_.end()) {
            return keys;
        }
        std::vector<std::uint64_t> ids;
        for (const auto& [key, owned] : owner->second) {
            ids.insert(ids.end(), owned.begin(), owned.end());
        }
        std::sort(ids.begin(), ids.end());  // Registration order; ids are unique.
        keys.reserve(ids.size());
        for (const std::uint64_t id : ids) {
            keys.push_back(rows_.at(id).key);
        }
        return keys;
    }

    [[nodiscard]] std::size_t size() const noexcept { return rows_.size(); }

private:
    struct Row {
        std::string key;
        Pid pid;
        Value value;
    };

    // Drops a row and its key index entry; the caller fixes by_owner_.
    void erase_row(std::uint64_t id) {
        const auto row = rows_.find(id);
        BEDLAM_ASSERT(row != rows_.end());
        const auto keyed = by_key_.find(row->second.key);
        BEDLAM_ASSERT(keyed != by_key_.end());
        const std::size_t erased = keyed->second.erase(id);
        BEDLAM_ASSERT(erased == 1);
        if (keyed->second.empty()) {
            by_key_.erase(keyed);
        }
        rows_.erase(row);
    }

    std::uint64_t next_id_ = 0;
    std::map<std::uint64_t, Row> rows_;  // By entry id.
    // Key -> entry ids, and owner -> key -> entry ids; no empty maps or sets.
    std::map<std::string, std::set<std::uint64_t>, std::less<>> by_key_;
    std::map<Pid, std::map<std::string, std::set<std::uint64_t>, std::less<>>> by_owner_;
};

// -- The protocol ---------------------------------------------------------------------------------
// Requests have constructors: callers write them inside co_await expressions (README, "g++ 12
// and aggregates"). Replies hold trivially copyable members only.

struct RegisterRequest {
    RegisterRequest(std::string k, Value v, bool by_via)
        : key(std::move(k)), value(std::move(v)), via(by_via) {}
    std::string key;
    Value value;
    bool via;  // From a via name, which a duplicate registry refuses (§7.3).
};

struct RegisterReply {
    enum class Kind : std::uint8_t { ok, taken, via_unsupported };
    Kind kind;
    Pid pid;  // ok: the registry; taken: the holder.
};

struct KeyRequest {
    enum class Op : std::uint8_t { unregister, lookup, whereis };
    KeyRequest(Op o, std::string k) : op(o), key(std::move(k)) {}
    Op op;
    std::string key;
};

struct Unregistered {};

struct WhereisReply {
    bool supported;  // False in a duplicate registry (§7.3).
    Pid pid;         // The live holder, or Pid{}.
};

struct KeysRequest {
    Pid pid;
};

struct CountRequest {};

/// A cast to a via name: the registry forwards `request` to the key's holder, as its sender's.
struct ViaCast {
    ViaCast(std::string k, Any r) : key(std::move(k)), request(std::move(r)) {}
    std::string key;
    Any request;
};

// -- The server -----------------------------------------------------------------------------------

// Invariant: the registry is linked to every process that has an entry (and to its parent).
class RegistryServer final : public Server {
public:
    RegistryServer(Pid parent, Mode mode) : parent_(parent), mode_(mode) {}

    Async<InitResult> init(Self self) override {
        self.trap_exit(true);  // A registrant's death is a message (§7.2).
        co_return InitResult::ok();
    }

    Async<ServerResult> handle_call(Self self, Message request, From from) override {
        if (auto* enter = request.get<RegisterRequest>(); enter != nullptr) {
            co_return ServerResult::reply_with(register_entry(self, from.pid, *enter));
        }
        if (const auto* keyed = request.get<KeyRequest>(); keyed != nullptr) {
            switch (keyed->op) {
                case KeyRequest::Op::unregister:
                    if (table_.erase(from.pid, keyed->key) > 0) {
                        release(self, from.pid);
                    }
                    co_return ServerResult::reply_with(Unregistered{});
                case KeyRequest::Op::lookup:
                    co_return ServerResult::reply_with(table_.lookup(keyed->key));
                case KeyRequest::Op::whereis:
                    co_return ServerResult::reply_with(whereis(self, keyed->key));
            }
        }
        if (const auto* of = request.get<KeysRequest>(); of != nullptr) {
            co_return ServerResult::reply_with(table_.keys(of->pid));
        }
        if (request.is<CountRequest>()) {
            co_return ServerResult::reply_with(table_.size());
        }
        co_return co_await Server::handle_call(self, std::move(request), from);
    }

    Async<ServerResult> handle_cast(Self self, Message request) override {
        if (auto* forward = request.get<ViaCast>(); forward != nullptr) {
            const Pid to = whereis(self, forward->key).pid;
            if (to.valid()) {  // Else lost, as a cast to a missing name is.
                Runtime& rt = self.runtime();
                bedlam::detail::Envelope* e = std::move(forward->request).box(rt, request.from());
                e->flags = bedlam::detail::Envelope::cast_flag;
                rt.send_signal(to, e);
            }
            co_return ServerResult::noreply();
        }
        co_return co_await Server::handle_cast(self, std::move(request));
    }

    Async<ServerResult> handle_info(Self /*self*/, Message info) override {
        // §7.2: a registrant died (the parent's EXIT never gets here: it stops the server).
        if (const auto* exit = info.get<ExitMsg>(); exit != nullptr) {
            table_.erase_all(exit->from);
        }
        co_return ServerResult::noreply();
    }

private:
    RegisterReply register_entry(Self self, Pid pid, RegisterRequest& request) {
        if (mode_ == Mode::duplicate) {
            if (request.via) {
                return {RegisterReply::Kind::via_unsupported, {}};
            }
        } else if (const Pid holder = table_.first_owner(request.key); holder.valid()) {
            if (self.is_alive(holder)) {
                return {RegisterReply::Kind::taken, holder};
            }
            // §7.1: the holder died and its EXIT is still on the way; the caller takes the key.
            table_.erase(holder, request.key);
            release(self, holder);
        }
        if (!table_.owns_any(pid)) {
            // §7.2. Trapping exits, a link to a process that has died already gives an EXIT
            // (§1.6), which removes the entry made here.
            self.link(pid);
        }
        table_.insert(pid, std::move(request.key), std::move(request.value));
        return {RegisterReply::Kind::ok, self.pid()};
    }

    // Unlinks a process that has no entries left, unless it is the parent.
    void release(Self self, Pid pid) const {
        if (pid != parent_ && !table_.owns_any(pid)) {
            self.unlink(pid);
        }
    }

    [[nodiscard]] WhereisReply whereis(Self self, std::string_view key) const {
        if (mode_ == Mode::duplicate) {
            return {false, {}};
        }
        const Pid holder = table_.first_owner(key);
        return {true, holder.valid() && self.is_alive(holder) ? holder : Pid{}};
    }

    Pid parent_;
    Mode mode_;
    Table table_;
};

// -- Via names ------------------------------------------------------------------------------------

class RegistryVia final : public ViaName {
public:
    RegistryVia(ServerRef registry, std::string key, Value value)
        : registry_(std::move(registry)), key_(std::move(key)), value_(std::move(value)) {}

    Async<Pid> register_name(Self self) const override {
        RegisterRequest request(key_, value_, true);
        const RegisterReply reply =
            co_await call<RegisterReply>(self, registry_, std::move(request), infinity);
        if (reply.kind == RegisterReply::Kind::via_unsupported) {
            throw std::invalid_argument(via_unsupported);
        }
        co_return reply.kind == RegisterReply::Kind::taken ? reply.pid : Pid{};
    }

    Async<Pid> whereis_name(Self self) const override {
        if (registry_.via == nullptr && !bedlam::detail::resolve(self, registry_).valid()) {
            co_return Pid{};  // No such registry: undefined, so a call fails with noproc.
        }
        KeyRequest request(KeyRequest::Op::whereis, key_);
        const WhereisReply reply =
            co_await call<WhereisReply>(self, registry_, std::move(request), infinity);
        if (!reply.supported) {
            throw std::invalid_argument(via_unsupported);
        }
        co_return reply.pid;
    }

    void send_cast(Self self, Any request) const override {
        cast(self, registry_, ViaCast(key_, std::move(request)));
    }

    [[nodiscard]] std::string to_string() const override {
        return "{via,Registry,{" + registry_.to_string() + "," + key_ + "}}";
    }

private:
    ServerRef registry_;
    std::string key_;
    Value value_;
};

}  // namespace

// -- The API --------------------------------------------------------------------------------------

Async<StartResult> start_link(Self self, Options options) {
    if (options.partitions == 0) {
        throw std::invalid_argument("expected :partitions to be a positive integer, got: 0");
    }
    StartOptions start =
        options.name.empty() ? StartOptions() : StartOptions(std::move(options.name));
    return start_server<RegistryServer>(self, std::move(start), self.pid(), options.mode);
}

Async<RegisterResult> register_key(Self self, ServerRef registry, std::string key, Value value) {
    RegisterRequest request(std::move(key), std::move(value), false);
    const RegisterReply reply =
        co_await call<RegisterReply>(self, std::move(registry), std::move(request), infinity);
    BEDLAM_ASSERT(reply.kind != RegisterReply::Kind::via_unsupported);
    if (reply.kind == RegisterReply::Kind::taken) {
        co_return RegisterResult{RegisterResult::Kind::already_registered, {}, reply.pid};
    }
    co_return RegisterResult{RegisterResult::Kind::ok, reply.pid, {}};
}

Async<void> unregister(Self self, ServerRef registry, std::string key) {
    KeyRequest request(KeyRequest::Op::unregister, std::move(key));
    co_await call<Unregistered>(self, std::move(registry), std::move(request), infinity);
}

Async<std::vector<Entry>> lookup(Self self, ServerRef registry, std::string key) {
    return call<std::vector<Entry>>(self, std::move(registry),
                                    KeyRequest(KeyRequest::Op::lookup, std::move(key)), infinity);
}

Async<std::vector<std::string>> keys(Self self, ServerRef registry, Pid pid) {
    return call<std::vector<std::string>>(self, std::move(registry), KeysRequest{pid}, infinity);
}

Async<std::size_t> count(Self self, ServerRef registry) {
    return call<std::size_t>(self, std::move(registry), CountRequest{}, infinity);
}

std::shared_ptr<const ViaName> via(ServerRef registry, std::string key, Value value) {
    return std::make_shared<const RegistryVia>(std::move(registry), std::move(key),
                                               std::move(value));
}

}  // namespace bedlam::registry
