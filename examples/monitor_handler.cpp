// monitor_handler: a handler watches a spy with a monitor and decides what to do from the reason
// in the DOWN message.
//
// The spy's mission: photograph 8 documents, one every 100 ms, and radio each one home. The
// handler saves the progress that reaches it. When the spy goes down, the handler reads why:
//
//   normal    the spy returned: the mission is complete.
//   killed    counter-intelligence got to the spy with exit(Pid, kill): the network is blown,
//             give up (the seed decides whether, and when, they strike).
//   anything  the spy was caught (its process crashed): send a new spy, who resumes from the
//   else      saved progress. After 5 captures the handler gives up too; unbounded retries are
//             how a crash loop starts (supervisors bound them the same way: intensity).
//
// Monitors versus links. The handler *monitors* the spy: a monitor is one-way and only informs,
// so the handler lives on whatever happens to the spy, and needs no trap_exit. The spy *links* to
// its radio operator: links share fate. When the spy dies abnormally, the radio dies with it, with
// the same reason, which the handler sees because it monitors the radio too. A normal exit does
// not travel along links, so a spy that completes its mission dismisses its radio itself.
#include <cstdint>
#include <string>

#include "bedlam/runtime.hpp"

#include "story.hpp"

namespace {

using namespace bedlam;
using namespace std::chrono_literals;
using example::show;
using example::Story;

constexpr int documents = 8;
constexpr int captures_max = 5;

struct Briefed {  // Spy -> handler, first thing: "my radio is <pid>".
    Pid radio;
};
struct Photo {  // Spy -> radio -> handler.
    int document;
};
struct Dismissed {};  // Spy -> radio, when the mission is complete.

struct Outcome {
    int saved = 0;  // Documents that reached the handler.
    ExitReason last_down;
    bool gave_up = false;
    bool struck = false;  // Counter-intelligence found a spy and killed it.
};

Process radio(Self self, Pid handler) {
    for (;;) {
        const bool dismissed = co_await self.receive(
            [&](Photo p) {
                self.send(handler, p);  // Relayed home.
                return false;
            },
            [](Dismissed) { return true; });
        if (dismissed) {
            co_return;
        }
    }
}

// `luck` seeds the dice that decide, document by document, whether a guard catches the spy.
Process spy(Self self, Pid handler, int resume_at, std::uint64_t luck) {
    self.register_name("spy", self.pid());  // So that counter-intelligence can find us.
    const Pid operator_pid = self.spawn_link(radio, handler);
    self.send(handler, Briefed{operator_pid});
    Rng dice(luck);
    for (int document = resume_at + 1; document <= documents; ++document) {
        co_await self.sleep(100ms);
        if (dice.chance(1, 6)) {
            throw std::runtime_error("caught photographing document " + std::to_string(document));
        }
        self.send(operator_pid, Photo{document});
    }
    self.send(operator_pid, Dismissed{});
}

// Waits for the DOWN of monitor `ref`, saving any photos that arrive first; returns its reason.
Async<ExitReason> await_down(Self self, Story* story, MonitorRef ref, Outcome* outcome) {
    for (;;) {
        std::optional<ExitReason> reason;
        co_await self.receive(
            [&](Photo p) {
                outcome->saved = p.document;
                story->say(self, "handler: document " + std::to_string(p.document) + " is home");
            },
            when([ref](const DownMsg& d) { return d.ref == ref; },
                 [&](DownMsg d) { reason = std::move(d.reason); }));
        if (reason) {
            co_return std::move(*reason);
        }
    }
}

Process handler(Self self, Story* story, Outcome* outcome, std::uint64_t seed) {
    Rng luck(seed);
    for (int captures = 0;;) {
        const auto [spy_pid, spy_ref] =
            self.spawn_monitor(spy, self.pid(), outcome->saved, luck.next());
        const Briefed briefed = co_await self.receive<Briefed>();
        const MonitorRef radio_ref = self.monitor(briefed.radio);
        story->say(self, "handler: spy " + show(spy_pid) + " goes in at document " +
                             std::to_string(outcome->saved + 1) + ", radio " + show(briefed.radio) +
                             " linked to the spy");

        const ExitReason reason = co_await await_down(self, story, spy_ref, outcome);
        story->say(self, "handler: DOWN spy " + show(spy_pid) + ": " + reason.to_string());
        // The radio follows the spy down through their link, unless it was dismissed (normal).
        // Photos it relayed before that are still on their way, and arrive before its DOWN.
        const ExitReason radio_reason = co_await await_down(self, story, radio_ref, outcome);
        story->say(self, "handler: DOWN radio " + show(briefed.radio) + ": " +
                             radio_reason.to_string() + "; documents home: " +
                             std::to_string(outcome->saved) + "/" + std::to_string(documents));
        outcome->last_down = reason;

        if (reason.is_normal()) {
            story->say(self, "handler: mission complete");
            co_return;
        }
        if (reason.kind() == ExitReason::Kind::killed) {
            story->say(self, "handler: the spy was killed; the network is blown, giving up");
            outcome->gave_up = true;
            co_return;
        }
        if (++captures == captures_max) {
            story->say(self, "handler: too many captures, giving up");
            outcome->gave_up = true;
            co_return;
        }
        story->say(self, "handler: spy caught; sending another from document " +
                             std::to_string(outcome->saved + 1));
    }
}

// Counter-intelligence: at `strike_at`, kills whichever spy is in, if any. `kill` is the one exit
// signal that cannot be trapped; the victim's links and monitors see the reason `killed`.
Process counter_intelligence(Self self, Story* story, Outcome* outcome, Duration strike_at) {
    co_await self.sleep(strike_at);
    if (const std::optional<Pid> target = self.whereis("spy"); target) {
        story->say(self, "counter-intelligence: found spy " + show(*target) + ", exit(kill)");
        self.exit(*target, ExitReason::kill());
        outcome->struck = true;
    } else {
        story->say(self, "counter-intelligence: no spy to be found");
    }
}

}  // namespace

int main(int argc, char** argv) {
    const auto args = example::parse_args(argc, argv, "");
    if (!args) {
        return 2;
    }
    // The seed decides whether counter-intelligence strikes (one run in three), and when.
    Rng plan(args->seed);
    const bool strike = plan.chance(1, 3);
    const Duration strike_at = std::chrono::milliseconds(50 + 100 * plan.below(documents + 2));

    Story story;
    Outcome outcome;
    const auto rt = example::make_runtime(*args);
    rt->spawn(handler, &story, &outcome, args->seed);
    if (strike) {
        rt->spawn(counter_intelligence, &story, &outcome, strike_at);
    }
    return story.end(*rt, *args, [&] {
        // The handler's decision must follow from the DOWN reason, and agree with the facts.
        const bool complete = outcome.last_down.is_normal() && outcome.saved == documents;
        const bool killed = outcome.last_down.kind() == ExitReason::Kind::killed &&
                            outcome.gave_up && outcome.struck;
        const bool captured = !outcome.last_down.is_normal() && !killed && outcome.gave_up;
        return complete || killed || captured;
    });
}
