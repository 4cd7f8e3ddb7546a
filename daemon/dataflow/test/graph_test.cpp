// Unit tests of the Mermaid and DOT renderings.
#include <gtest/gtest.h>

#include <zeroflow/dataflow/graph.hpp>

#include "test_support.hpp"

namespace zeroflow::dataflow {
namespace {

class GraphTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_.executable("camera");
        dir_.executable("sink");
        auto result = parse_string(R"(nodes:
  - id: camera
    path: camera
    inputs:
      tick: zeroflow/timer/hz/30
    outputs: [image]
  - id: sink
    path: sink
    inputs:
      frames: camera/image
      tick: zeroflow/timer/hz/30
  - id: viewer-1
    path: dynamic
    inputs:
      image: camera/image
)",
                                   dir_.path() / "dataflow.yml");
        ASSERT_TRUE(result.ok()) << result.format();
        descriptor_ = std::move(*result.descriptor);
    }

    testing::TempDir dir_;
    Descriptor descriptor_;
};

TEST_F(GraphTest, MermaidHasNodesTimersAndLabelledEdges) {
    const std::string sut = to_mermaid(descriptor_);
    EXPECT_EQ(sut, "flowchart TB\n"
                   "    n0[\"camera\"]\n"
                   "    n1[\"sink\"]\n"
                   "    n2([\"viewer-1 (dynamic)\"])\n"
                   "    t0((\"zeroflow/timer/hz/30\"))\n"
                   "    t0 -- \"tick\" --> n0\n"
                   "    n0 -- \"image → frames\" --> n1\n"
                   "    t0 -- \"tick\" --> n1\n"
                   "    n0 -- \"image → image\" --> n2\n");
}

TEST_F(GraphTest, DotHasTheSameGraph) {
    const std::string sut = to_dot(descriptor_);
    EXPECT_TRUE(sut.starts_with("digraph dataflow {\n"));
    EXPECT_TRUE(sut.ends_with("}\n"));
    EXPECT_NE(sut.find("n0 [label=\"camera\"];"), std::string::npos) << sut;
    EXPECT_NE(sut.find("n2 [label=\"viewer-1\\n(dynamic)\", style=\"rounded,dashed\"];"),
              std::string::npos)
        << sut;
    EXPECT_NE(sut.find("t0 [label=\"zeroflow/timer/hz/30\", shape=ellipse"), std::string::npos);
    EXPECT_NE(sut.find("n0 -> n1 [label=\"image -> frames\"];"), std::string::npos) << sut;
    EXPECT_NE(sut.find("t0 -> n0 [label=\"tick\"];"), std::string::npos) << sut;
}

} // namespace
} // namespace zeroflow::dataflow
