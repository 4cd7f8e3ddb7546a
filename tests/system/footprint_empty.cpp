// The baseline of tools/footprint.sh: a C++ program that does nothing but wait, built like a node
// (same flags, libstdc++) but without the zeroflow library. A node's RSS minus this one's is
// what the library adds.
#include <unistd.h>

int main() {
    for (;;) {
        ::pause();
    }
}
