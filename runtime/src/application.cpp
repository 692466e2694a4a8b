// The application master: a Server that owns the top supervisor.
#include "bedlam/runtime/application.hpp"

namespace bedlam {

namespace {

struct TopRequest {};

class ApplicationMaster final : public Server {
public:
    ApplicationMaster(std::string name, SupFlags flags, std::vector<ChildSpec> children)
        : name_(std::move(name)), flags_(flags), children_(std::move(children)) {}

    Async<InitResult> init(Self self) override {
        self.trap_exit(true);  // So that terminate runs on stop and the top's EXIT is seen.
        self.set_child_path(name_);  // The tree's paths start with the application's name.
        const StartResult top = co_await start_supervisor(self, flags_, children_);
        self.set_child_path(std::string_view());
        if (!top.ok()) {
            co_return InitResult::stop(top.reason);
        }
        top_ = top.pid;
        co_return InitResult::ok();
    }

    Async<ServerResult> handle_call(Self /*self*/, Message request, From /*from*/) override {
        if (request.is<TopRequest>()) {
            co_return ServerResult::reply_with(top_);
        }
        co_return ServerResult::noreply();
    }

    Async<ServerResult> handle_info(Self /*self*/, Message info) override {
        if (const ExitMsg* exit = info.get<ExitMsg>(); exit != nullptr && exit->from == top_) {
            top_ = Pid{};
            co_return ServerResult::stop(exit->reason);  // The tree gave up: so does the app.
        }
        co_return ServerResult::noreply();
    }

    // Stops the tree: shutdown to the top supervisor, which stops its children in reverse
    // order, then wait for it to be gone.
    Async<void> terminate(Self self, ExitReason /*reason*/) override {
        if (!top_.valid()) {
            co_return;
        }
        const Pid top = top_;
        const MonitorRef ref = self.monitor(top);
        self.exit(top, ExitReason::shutdown());
        co_await self.receive(when([ref](const DownMsg& d) { return d.ref == ref; },
                                   [](DownMsg /*d*/) {}));
    }

private:
    std::string name_;
    SupFlags flags_;
    std::vector<ChildSpec> children_;
    Pid top_;
};

}  // namespace

Async<StartResult> start_application(Self self, std::string name, SupFlags flags,
                                     std::vector<ChildSpec> children) {
    // Not linked to the starter: an application outlives the process that started it.
    StartOptions options(name, /*linked=*/false);
    co_return co_await start_server<ApplicationMaster>(self, std::move(options), std::move(name),
                                                       flags, std::move(children));
}

Async<Pid> application_top(Self self, std::string name) {
    const ServerRef ref(std::move(name));
    co_return co_await call<Pid>(self, ref, TopRequest{}, infinity);
}

Async<void> stop_application(Self self, std::string name) {
    const ServerRef ref(std::move(name));
    co_await stop(self, ref, ExitReason::normal(), infinity);
}

}  // namespace bedlam
