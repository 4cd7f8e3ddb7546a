# yaml-cpp for the arm64 cross-build. Debian 12's libyaml-cpp-dev is not multi-arch (installing
# its :arm64 package removes the host's), so the cross-build takes the arm64 runtime library
# (libyaml-cpp0.7:arm64, multi-arch) and the host package's headers, which are the same on every
# architecture, and names the target as Debian's yaml-cpp-config.cmake does.
if(NOT TARGET yaml-cpp)
    add_library(yaml-cpp SHARED IMPORTED)
    set_target_properties(yaml-cpp PROPERTIES
        IMPORTED_LOCATION /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/libyaml-cpp.so.0.7)
endif()
set(YAML_CPP_LIBRARIES yaml-cpp)
