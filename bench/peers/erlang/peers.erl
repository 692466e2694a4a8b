%% peers: the Erlang/OTP side of bedlam's side-by-side benchmarks (bench/peers/run.sh,
%% docs/benchmarks.md). Each program does the same work as its twin in bench/threads_workloads.cpp
%% and bench/peers/caf/caf_peers.cpp, and prints the same lines:
%%
%%   SIZE <benchmark> <key>=<value> ...    the work done
%%   RESULT <benchmark> <metric> <value>   one line per figure
%%   INFO workers <N>                      schedulers online
%%
%% Run: erl +S N:N +P 2000000 -noshell -pa DIR -run peers main -extra <benchmark> [--quick]
%% (after -extra, so that erl leaves --quick alone).
%%
%% The runtime programs use plain spawn, ! and receive; the behaviour programs use the real
%% supervisor and gen_server. One module plays every part, so init/1 dispatches on its argument;
%% there is no -behaviour attribute because the compiler would warn that supervisor and
%% gen_server both want init/1.
-module(peers).

-export([main/0]).
%% gen_server and supervisor callbacks.
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(BATCH, 1000).

main() ->
    {Bench, Scale} = parse(init:get_plain_arguments(), undefined, 1),
    %% The supervisor logs an error report for every child that dies, and bedlam's supervisor
    %% reports nothing: with the logger on, the storms would measure OTP's logger.
    ok = logger:set_primary_config(level, none),
    PageSize = page_size(),
    io:format("INFO workers ~b~n", [erlang:system_info(schedulers_online)]),
    case run(Bench, Scale, PageSize) of
        ok ->
            halt(0);
        unknown ->
            usage()
    end.

parse([], Bench, Scale) when Bench =/= undefined -> {Bench, Scale};
parse(["--quick" | Rest], Bench, _) -> parse(Rest, Bench, 10);
parse([Name | Rest], undefined, Scale) -> parse(Rest, Name, Scale);
parse(_, _, _) -> usage().

usage() ->
    io:format(standard_error,
              "usage: erl ... -run peers main -extra <benchmark> [--quick]~n"
              "benchmarks: spawn idle_memory ping_pong ring fan_in restart_one_for_one~n"
              "            restart_one_for_all sup_tree server_call~n", []),
    halt(2).

page_size() ->
    case string:to_integer(os:cmd("getconf PAGESIZE")) of
        {N, _} when is_integer(N) -> N;
        _ -> 4096
    end.

print_size(Bench, Pairs) ->
    io:format("SIZE ~s~s~n", [Bench, [io_lib:format(" ~s=~b", [K, V]) || {K, V} <- Pairs]]).

result(Bench, Metric, Value) ->
    io:format("RESULT ~s ~s ~.1f~n", [Bench, Metric, float(Value)]).

per_second(Items, Ns) -> Items * 1.0e9 / max(Ns, 1).

now_ns() -> erlang:monotonic_time(nanosecond).

%% Runs F in a fresh process (the drivers trap exits and link), and returns its value.
in_process(F) ->
    Parent = self(),
    {Pid, Ref} = spawn_monitor(fun() -> Parent ! {self(), F()} end),
    receive
        {Pid, Value} ->
            erlang:demonitor(Ref, [flush]),
            Value;
        {'DOWN', Ref, process, Pid, Reason} ->
            io:format(standard_error, "benchmark process died: ~p~n", [Reason]),
            halt(1)
    end.

run("spawn", Scale, _) ->
    N = 1000000 div Scale,
    print_size("spawn", [{processes, N}]),
    result("spawn", processes_per_s, per_second(N, in_process(fun() -> spawn_root(N) end)));
run("idle_memory", _, PageSize) ->
    N = 100000,
    print_size("idle_memory", [{processes, N}]),
    result("idle_memory", bytes_per_process, in_process(fun() -> idle_root(N, PageSize) end));
run("ping_pong", Scale, _) ->
    N = 2000000 div Scale,
    print_size("ping_pong", [{round_trips, N}]),
    result("ping_pong", round_trips_per_s, per_second(N, in_process(fun() -> pinger(N) end)));
run("ring", Scale, _) ->
    P = 10000,
    Laps = 100 div Scale,
    print_size("ring", [{processes, P}, {laps, Laps}]),
    result("ring", hops_per_s, per_second(P * Laps, in_process(fun() -> ring_root(P, Laps) end)));
run("fan_in", Scale, _) ->
    S = 1000,
    E = 1000 div Scale,
    print_size("fan_in", [{senders, S}, {messages_each, E}]),
    result("fan_in", msgs_per_s, per_second(S * E, in_process(fun() -> fan_receiver(S, E) end)));
run("restart_one_for_one", Scale, _) ->
    C = 1000,
    K = 100000 div Scale,
    print_size("restart_one_for_one", [{children, C}, {kills, K}]),
    T = in_process(fun() -> storm(one_for_one, C, K) end),
    result("restart_one_for_one", restarts_per_s, per_second(K, T));
