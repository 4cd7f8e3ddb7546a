// hello/sender: on every timer tick, sends "hello #N" on its `message` output. Stops after 10.
#include <cstring>
#include <iostream>
#include <string>

#include <zeroflow/node.hpp>

int main() {
    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::cerr << "sender: " << node.error().message() << "\n";
        return 1;
    }
    int sent = 0;
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
        if (event.kind == zeroflow::EventKind::Error) {
            std::cerr << "sender: " << event.message << "\n";
            continue;
        }
        if (event.kind != zeroflow::EventKind::Input) {
            continue;
        }
        const std::string text = "hello #" + std::to_string(++sent);
        auto sample = node->loan("message", text.size());
        if (!sample) {
            std::cerr << "sender: " << sample.error().message() << "\n";
            return 1;
        }
        std::memcpy(sample->data().data(), text.data(), text.size());
        if (auto ok = node->send(std::move(*sample)); !ok) {
            std::cerr << "sender: " << ok.error().message() << "\n";
            return 1;
        }
        std::cout << "sent " << text << std::endl;
        if (sent == 10) {
            break; // leaving closes `message`: the receiver sees InputClosed
        }
    }
    return 0;
}
