// Self-describing messages between real node processes: dtype, shape, encoding, parameters and
// wall-clock time arrive exactly as sent across a fan-out; over-large parameters fail the send
// with the sizes; handles refuse undeclared inputs and outputs.
#include "support.hpp"

namespace zeroflow::daemon_test {
namespace {

class Messages : public DaemonTest {};

TEST_F(Messages, TypesShapesEncodingsAndParametersArriveExactlyAsSentAcrossAFanOut) {
    const auto file = write_dataflow("typed", {NodeSpec{"source",
                                                        "typed_source",
                                                        {"--count", "300", "--period-us", "500",
                                                         "--report", report("source").string()},
                                                        {},
                                                        {"out"}},
                                               NodeSpec{"left",
                                                        "typed_sink",
                                                        {"--report", report("left").string()},
                                                        {{"in", "source/out"}},
                                                        {},
                                                        1024},
                                               NodeSpec{"right",
                                                        "typed_sink",
                                                        {"--report", report("right").string()},
                                                        {{"in", "source/out"}},
                                                        {},
                                                        1024}});
    const auto sut = zeroflow({"run", file.string()});
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    EXPECT_EQ(report_number(read_report(report("source")), "sent"), 300U);
    for (const auto* name : {"left", "right"}) {
        auto sink = read_report(report(name));
        EXPECT_EQ(report_number(sink, "count"), 300U) << name;
        EXPECT_EQ(report_number(sink, "verified"), 300U) << name << ": " << sink["first_mismatch"];
        EXPECT_EQ(sink["first_mismatch"], "") << name;
        EXPECT_EQ(report_number(sink, "wall_ok"), 300U) << name;
        EXPECT_EQ(report_number(sink, "dropped"), 0U) << name;
    }
}

TEST_F(Messages, ParametersOverMaxMetadataSizeFailTheSendWithBothSizes) {
    const auto file = write_dataflow(
        "big", {NodeSpec{"source",
                         "typed_source",
                         {"--count", "5", "--blob", "2000", "--report", report("source").string()},
                         {},
                         {"out"}},
                NodeSpec{"sink",
                         "typed_sink",
                         {"--report", report("sink").string()},
                         {{"in", "source/out"}},
                         {}}});
    const auto sut = zeroflow({"run", file.string()});
    EXPECT_EQ(sut.status, 0) << sut.out << sut.err;
    auto source = read_report(report("source"));
    EXPECT_EQ(report_number(source, "too_large"), 1U);
    // The first message is untyped and plain; the second carries the blob and is refused.
    EXPECT_EQ(report_number(source, "sent"), 1U);
    EXPECT_NE(source["error"].find("1024"), std::string::npos) << source["error"];
    EXPECT_NE(source["error"].find("max_metadata_size"), std::string::npos) << source["error"];
    EXPECT_NE(source["error"].find("source/out"), std::string::npos) << source["error"];
}

TEST_F(Messages, ARaisedMaxMetadataSizeCarriesTheLargeParameters) {
    const auto file = write_dataflow(
        "raised",
        {NodeSpec{"source",
                  "typed_source",
                  {"--count", "30", "--blob", "2000", "--report", report("source").string()},
                  {},
                  {"out"}},
         NodeSpec{"sink",
                  "typed_sink",
                  {"--blob", "2000", "--report", report("sink").string()},
                  {{"in", "source/out"}},
                  {},
                  64}},
        "shm:\n  source/out: {max_metadata_size: 4KiB}\n");
    const auto sut = zeroflow({"run", file.string()});
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    EXPECT_EQ(report_number(read_report(report("source")), "too_large"), 0U);
    auto sink = read_report(report("sink"));
    EXPECT_EQ(report_number(sink, "count"), 30U);
    EXPECT_EQ(report_number(sink, "verified"), 30U) << sink["first_mismatch"];
}

TEST_F(Messages, AScribbledMetadataAreaReadsAsPlainBytesOrEmptyParametersNeverACrash) {
    // k % 3 == 0: shape garbled (no longer matches the size) -> reads as untyped bytes, its
    // parameters intact; 1: parameters garbled -> typed, no parameters; 2: header sizes out of
    // range -> untyped, no parameters. The payload is intact in every case.
    const auto file = write_dataflow(
        "scribble", {NodeSpec{"source", "scribbler", {"--count", "30"}, {}, {"out"}},
                     NodeSpec{"sink",
                              "scribble_sink",
                              {"--delay-ms", "700", "--report", report("sink").string()},
                              {{"in", "source/out"}},
                              {},
                              64}});
    const auto sut = zeroflow({"run", file.string()});
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    auto sink = read_report(report("sink"));
    EXPECT_EQ(report_number(sink, "count"), 30U);
    EXPECT_EQ(report_number(sink, "untyped"), 20U);
    EXPECT_EQ(report_number(sink, "typed"), 10U);
    EXPECT_EQ(report_number(sink, "no_parameters"), 20U);
    EXPECT_EQ(report_number(sink, "payload_ok"), 30U);
}

/// A sink's --stamps file: per message, {counter, sequence, timestamp_ns, wall_time_ns}.
std::vector<std::array<std::uint64_t, 4>> read_stamps(const fs::path& file) {
    std::vector<std::array<std::uint64_t, 4>> result;
    std::ifstream in(file);
    std::array<std::uint64_t, 4> line{};
    std::uint64_t taken_at = 0;
    while (in >> line[0] >> line[1] >> line[2] >> line[3] >> taken_at) {
        result.push_back(line);
    }
    return result;
}

TEST_F(Messages, AForwardedMessageKeepsItsSendersSequenceAndWallTime) {
    // source -> direct (its own stamps), and source -> relay (Node::forward, every third message
    // left out) -> forwarded: the forwarded sink sees the source's sequences, gaps included,
    // and wall times, with a monotonic time of the relay's send.
    const auto file = write_dataflow(
        "forward",
        {NodeSpec{"source",
                  "source",
                  {"--count", "60", "--period-us", "1000", "--report", report("source").string()},
                  {},
                  {"out"}},
         NodeSpec{
             "direct",
             "sink",
             {"--report", report("direct").string(), "--stamps", report("direct.stamps").string()},
             {{"in", "source/out"}},
             {},
             64},
         NodeSpec{"relay",
                  "relay",
                  {"--forward", "--skip-every", "3"},
                  {{"in", "source/out"}},
                  {"out"},
                  64},
         NodeSpec{"forwarded",
                  "sink",
                  {"--report", report("forwarded").string(), "--stamps",
                   report("forwarded.stamps").string()},
                  {{"in", "relay/out"}},
                  {},
                  64}});
    const auto sut = zeroflow({"run", file.string()});
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    const auto direct = read_stamps(report("direct.stamps"));
    const auto forwarded = read_stamps(report("forwarded.stamps"));
    ASSERT_EQ(direct.size(), 60U);
    ASSERT_EQ(forwarded.size(), 40U);
    std::size_t d = 0;
    for (const auto& f : forwarded) {
        while (d < direct.size() && direct[d][0] != f[0]) {
            ++d;
        }
        ASSERT_LT(d, direct.size()) << "message " << f[0] << " not sent by the source";
        EXPECT_EQ(f[1], direct[d][1]) << "sequence of message " << f[0];
        EXPECT_EQ(f[1], f[0]) << "the source's sequence is its counter";
        EXPECT_EQ(f[3], direct[d][3]) << "wall time of message " << f[0];
        EXPECT_GT(f[2], direct[d][2]) << "the relay sends after the source";
    }
    EXPECT_EQ(report_number(read_report(report("forwarded")), "sequence_gaps"),
              19U); // 3, 6 .. 57 (60 is last)
}

TEST_F(Messages, HandlesRefuseInputsAndOutputsTheDataflowDoesNotDeclare) {
    const auto file = write_dataflow(
        "handles",
        {NodeSpec{"source", "source", {"--count", "1"}, {}, {"out"}},
         NodeSpec{
             "sut", "handles", {"--report", report("sut").string()}, {{"in", "source/out"}}, {}}});
    const auto sut = zeroflow({"run", file.string()});
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    auto seen = read_report(report("sut"));
    EXPECT_EQ(seen["bad_input_kind"], "invalid_argument");
    EXPECT_NE(seen["bad_input"].find("no input 'imgae'"), std::string::npos) << seen["bad_input"];
    EXPECT_NE(seen["bad_input"].find("declared inputs: in"), std::string::npos);
    EXPECT_NE(seen["bad_output"].find("no output 'nope'"), std::string::npos);
    EXPECT_EQ(seen["good_input"], "ok");
}

} // namespace
} // namespace zeroflow::daemon_test
