// tether: a socket to a flaky external service, held on a "tether" supervisor so that its crash
// loop cannot take the application down.
//
// The external service is down for its first few seconds (the seed says how long): it drops
// connection requests, so a socket's connect times out after 250 ms and the socket crashes. Let
// it crash: without a connection it has nothing useful to do. But a supervisor restarts it at
// once, and it crashes again: a crash loop. Two applications live through the same outage:
//
//   direct     top supervisor {one_for_one, 3 restarts in 5 s}: ledger, socket.
//              The socket's crash loop spends the top supervisor's restart intensity in a
//              second; the top supervisor gives up, and the whole application goes with it.
//
//   tethered   top supervisor {one_for_one, 3 restarts in 5 s}: ledger, tether, keeper.
//              The tether is a supervisor {one_for_one, 3 in 5 s} started with NO children,
//              so starting it cannot fail. Later the keeper adds the socket to it (start_child).
//              The crash loop now spends the tether's intensity: the tether gives up and exits
//              `shutdown`, and only it dies. It is a transient child, and a transient child that
//              exits `shutdown` is neither restarted nor counted by the top supervisor. The
//              keeper, which monitors the tether, sees the DOWN, restarts the empty tether
//              (restart_child), waits, and adds the socket again. Once the service is back the
//              socket connects and stays. The ledger never notices.
#include <optional>
#include <string>
#include <vector>

#include "bedlam/runtime.hpp"
#include "bedlam/runtime/application.hpp"
#include "bedlam/runtime/supervisor.hpp"

#include "story.hpp"

