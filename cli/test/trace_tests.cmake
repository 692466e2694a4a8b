# `bedlam trace` and `bedlam diff`, run as a user runs them (included from cli/CMakeLists.txt).
# cli/test/data holds traces of a small supervised system under chaos: tree.jsonl (seed 5, kill
# of app/pool/w2 at 10 ms), tree_kill12.jsonl (the kill at 12 ms), tree_prefix.jsonl (the first
# 80 lines of tree.jsonl), and broken ones.
bedlam_add_test(NAME trace_tools_test SOURCES test/trace_tools_test.cpp LIBS bedlam::cli_trace
                LABELS cli)
target_compile_definitions(trace_tools_test PRIVATE
                           BEDLAM_TRACE_DATA="${CMAKE_CURRENT_SOURCE_DIR}/test/data")

set(trace_data ${CMAKE_CURRENT_SOURCE_DIR}/test/data)
set(trace_out ${CMAKE_CURRENT_BINARY_DIR}/trace_test_out)
file(MAKE_DIRECTORY ${trace_out})

# bedlam_cli_expect(NAME name EXIT code ARGS a b ... [STDOUT regex] [STDERR regex] [ABSENT file])
function(bedlam_cli_expect)
  cmake_parse_arguments(E "" "NAME;EXIT;STDOUT;STDERR;ABSENT" "ARGS;FIXTURES" ${ARGN})
  string(JOIN "|" command $<TARGET_FILE:bedlam> ${E_ARGS})
  set(defs -DCMD=${command} -DEXPECT=${E_EXIT})
  foreach(what STDOUT STDERR ABSENT)
    if(DEFINED E_${what})
      list(APPEND defs "-D${what}=${E_${what}}")
    endif()
  endforeach()
  add_test(NAME ${E_NAME} COMMAND ${CMAKE_COMMAND} ${defs} -P
                                  ${CMAKE_CURRENT_SOURCE_DIR}/test/expect_exit.cmake)
  set_tests_properties(${E_NAME} PROPERTIES LABELS cli)
  if(E_FIXTURES)
    set_tests_properties(${E_NAME} PROPERTIES FIXTURES_REQUIRED "${E_FIXTURES}")
  endif()
endfunction()

set(hex16 "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]")

# Traces the demo writes, for the tests below.
add_test(NAME cli.trace.demo_trace COMMAND bedlam demo --seed 1 --trace ${trace_out}/demo1.jsonl)
add_test(NAME cli.trace.demo_trace_again
         COMMAND bedlam demo --seed 1 --trace ${trace_out}/demo1_again.jsonl)
add_test(NAME cli.trace.demo_trace_swarm
         COMMAND bedlam demo --seed 1 --swarm --trace ${trace_out}/demo1_swarm.jsonl)
set_tests_properties(cli.trace.demo_trace cli.trace.demo_trace_again cli.trace.demo_trace_swarm
                     PROPERTIES FIXTURES_SETUP demo_traces LABELS cli)

# trace: the three formats.
bedlam_cli_expect(NAME cli.trace.text EXIT 0 ARGS trace ${trace_data}/tree.jsonl
  STDOUT "app/pool/w2  fault kill: kill.*restarts   2: app/pool/w2 1, app/pool/w3 1.*hash       121d2dd7b545bb41")
bedlam_cli_expect(NAME cli.trace.text_demo EXIT 0 ARGS trace ${trace_out}/demo1_swarm.jsonl
  STDOUT "faults     [1-9][0-9]*: .*hash       ${hex16}" FIXTURES demo_traces)
bedlam_cli_expect(NAME cli.trace.chrome_out EXIT 0
  ARGS trace ${trace_data}/tree.jsonl --format chrome --out ${trace_out}/tree.json)
bedlam_cli_expect(NAME cli.trace.dot_out EXIT 0
  ARGS trace ${trace_out}/demo1_swarm.jsonl --format dot --out ${trace_out}/demo1_swarm.dot
  FIXTURES demo_traces)
