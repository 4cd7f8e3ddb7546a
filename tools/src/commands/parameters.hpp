// Copies a message's parameters onto a sample being sent: replay (from a recording) and
// zeroflow-bridge (from another machine) re-send messages with their parameters as they were.
#pragma once

#include <zeroflow/node.hpp>

namespace zeroflow::cli {

/// Re-sets every parameter in its order and kind: the encoding comes out byte-identical.
inline void copy_parameters(const MetadataView& from, SampleMetadata& to) {
    for (const auto& p : from.entries()) {
        switch (p.kind) {
        case ParameterKind::boolean:
            to.set_bool(p.key, p.boolean);
            break;
        case ParameterKind::int64:
            to.set_int(p.key, p.int64);
            break;
        case ParameterKind::float64:
            to.set_double(p.key, p.float64);
            break;
        case ParameterKind::string:
            to.set_string(p.key, p.string);
            break;
        case ParameterKind::int64_list:
            to.set_int_list(p.key, p.int64_list);
            break;
        case ParameterKind::float64_list:
            to.set_double_list(p.key, p.float64_list);
            break;
        case ParameterKind::string_list:
            to.set_string_list(p.key, p.string_list);
            break;
        }
    }
}

} // namespace zeroflow::cli
