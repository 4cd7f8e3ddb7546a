// A node built outside the zeroflow tree against an installed zeroflow. Run outside a dataflow,
// from_env() must fail with missing_environment: that proves headers, linking and loading.
#include <iostream>

#include <zeroflow/node.hpp>

int main() {
    auto node = zeroflow::Node::from_env();
    if (node) {
        std::cerr << "consumer: from_env() succeeded outside a dataflow\n";
        return 1;
    }
    std::cout << "consumer: " << zeroflow::to_string(node.error().kind()) << "\n";
    return node.error().kind() == zeroflow::ErrorKind::missing_environment ? 0 : 1;
}
