# `bedlam run`, `bedlam check` and `bedlam replay`, run as a user runs them (included from
# cli/CMakeLists.txt after trace_tests.cmake, whose bedlam_cli_expect they use). Every exit code
# and every class of bad input; cli/test/scenarios holds the bad and failing files.
set(shipped ${PROJECT_SOURCE_DIR}/scenarios)
set(bad ${CMAKE_CURRENT_SOURCE_DIR}/test/scenarios)
set(scenario_out ${CMAKE_CURRENT_BINARY_DIR}/scenario_test_out)
file(MAKE_DIRECTORY ${scenario_out})
set(hex16 "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]")

bedlam_cli_expect(NAME cli.run.pass EXIT 0
  ARGS run ${shipped}/crashy-escalates.yaml --seed 1
  STDOUT "ok    gave_up app/strict.*seed=1 hash=${hex16} verdict=pass\n$")
bedlam_cli_expect(NAME cli.run.expectation_fails EXIT 1
  ARGS run ${bad}/fails.yaml --seed 1
  STDOUT "FAIL  restarts app/w in 0..0 FAILED: [0-9]+ restarts.*verdict=fail\n$")
bedlam_cli_expect(NAME cli.run.liveness_fails EXIT 3
  ARGS run ${bad}/never-heals.yaml --seed 1
  STDOUT "FAIL  healthy_within 2s FAILED.*verdict=fail\n$")
bedlam_cli_expect(NAME cli.run.trace_is_written EXIT 0
  ARGS run ${shipped}/tether.yaml --seed 2 --trace ${scenario_out}/tether.jsonl)
set_tests_properties(cli.run.trace_is_written PROPERTIES FIXTURES_SETUP scenario_trace)
# The trace names processes by their paths: the tree can be drawn from it.
bedlam_cli_expect(NAME cli.run.trace_draws_the_tree EXIT 0
  ARGS trace ${scenario_out}/tether.jsonl --format dot
  STDOUT "shop/tether/socket" FIXTURES scenario_trace)
bedlam_cli_expect(NAME cli.run.malformed_yaml EXIT 2
  ARGS run ${bad}/bad-yaml.yaml
  STDERR "bad-yaml.yaml:3:1: malformed YAML.*nothing was run")
bedlam_cli_expect(NAME cli.run.unknown_key EXIT 2
  ARGS run ${bad}/unknown-key.yaml
  STDERR "unknown-key.yaml:4:3: unknown key `stratgy` in tree")
bedlam_cli_expect(NAME cli.run.missing_file EXIT 2
  ARGS run ${bad}/no-such-file.yaml STDERR "no-such-file.yaml: cannot open the file")
bedlam_cli_expect(NAME cli.run.bad_policy EXIT 2
  ARGS run ${shipped}/tether.yaml --policy sideways STDERR "unknown policy 'sideways'")
bedlam_cli_expect(NAME cli.run.bad_seed EXIT 2 ARGS run ${shipped}/tether.yaml --seed banana)

bedlam_cli_expect(NAME cli.check.shipped_pass EXIT 0
  ARGS check ${shipped} --seeds 3 --jobs 2 --failures ${scenario_out}/none
  STDOUT "total +[0-9]+ +[0-9]+ +0 +0.*all passed")
bedlam_cli_expect(NAME cli.check.shard EXIT 0
  ARGS check ${shipped}/web-handlers.yaml --seeds 5 --shard 2/2
  STDOUT "checking 1 scenario\\(s\\), 2 seed\\(s\\) \\(shard 2/2\\)")
bedlam_cli_expect(NAME cli.check.bad_shard EXIT 2
  ARGS check ${shipped} --shard 3/2 STDERR "--shard: expected I/N with 1 <= I <= N, got '3/2'")
bedlam_cli_expect(NAME cli.check.bad_file_stops_everything EXIT 2
  ARGS check ${bad} STDERR "bad-yaml.yaml:3:1: malformed YAML.*nothing was run")
bedlam_cli_expect(NAME cli.check.failing EXIT 1
  ARGS check ${bad}/fails.yaml --failures ${scenario_out}/records
  STDOUT "FAILED .*fails.yaml seed=1 hash=${hex16}.*replay: bedlam run .*fails.yaml --seed 1")
