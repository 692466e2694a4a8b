// The property suites' main: the number of cases per property comes from the environment.
// BEDLAM_PROPERTY_CASES=N sets RapidCheck's max_success (default 100, which keeps CI within a
// few minutes; a nightly sweep might use 5000). RC_PARAMS, if set, wins: it takes every
// RapidCheck option, e.g. RC_PARAMS="seed=42 max_success=1" to replay one failing case.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
    if (std::getenv("RC_PARAMS") == nullptr) {
        const char* cases = std::getenv("BEDLAM_PROPERTY_CASES");
        const std::string params =
            "max_success=" + std::string(cases != nullptr && *cases != '\0' ? cases : "100");
        setenv("RC_PARAMS", params.c_str(), 0);
    }
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
