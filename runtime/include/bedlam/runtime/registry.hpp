// Registry: Elixir's Registry (otp-semantics §7), a key-value store of processes. A registry is
// a server process that owns the table, links to every registrant and drops a registrant's
// entries when its EXIT arrives, so removal is not immediate: a lookup can still return a pid
// that has died (§7.2). Keys are strings; values are immutable values of any type. Unique
// registries also name servers: `registry::via(reg, key)` is OTP's {via, Registry, {reg, key}}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bedlam/runtime/runtime.hpp"
#include "bedlam/runtime/server.hpp"

namespace bedlam::registry {

/// `keys: :unique` (a key maps to at most one process) or `keys: :duplicate` (§7.1).
enum class Mode : std::uint8_t { unique, duplicate };

/// A registered value: an immutable value of any type, shared (never copied) by the lookups that
/// return it, like an Erlang term. Empty stands for Elixir's `nil`. A string literal is stored
/// as a std::string. Readers on other threads see the same object, so a value must be safe to
/// read concurrently (no `mutable` members, no pointers to shared mutable state).
class Value {
public:
    Value() = default;
    template <typename T, typename = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Value>>>
    Value(T&& value)  // NOLINT(google-explicit-constructor): a value of any type, like std::any.
        : holder_(std::make_shared<Holder<Stored<T>>>(std::forward<T>(value))) {}

    [[nodiscard]] bool has_value() const noexcept { return holder_ != nullptr; }
    /// The value if it is a T, else nullptr.
    template <typename T>
    [[nodiscard]] const T* get() const noexcept {
        if (holder_ == nullptr || holder_->tag != bedlam::detail::tag_of<T>()) {
            return nullptr;
        }
        return &static_cast<const Holder<T>*>(holder_.get())->value;
    }
    template <typename T>
    [[nodiscard]] bool is() const noexcept {
        return get<T>() != nullptr;
    }

private:
    template <typename T>
    using Stored = std::conditional_t<std::is_same_v<std::decay_t<T>, const char*> ||
                                          std::is_same_v<std::decay_t<T>, char*>,
                                      std::string, std::decay_t<T>>;

    struct HolderBase {
        const void* tag;  // The stored type (detail::tag_of), compared for equality only.
    };
    template <typename T>
    struct Holder final : HolderBase {
        explicit Holder(T v) : HolderBase{bedlam::detail::tag_of<T>()}, value(std::move(v)) {}
        T value;
    };
    std::shared_ptr<const HolderBase> holder_;
};

/// One registration: `{Pid, Value}`.
struct Entry {
    Pid pid;
    Value value;
};

/// How to start a registry. A class with constructors (README, "g++ 12 and aggregates").
struct Options {
    Options(std::string registry_name, Mode keys_mode, std::uint32_t partition_count = 1)
        : name(std::move(registry_name)), mode(keys_mode), partitions(partition_count) {}

    std::string name;  // Registered name of the registry process; empty for none (use its pid).
    Mode mode;
    /// Accepted for Elixir's sake and otherwise ignored: one process holds the whole table.
    /// Must be at least 1.
    std::uint32_t partitions;
};

/// register's result: {ok, Owner} or {error, {already_registered, Pid}}.
struct RegisterResult {
    enum class Kind : std::uint8_t { ok, already_registered };
    Kind kind = Kind::ok;
    Pid owner;   // ok: the registry process the caller is now linked to.
    Pid holder;  // already_registered: the live process that holds the key (maybe the caller).

    [[nodiscard]] bool ok() const noexcept { return kind == Kind::ok; }
};

/// Starts a registry linked to the caller; {ok, Pid}, or {error, {already_started, Pid}} when
/// the name is taken. The caller is the registry's parent: its EXIT stops the registry (§5.4).
/// Throws std::invalid_argument (Elixir's ArgumentError) if `options.partitions` is 0.
Async<StartResult> start_link(Self self, Options options);

/// Registers the calling process (only a process registers itself) under `key` with `value`,
/// and links it to the registry (§7.1, §7.2). In a unique registry a key held by a live process,
/// the caller included, gives already_registered; a key held by a dead process whose EXIT the
/// registry has not processed yet is taken over. In a duplicate registry a process may register
/// the same key any number of times. (`register` is a C++ keyword, hence the name.)
Async<RegisterResult> register_key(Self self, ServerRef registry, std::string key,
                                   Value value = {});

/// Removes every entry of the calling process under `key`; once it has none left, unlinks it from
/// the registry (unless it is the registry's parent).
Async<void> unregister(Self self, ServerRef registry, std::string key);

/// The `{Pid, Value}` entries under `key`, in registration order. May include processes that
/// have died but whose EXIT the registry has not processed yet (§7.2).
Async<std::vector<Entry>> lookup(Self self, ServerRef registry, std::string key);

/// The keys `pid` is registered under, in registration order (repeated in a duplicate registry
/// as often as registered); empty for a process with no entries.
Async<std::vector<std::string>> keys(Self self, ServerRef registry, Pid pid);

/// The number of entries in the registry.
Async<std::size_t> count(Self self, ServerRef registry);

/// Calls `fn(const std::vector<Entry>&)` in the calling process with the entries under `key`,
/// if there are any (Registry.dispatch/3). To await inside the callback, use lookup instead.
template <typename F>
Async<void> dispatch(Self self, ServerRef registry, std::string key, F fn) {
    // Copies, not moves: clang-tidy 14 takes a moved coroutine parameter for a use after move.
    const std::vector<Entry> entries = co_await lookup(self, registry, key);
    if (!entries.empty()) {
        fn(entries);
    }
}

/// `{via, Registry, {registry, key}}` (or `{registry, key, value}`): a server name kept in a
/// unique registry (§7.3). Pass it to StartOptions to start a server under it (a taken key gives
/// {error, {already_started, Pid}}), or use it as a ServerRef for call, cast and stop. A
/// duplicate registry refuses it: a start fails with {error, Reason}, and a call or stop throws
/// std::invalid_argument in the caller (Elixir raises ArgumentError). A cast travels through
/// the registry, which forwards it.
std::shared_ptr<const ViaName> via(ServerRef registry, std::string key, Value value = {});

/// The text of the error a duplicate registry gives a via name.
inline constexpr const char* via_unsupported = ":via is not supported for duplicate registries";

}  // namespace bedlam::registry
