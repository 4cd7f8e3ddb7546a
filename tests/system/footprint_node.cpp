// An empty node for tools/footprint.sh: registers, takes its events (a 1 Hz tick) and does
// nothing with them, so its RSS is a bare process's plus what the zeroflow library adds.
#include <zeroflow/node.hpp>

int main() {
    auto node = zeroflow::Node::from_env();
    if (!node) {
        return 1;
    }
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
    }
    return 0;
}
