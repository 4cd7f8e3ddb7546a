# Cross-compiling for arm64 (aarch64) on Debian: g++-aarch64-linux-gnu against Debian's multiarch
# arm64 libraries (`dpkg --add-architecture arm64`, the `:arm64` -dev packages; see
# tools/install-deps.sh --arm64). Tests run under qemu-user (docs/embedded.md).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's multiarch layout: arm64 libraries and CMake packages in /usr/lib/aarch64-linux-gnu,
# headers in /usr/include (arch-specific ones in /usr/include/aarch64-linux-gnu).
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
# Programs are the host's; libraries, headers and packages never are.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# Test executables run through qemu-user (ctest, and gtest discovery at test time).
find_program(ZEROFLOW_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(ZEROFLOW_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${ZEROFLOW_QEMU_AARCH64})
endif()
# Debian's libyaml-cpp-dev cannot be installed for two architectures at once: see this folder.
set(yaml-cpp_DIR ${CMAKE_CURRENT_LIST_DIR}/aarch64-yaml-cpp CACHE PATH "yaml-cpp for arm64")