set_tests_properties(cli.trace.chrome_out cli.trace.dot_out PROPERTIES FIXTURES_SETUP rendered)
find_program(BEDLAM_PYTHON3 python3)
if(BEDLAM_PYTHON3)
  add_test(NAME cli.trace.chrome_is_json
           COMMAND ${BEDLAM_PYTHON3} -m json.tool ${trace_out}/tree.json ${trace_out}/tree.pretty.json)
  set_tests_properties(cli.trace.chrome_is_json PROPERTIES FIXTURES_REQUIRED rendered LABELS cli)
endif()
find_program(BEDLAM_DOT dot)
if(BEDLAM_DOT)
  add_test(NAME cli.trace.dot_renders
           COMMAND ${BEDLAM_DOT} -Tsvg ${trace_out}/demo1_swarm.dot -o ${trace_out}/demo1_swarm.svg)
  set_tests_properties(cli.trace.dot_renders PROPERTIES FIXTURES_REQUIRED rendered LABELS cli)
endif()

# trace: bad input is exit 2, names FILE:LINE, and writes nothing.
bedlam_cli_expect(NAME cli.trace.missing_file EXIT 2 ARGS trace ${trace_out}/no-such.jsonl
  STDERR "no-such.jsonl: cannot open")
bedlam_cli_expect(NAME cli.trace.bad_json EXIT 2
  ARGS trace ${trace_data}/bad_json.jsonl --format chrome --out ${trace_out}/bad.json
  STDERR "bad_json.jsonl:2: not valid JSON" ABSENT ${trace_out}/bad.json)
bedlam_cli_expect(NAME cli.trace.bad_missing_field EXIT 2
  ARGS trace ${trace_data}/bad_missing_field.jsonl --out ${trace_out}/bad.txt
  STDERR "bad_missing_field.jsonl:3: missing field \"t\"" ABSENT ${trace_out}/bad.txt)
bedlam_cli_expect(NAME cli.trace.bad_format EXIT 2
  ARGS trace ${trace_data}/tree.jsonl --format svg STDERR "--format")
bedlam_cli_expect(NAME cli.trace.unwritable_out EXIT 2
  ARGS trace ${trace_data}/tree.jsonl --out ${trace_out}/no-such-dir/x.txt STDERR "cannot write")

# diff: 0 identical, 1 different (or a prefix), 2 bad input.
bedlam_cli_expect(NAME cli.diff.identical EXIT 0
  ARGS diff ${trace_out}/demo1.jsonl ${trace_out}/demo1_again.jsonl
  STDOUT "^identical: [0-9]+ events, hash=${hex16}\n$" FIXTURES demo_traces)
bedlam_cli_expect(NAME cli.diff.swarm_differs EXIT 1
  ARGS diff ${trace_out}/demo1.jsonl ${trace_out}/demo1_swarm.jsonl
  STDOUT "first difference at event [0-9]+.*diverging:\nA .*\nB " FIXTURES demo_traces)
bedlam_cli_expect(NAME cli.diff.kill_moved EXIT 1
  ARGS diff ${trace_data}/tree.jsonl ${trace_data}/tree_kill12.jsonl --context 1
  STDOUT "first difference at event 55 .*A      55    10.000ms  <0.8.0> app/pool/w2  fault kill: kill")
bedlam_cli_expect(NAME cli.diff.prefix EXIT 1
  ARGS diff ${trace_data}/tree_prefix.jsonl ${trace_data}/tree.jsonl
  STDOUT "A is a prefix of B: they agree on all 80 events of A, then B goes on for 59 more")
bedlam_cli_expect(NAME cli.diff.bad_input EXIT 2
  ARGS diff ${trace_data}/tree.jsonl ${trace_data}/bad_missing_field.jsonl
  STDERR "bad_missing_field.jsonl:3: missing field")
bedlam_cli_expect(NAME cli.diff.missing_file EXIT 2
  ARGS diff ${trace_out}/no-such.jsonl ${trace_data}/tree.jsonl STDERR "no-such.jsonl: cannot open")
bedlam_cli_expect(NAME cli.diff.bad_context EXIT 2
  ARGS diff ${trace_data}/tree.jsonl ${trace_data}/tree.jsonl --context -1)
