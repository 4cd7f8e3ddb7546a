// What the bridge's in-process tests share: Cyclone DDS on loopback only, and a domain of this
// process's own.
#pragma once

#include <cstdlib>

#include <dds/dds.h>
#include <unistd.h>

namespace zeroflow::bridge::test {

/// Loopback only, no multicast: nothing leaves this host.
inline void use_loopback_only() {
    ::setenv("CYCLONEDDS_URI",
             "<CycloneDDS><Domain id=\"any\"><General><Interfaces><NetworkInterface "
             "name=\"lo\"/></Interfaces><AllowMulticast>false</AllowMulticast></General>"
             "</Domain></CycloneDDS>",
             1);
}

/// Each test case runs as its own process (ctest -j may run them at once): a domain (and a
/// topic) per process keep them from meeting.
inline dds_domainid_t own_domain() {
    return static_cast<dds_domainid_t>(100 + ::getpid() % 100);
}

} // namespace zeroflow::bridge::test
