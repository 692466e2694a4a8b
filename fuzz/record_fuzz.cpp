// Fuzz target: arbitrary bytes as a failure record, the `key=value` file `bedlam check` writes
// and `bedlam replay` and `bedlam shrink` read (cli/failure_record.hpp). The reader must take
// the text for no record (it does not begin with the header), reject a malformed record with an
// std::invalid_argument naming the place (`fuzz.txt:LINE: ...` or `fuzz.txt: ...`), and never
// crash, hang, leak or throw anything else. A record it accepts, written out again with
// record_text, reads back to the same record.
//
// Seeds: fuzz/corpus/record/.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "failure_record.hpp"
#include "finding.hpp"

namespace {

bool same(const bedlam::cli::FailureRecord& a, const bedlam::cli::FailureRecord& b) {
    return a.file == b.file && a.seed == b.seed && a.swarm == b.swarm && a.policy == b.policy &&
           a.hash == b.hash && a.failures == b.failures;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace cli = bedlam::cli;
    using bedlam::fuzz::finding;
    using bedlam::fuzz::require;
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    std::optional<cli::FailureRecord> record;
    try {
        record = cli::parse_record(in, "fuzz.txt");
    } catch (const std::invalid_argument& e) {
        bedlam::fuzz::require_place(e.what(), "fuzz.txt");
        return 0;
    }
    if (!record) {
        return 0;
    }
    const std::string written = cli::record_text(*record);
    std::istringstream again_in(written);
    std::optional<cli::FailureRecord> again;
    try {
        again = cli::parse_record(again_in, "written.txt");
    } catch (const std::invalid_argument& e) {
        finding("a record read back from record_text is rejected: " + std::string(e.what()) +
                "\n--- written:\n" + written);
    }
    require(again.has_value() && same(*record, *again),
            "a record does not read back to itself:\n--- written:\n" + written);
    return 0;
}
