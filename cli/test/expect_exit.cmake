# Runs a command and checks its exit code and output, for the CLI tests in trace_tests.cmake.
#   cmake -DCMD="prog|arg|arg" -DEXPECT=<code> [-DSTDOUT=<regex>] [-DSTDERR=<regex>]
#         [-DABSENT=<file that must not exist afterwards>] -P expect_exit.cmake
# Arguments are separated by '|' (a ';' would not survive add_test).
string(REPLACE "|" ";" command "${CMD}")
if(DEFINED ABSENT)
  file(REMOVE "${ABSENT}")
endif()
execute_process(COMMAND ${command} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("exit ${code}\n--- stdout\n${out}--- stderr\n${err}---")
if(NOT "${code}" STREQUAL "${EXPECT}")
  message(FATAL_ERROR "expected exit code ${EXPECT}, got ${code}")
endif()
if(DEFINED STDOUT AND NOT out MATCHES "${STDOUT}")
  message(FATAL_ERROR "stdout does not match: ${STDOUT}")
endif()
if(DEFINED STDERR AND NOT err MATCHES "${STDERR}")
  message(FATAL_ERROR "stderr does not match: ${STDERR}")
endif()
if(DEFINED ABSENT AND EXISTS "${ABSENT}")
  message(FATAL_ERROR "${ABSENT} was written although the command failed")
endif()
