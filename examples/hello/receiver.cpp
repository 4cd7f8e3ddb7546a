// hello/receiver: prints every message it gets until its input closes.
#include <iostream>
#include <string_view>

#include <zeroflow/node.hpp>

int main() {
    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::cerr << "receiver: " << node.error().message() << "\n";
        return 1;
    }
    int received = 0;
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
        switch (event.kind) {
        case zeroflow::EventKind::Input:
            ++received;
            std::cout << "received '"
                      << std::string_view(reinterpret_cast<const char*>(event.data.data()),
                                          event.data.size())
                      << "' on " << event.id << std::endl;
            break;
        case zeroflow::EventKind::InputClosed:
            std::cout << "input " << event.id << " closed" << std::endl;
            break;
        case zeroflow::EventKind::Error:
            std::cerr << "receiver: " << event.message << "\n";
            break;
        default:
            break;
        }
    }
    std::cout << "received " << received << " messages" << std::endl;
    return received > 0 ? 0 : 1;
}