namespace {

using namespace bedlam;
using namespace std::chrono_literals;
using example::ms;
using example::show;
using example::Story;

constexpr Duration connect_timeout = 250ms;
constexpr Duration retry_delay = 1500ms;  // The keeper's pause before it adds the socket.
constexpr Duration watch_for = 10s;       // How long the world watches before it stops.

struct Connect {
    Pid socket;
};
struct Connected {};

// The external service: drops every request while down, then accepts connections.
Process service(Self self, Story* story, Duration outage) {
    story->say(self, "service: down for maintenance until t=" + ms(outage.count()));
    while (self.now() < outage.count()) {
        co_await self.receive([](Connect /*dropped*/) {})
            .after(Duration(outage.count() - self.now()), [] {});
    }
    story->say(self, "service: up again");
    for (;;) {
        const Connect c = co_await self.receive<Connect>();
        self.send(c.socket, Connected{});
    }
}

Process socket(Self self, Story* story, std::string app) {
    self.send("service", Connect{self.pid()});
    // Named, not awaited inside the `if`: g++ 12 can miscompile a co_await in a condition.
    const std::optional<Connected> connected =
        co_await self.receive_for<Connected>(connect_timeout);
    if (!connected) {
        story->say(self, app + ": socket " + show(self.pid()) + " connect timed out; crashing");
        throw std::runtime_error("connect timeout");
    }
    story->say(self, app + ": socket " + show(self.pid()) + " connected");
    self.register_name(app + ".socket", self.pid());  // For the world's final check.
    co_await self.sleep(infinity);  // Holds the connection until its supervisor stops it.
}

// The application's real work. Here it only has to stay alive, undisturbed.
Process ledger(Self self) {
    co_await self.sleep(infinity);
}

Pid child_pid(const std::vector<ChildInfo>& children, const std::string& id) {
    for (const ChildInfo& c : children) {
        if (c.id == id) {
            return c.pid;
        }
    }
    return Pid{};
}

// Keeps a socket on the tether: adds it after a delay, and after each time the tether gives up,
// restarts the tether (empty again) and adds the socket after another delay.
Process keeper(Self self, Story* story) {
    const Pid top = co_await application_top(self, "tethered");
    Pid tether = child_pid(co_await which_children(self, top), "tether");
    for (;;) {
        const MonitorRef ref = self.monitor(tether);
        co_await self.sleep(retry_delay);
        story->say(self, "tethered: keeper adds a socket to tether " + show(tether));
        co_await start_child(self, tether,
                             ChildSpec::process("socket", socket, story, std::string("tethered")));
        const DownMsg down = co_await self.receive(
            when([ref](const DownMsg& d) { return d.ref == ref; }, [](DownMsg d) { return d; }));
        // The top supervisor may not have seen the tether's EXIT yet: then it says `running`.
        SupReply restarted = co_await restart_child(self, top, "tether");
        while (restarted.error == SupError::running) {
            co_await self.sleep(1ms);
            restarted = co_await restart_child(self, top, "tether");
        }
        story->say(self, "tethered: tether " + show(tether) + " gave up (" +
                             down.reason.to_string() + "); keeper restarted it as " +
                             show(restarted.pid));
        tether = restarted.pid;
    }
}

std::vector<ChildSpec> direct_app(Story* story) {
    return {ChildSpec::process("ledger", ledger),
            ChildSpec::process("socket", socket, story, std::string("direct"))};
}

std::vector<ChildSpec> tethered_app(Story* story) {
    ChildSpec tether = supervisor_spec("tether", SupFlags(Strategy::one_for_one, 3, 5), {});
    tether.restart(Restart::transient);
    return {ChildSpec::process("ledger", ledger), tether,
            ChildSpec::process("keeper", keeper, story)};
}

struct Outcome {
    std::string direct_down;  // An application's exit reason, if it went down.
    std::string tethered_down;
    bool socket_connected = false;
    bool ledger_untouched = false;
};

// Starts the service and both applications, watches them, then stops everything.
Process world(Self self, Story* story, Outcome* outcome, Duration outage) {
    self.register_name("service", self.spawn(service, story, outage));
    std::vector<ChildSpec> direct_children = direct_app(story);
    const Pid direct_app_pid =
        (co_await start_application(self, "direct", SupFlags(Strategy::one_for_one, 3, 5),
                                    std::move(direct_children)))
            .pid;
    std::vector<ChildSpec> tethered_children = tethered_app(story);
    const Pid tethered_app_pid =
        (co_await start_application(self, "tethered", SupFlags(Strategy::one_for_one, 3, 5),
                                    std::move(tethered_children)))
            .pid;
    const MonitorRef direct_ref = self.monitor(direct_app_pid);
    self.monitor(tethered_app_pid);  // Any other DOWN is the tethered application's.
    const Pid top = co_await application_top(self, "tethered");
    const Pid ledger_pid = child_pid(co_await which_children(self, top), "ledger");
    story->say(self, "direct: up; top supervisor: ledger, socket");
    story->say(self, "tethered: up; top supervisor: ledger, tether (no children), keeper");

    while (self.now() < watch_for.count()) {
        const Duration left = Duration(watch_for.count() - self.now());
        const std::optional<DownMsg> down = co_await self.receive_for<DownMsg>(left);
        if (down) {
            const bool direct = down->ref == direct_ref;
            story->say(self, std::string(direct ? "direct" : "tethered") + ": APPLICATION DOWN (" +
                                 down->reason.to_string() + ")");
            (direct ? outcome->direct_down : outcome->tethered_down) = down->reason.to_string();
        }
    }
    outcome->socket_connected = self.whereis("tethered.socket").has_value();
    outcome->ledger_untouched =
        self.is_alive(ledger_pid) &&
        child_pid(co_await which_children(self, top), "ledger") == ledger_pid;
    story->say(self, std::string("world: tethered socket ") +
                         (outcome->socket_connected ? "connected" : "NOT connected") + ", ledger " +
                         (outcome->ledger_untouched ? "untouched" : "DISTURBED") + "; stopping");
    co_await stop_application(self, "tethered");
    self.exit(*self.whereis("service"), ExitReason::shutdown());
}

}  // namespace

int main(int argc, char** argv) {
    const auto args = example::parse_args(argc, argv, "");
    if (!args) {
        return 2;
    }
    // The outage lasts 3 to 6 seconds, by the seed.
    Rng plan(args->seed);
    const Duration outage = std::chrono::milliseconds(3000 + 10 * plan.below(300));
    Story story;
    Outcome outcome;
    const auto rt = example::make_runtime(*args);
    rt->spawn(world, &story, &outcome, outage);
    return story.end(*rt, *args, [&] {
        return outcome.direct_down == "shutdown" && outcome.tethered_down.empty() &&
               outcome.socket_connected && outcome.ledger_untouched;
    });
}