set_tests_properties(cli.check.failing PROPERTIES FIXTURES_SETUP failure_record)
bedlam_cli_expect(NAME cli.check.liveness EXIT 3 ARGS check ${bad}/never-heals.yaml --seeds 1
  --failures ${scenario_out}/records STDOUT "0 failed, 1 liveness")

bedlam_cli_expect(NAME cli.replay.record_matches EXIT 0
  ARGS replay ${scenario_out}/records/fails-seed1.txt
  STDOUT "replay: hash matches" FIXTURES failure_record)
bedlam_cli_expect(NAME cli.replay.hash_differs EXIT 1
  ARGS replay ${bad}/fails.yaml --seed 1 --hash 0000000000000000 STDOUT "replay: hash DIFFERS")
bedlam_cli_expect(NAME cli.replay.bad_record EXIT 2
  ARGS replay ${bad}/unknown-key.yaml --seed 1 STDERR "unknown key `stratgy`")

# shrink: a failing run shrinks to a file that `run` replays to the same failure; from a record
# too; a passing run and bad input are exit 2.
bedlam_cli_expect(NAME cli.shrink.writes_the_minimal_scenario EXIT 0
  ARGS shrink ${bad}/fails.yaml --seed 1 --out ${scenario_out}/fails-min.yaml
  STDOUT "fails with: restarts app/w in 0..0 FAILED.*wrote .*fails-min.yaml\nreplay: bedlam run .*fails-min.yaml --seed 1\nseed=1 hash=${hex16} verdict=fail\n$")
set_tests_properties(cli.shrink.writes_the_minimal_scenario PROPERTIES FIXTURES_SETUP shrunk)
bedlam_cli_expect(NAME cli.shrink.minimal_scenario_still_fails EXIT 1
  ARGS run ${scenario_out}/fails-min.yaml --seed 1
  STDOUT "FAIL  restarts app/w in 0..0 FAILED.*verdict=fail\n$" FIXTURES shrunk)
bedlam_cli_expect(NAME cli.shrink.from_a_record EXIT 0
  ARGS shrink ${scenario_out}/records/fails-seed1.txt --out ${scenario_out}/record-min.yaml
  STDOUT "shrinking .*fails.yaml seed=1.*wrote .*record-min.yaml" FIXTURES failure_record)
bedlam_cli_expect(NAME cli.shrink.passing_run EXIT 2
  ARGS shrink ${shipped}/tether.yaml --seed 1 --out ${scenario_out}/nothing.yaml
  STDERR "tether.yaml passes with seed 1: nothing to shrink")
bedlam_cli_expect(NAME cli.shrink.bad_input EXIT 2
  ARGS shrink ${bad}/unknown-key.yaml STDERR "unknown key `stratgy`.*nothing was run")

# `bedlam run --scheduler threads`: the same scenario on the multi-core scheduler, in real time
# (threads-short.yaml lasts 2 s), with the same expectations and built-in properties.
bedlam_cli_expect(NAME cli.run.threads_pass EXIT 0
  ARGS run ${bad}/threads-short.yaml --scheduler threads --workers 2
  STDOUT "ok    restarts app/w in 1..1.*wall time: [0-9.]+s\nseed=1 scheduler=threads verdict=pass\n$")
bedlam_cli_expect(NAME cli.run.threads_refuses_a_simulator_fault EXIT 2
  ARGS run ${bad}/threads-hang.yaml --scheduler threads
  STDERR "threads-hang.yaml: fault 0 \\(hang\\): needs the simulator")
bedlam_cli_expect(NAME cli.run.bad_scheduler EXIT 2
  ARGS run ${shipped}/tether.yaml --scheduler fibers STDERR "unknown scheduler 'fibers'")
bedlam_cli_expect(NAME cli.run.workers_need_threads EXIT 2
  ARGS run ${shipped}/tether.yaml --workers 2 STDERR "--workers needs --scheduler threads")
bedlam_cli_expect(NAME cli.run.threads_keep_no_trace EXIT 2
  ARGS run ${shipped}/tether.yaml --scheduler threads --trace ${scenario_out}/x.jsonl
  STDERR "--trace needs the simulator")