run("restart_one_for_all", Scale, _) ->
    C = 100,
    K = 10000 div Scale,
    print_size("restart_one_for_all", [{children, C}, {kills, K}]),
    T = in_process(fun() -> storm(one_for_all, C, K) end),
    result("restart_one_for_all", group_restarts_per_s, per_second(K, T)),
    result("restart_one_for_all", child_restarts_per_s, per_second(K * C, T));
run("sup_tree", Scale, _) ->
    S = 100,
    W = 1000 div Scale,
    print_size("sup_tree", [{supervisors, S}, {workers_each, W}]),
    {Start, Stop} = in_process(fun() -> tree(S, W) end),
    result("sup_tree", start_children_per_s, per_second(S * W, Start)),
    result("sup_tree", stop_children_per_s, per_second(S * W, Stop));
run("server_call", Scale, _) ->
    N = 1000000 div Scale,
    print_size("server_call", [{calls, N}]),
    T = in_process(fun() -> calls(N) end),
    result("server_call", calls_per_s, per_second(N, T)),
    result("server_call", ns_per_call, T / N);
run(_, _, _) ->
    unknown.

wait_for(_, 0) -> ok;
wait_for(Msg, N) -> receive Msg -> wait_for(Msg, N - 1) end.

%% -- spawn ----------------------------------------------------------------------------------------

%% In batches of 1,000 as in bedlam's spawn_root: at most 1,000 children are alive at once.
spawn_root(N) ->
    Root = self(),
    T0 = now_ns(),
    spawn_batches(N, Root),
    now_ns() - T0.

spawn_batches(0, _) -> ok;
spawn_batches(N, Root) ->
    B = min(N, ?BATCH),
    spawn_many(B, Root),
    wait_for(done, B),
    spawn_batches(N - B, Root).

spawn_many(0, _) -> ok;
spawn_many(N, Root) ->
    spawn(fun() -> Root ! done end),
    spawn_many(N - 1, Root).

%% -- idle footprint -------------------------------------------------------------------------------

%% Resident bytes of the VM, from /proc/self/statm (the beam process reads its own).
rss(PageSize) ->
    {ok, Statm} = file:read_file("/proc/self/statm"),
    [_, Resident | _] = binary:split(Statm, <<" ">>, [global]),
    binary_to_integer(Resident) * PageSize.

%% Batches of 1,000 as in bedlam's idle_root, so that the root's mailbox stays small. The list of
%% pids is counted in the growth (16 bytes a cons cell, against 8 for bedlam's and CAF's arrays);
%% the root collects its garbage before each reading, so heap slack is not.
idle_root(N, PageSize) ->
    erlang:garbage_collect(),
    Before = rss(PageSize),
    Pids = idle_batches(N, self(), []),
    erlang:garbage_collect(),
    After = rss(PageSize),
    [P ! stop || P <- Pids],
    (After - Before) / N.

idle_batches(0, _, Acc) -> Acc;
idle_batches(N, Root, Acc) ->
    B = min(N, ?BATCH),
    Acc1 = spawn_idle(B, Root, Acc),
    wait_for(parked, B),
    idle_batches(N - B, Root, Acc1).

spawn_idle(0, _, Acc) -> Acc;
spawn_idle(N, Root, Acc) ->
    spawn_idle(N - 1, Root, [spawn(fun() -> idle(Root) end) | Acc]).

idle(Root) ->
    Root ! parked,
    receive stop -> ok end.

%% -- ping-pong ------------------------------------------------------------------------------------

pinger(N) ->
    Peer = spawn(fun ponger/0),
    T0 = now_ns(),
    ping(N, Peer),
    now_ns() - T0.

ping(0, _) -> ok;
ping(Left, Peer) ->
    Peer ! {ping, self(), Left - 1},
    receive {pong, _} -> ping(Left - 1, Peer) end.

ponger() ->
    receive
        {ping, From, N} ->
            From ! {pong, N},
            case N of
                0 -> ok;  % The last round trip.
                _ -> ponger()
            end
    end.

%% -- ring -----------------------------------------------------------------------------------------

ring_root(P, Laps) ->
    Root = self(),
    Ring = [spawn(fun() -> ring_member(Root) end) || _ <- lists:seq(1, P)],
    [First | _] = Ring,
    send_next(Ring, First),
    T0 = now_ns(),
    First ! {token, P * Laps},
    receive done -> ok end,
    T = now_ns() - T0,
    [M ! stop || M <- Ring],
    T.

send_next([Last], First) -> Last ! {next, First};
send_next([M, Next | Rest], First) ->
    M ! {next, Next},
    send_next([Next | Rest], First).

ring_member(Root) ->
    receive {next, Next} -> ring_loop(Root, Next) end.

ring_loop(Root, Next) ->
    receive
        {token, 0} ->
            Root ! done,
            ring_loop(Root, Next);
        {token, Hops} ->
            Next ! {token, Hops - 1},
            ring_loop(Root, Next);
        stop ->
            ok
    end.

