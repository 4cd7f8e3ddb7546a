// Renders a validated dataflow as a graph: Mermaid flowchart or Graphviz DOT text.
#pragma once

#include <string>

#include <zeroflow/dataflow/descriptor.hpp>

namespace zeroflow::dataflow {

/// A Mermaid flowchart: one box per node, dynamic nodes as stadiums labelled "(dynamic)",
/// one circle per distinct timer spec, edges labelled "output → input".
std::string to_mermaid(const Descriptor& descriptor);

/// The same graph in Graphviz DOT (edge labels "output -> input"; dynamic nodes dashed).
std::string to_dot(const Descriptor& descriptor);

} // namespace zeroflow::dataflow
