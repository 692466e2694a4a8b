# Runs one libFuzzer binary for fuzz.<target>.run (fuzz/CMakeLists.txt):
#   cmake -DFUZZER=bin -DWORK=dir [-DSEEDS="dir|dir"] [-DDICT=file] [-DFLAGS="flag|flag"]
#         -DSECONDS=n [-DRUNS=n -DEXPECT=regex] -P run_fuzzer.cmake
# The environment variable BEDLAM_FUZZ_SECONDS overrides SECONDS.
# It fuzzes from seed 1 into WORK/corpus (new inputs land there; the seed folders are only read)
# and writes any crashing input to WORK/. Without RUNS it runs for SECONDS and fails on any
# finding. With RUNS (a canary) it runs at most RUNS inputs from an empty corpus and fails unless
# it finds a crash whose output matches EXPECT. Either way it prints libFuzzer's statistics.
if(DEFINED ENV{BEDLAM_FUZZ_SECONDS})  # Set at test time, overriding the configured value.
  set(SECONDS $ENV{BEDLAM_FUZZ_SECONDS})
endif()
set(corpus ${WORK}/corpus)
if(RUNS)
  file(REMOVE_RECURSE ${WORK})  # The canary's bound holds from an empty corpus.
endif()
file(MAKE_DIRECTORY ${corpus})
set(args ${corpus})
if(SEEDS AND NOT RUNS)
  string(REPLACE "|" ";" seed_dirs "${SEEDS}")
  list(APPEND args ${seed_dirs})
endif()
list(APPEND args -seed=1 -timeout=30 -rss_limit_mb=2048 -print_final_stats=1
  -artifact_prefix=${WORK}/)
if(DICT)
  list(APPEND args -dict=${DICT})
endif()
if(FLAGS)
  string(REPLACE "|" ";" flag_list "${FLAGS}")
  list(APPEND args ${flag_list})
endif()
if(RUNS)
  list(APPEND args -runs=${RUNS})
else()
  list(APPEND args -max_total_time=${SECONDS})
endif()
list(JOIN args " " shown)
message("${FUZZER} ${shown}")
execute_process(COMMAND ${FUZZER} ${args} RESULT_VARIABLE code OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
set(found_expected FALSE)
if(RUNS AND err MATCHES "${EXPECT}")
  set(found_expected TRUE)
endif()
# libFuzzer writes to stderr: its last lines hold the statistics, or the finding and the input.
string(LENGTH "${err}" length)
if(length GREATER 6000)
  math(EXPR from "${length} - 6000")
  string(SUBSTRING "${err}" ${from} -1 err_tail)
  set(err "...\n${err_tail}")
endif()
message("exit ${code}\n${out}${err}")
if(RUNS)
  if(code EQUAL 0)
    message(FATAL_ERROR "the canary's planted bug was not found within ${RUNS} runs: the fuzz "
      "set-up has gone blind")
  endif()
  if(NOT found_expected)
    message(FATAL_ERROR "the canary crashed, but not on its planted bug (no '${EXPECT}')")
  endif()
elseif(NOT code EQUAL 0)
  message(FATAL_ERROR "the fuzzer found something; the input is in ${WORK}/ (crash-*, leak-*, "
    "timeout-*): reproduce with `${FUZZER} FILE`, fix it, and add the file to "
    "fuzz/regressions/")
endif()