%% -- fan-in ---------------------------------------------------------------------------------------

%% The receiver's queue can hold up to the million messages. With BEAM's default (messages on the
%% process heap) every garbage collection of the receiver copies the whole queue, and the run
%% turns quadratic in the queue's length, so the receiver keeps its queue off heap, as an Erlang
%% programmer would for a process that receives this much.
fan_receiver(Senders, Each) ->
    process_flag(message_queue_data, off_heap),
    Self = self(),
    T0 = now_ns(),
    [spawn(fun() -> fan_send(Self, Each) end) || _ <- lists:seq(1, Senders)],
    Sum = fan_receive(Senders * Each, 0),
    T = now_ns() - T0,
    Sum = Senders * (Each * (Each - 1) div 2),
    T.

fan_send(_, 0) -> ok;
fan_send(To, N) ->
    To ! {item, N - 1},
    fan_send(To, N - 1).

fan_receive(0, Sum) -> Sum;
fan_receive(N, Sum) ->
    receive {item, I} -> fan_receive(N - 1, Sum + I) end.

%% -- restart storms -------------------------------------------------------------------------------

%% A supervisor over gen_server children whose init/1 sends the driver its pid. The driver kills
%% one child at a time and waits until the supervisor has restarted what its strategy says.
%% Intensity is as good as unlimited, the period 1 s as in bedlam's storm: OTP prepends one
%% timestamp per restart and trims the list to the period on every restart, so the list holds
%% about one second's worth of restarts.
storm(Strategy, Children, Kills) ->
    process_flag(trap_exit, true),
    {ok, Sup} = supervisor:start_link(?MODULE, {storm_sup, Strategy, Children, self()}),
    Pids0 = hellos(Children, #{}),
    PerKill = case Strategy of one_for_all -> Children; _ -> 1 end,
    T0 = now_ns(),
    _ = kill_loop(0, Kills, Children, PerKill, Pids0),
    T = now_ns() - T0,
    exit(Sup, shutdown),
    receive {'EXIT', Sup, _} -> ok end,
    T.

hellos(0, Pids) -> Pids;
hellos(N, Pids) ->
    receive {hello, I, Pid} -> hellos(N - 1, Pids#{I => Pid}) end.

kill_loop(Kills, Kills, _, _, Pids) -> Pids;
kill_loop(K, Kills, Children, PerKill, Pids) ->
    exit(maps:get(K rem Children, Pids), kill),
    kill_loop(K + 1, Kills, Children, PerKill, hellos(PerKill, Pids)).

%% -- supervision tree -----------------------------------------------------------------------------

%% A one_for_one root over Sups one_for_one supervisors of Workers gen_server workers each, with
%% OTP's default flags and shutdowns, started and then shut down.
tree(Sups, Workers) ->
    process_flag(trap_exit, true),
    T0 = now_ns(),
    {ok, Root} = supervisor:start_link(?MODULE, {tree_root, Sups, Workers}),
    T1 = now_ns(),
    exit(Root, shutdown),
    receive {'EXIT', Root, _} -> ok end,
    {T1 - T0, now_ns() - T1}.

%% -- server calls ---------------------------------------------------------------------------------

calls(N) ->
    {ok, Server} = gen_server:start_link(?MODULE, counter, []),
    T0 = now_ns(),
    N = call_loop(N, Server, 0),
    T = now_ns() - T0,
    ok = gen_server:stop(Server),
    T.

call_loop(0, _, Last) -> Last;
call_loop(N, Server, _) -> call_loop(N - 1, Server, gen_server:call(Server, get)).

%% -- callbacks ------------------------------------------------------------------------------------

init({storm_sup, Strategy, Children, Driver}) ->
    Flags = #{strategy => Strategy, intensity => 1000000000, period => 1},
    Specs = [#{id => I, start => {gen_server, start_link, [?MODULE, {storm_child, I, Driver}, []]}}
             || I <- lists:seq(0, Children - 1)],
    {ok, {Flags, Specs}};
init({storm_child, I, Driver}) ->
    Driver ! {hello, I, self()},
    {ok, I};
init({tree_root, Sups, Workers}) ->
    Specs = [#{id => {sup, I}, start => {supervisor, start_link, [?MODULE, {tree_sup, Workers}]},
               type => supervisor}
             || I <- lists:seq(1, Sups)],
    {ok, {#{}, Specs}};
init({tree_sup, Workers}) ->
    Specs = [#{id => {worker, I}, start => {gen_server, start_link, [?MODULE, tree_worker, []]}}
             || I <- lists:seq(1, Workers)],
    {ok, {#{}, Specs}};
init(tree_worker) ->
    {ok, idle};
init(counter) ->
    {ok, 0}.

handle_call(get, _From, Count) -> {reply, Count + 1, Count + 1}.

handle_cast(_, State) -> {noreply, State}.

handle_info(_, State) -> {noreply, State}.
