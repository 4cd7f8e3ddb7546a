#!/usr/bin/env bash
# Installs the Debian 12 packages zeroflow needs to build, test and benchmark.
# Idempotent and quick when everything is present; when not root, prints the command instead.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libspdlog-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libiceoryx-posh-dev libiceoryx-hoofs-dev iceoryx libacl1-dev
  gnuplot-nox graphviz help2man bash-completion libsystemd-dev systemd
  python3-pybind11 python3-dev python3-numpy python3-pytest
  libzstd-dev liblz4-dev zlib1g-dev libncurses-dev zstd lz4
  cyclonedds-dev cyclonedds-tools iproute2 util-linux
)
# npm (tests only: the MCAP reader below). A machine whose Node.js came from elsewhere (e.g.
# NodeSource's nodejs, which bundles npm and conflicts with Debian's npm) already has it.
if ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang-19 libclang-rt-19-dev)
fi
# --arm64: the cross compiler, Debian's arm64 libraries (multiarch) and qemu-user to run the tests.
# libyaml-cpp-dev is not multi-arch (its :arm64 package would remove the host's): the host's
# headers and the arm64 runtime library serve (cmake/toolchains/aarch64-yaml-cpp).
if [[ "${1:-}" == "--arm64" ]]; then
  packages=(build-essential cmake ninja-build pkg-config g++-aarch64-linux-gnu qemu-user-static
    libcli11-dev nlohmann-json3-dev libboost-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64
    libyaml-cpp-dev libyaml-cpp0.7:arm64 libgtest-dev:arm64 libgmock-dev:arm64 libsystemd-dev:arm64
    libzstd-dev:arm64 liblz4-dev:arm64 zlib1g-dev:arm64 libncurses-dev:arm64)
  if [[ $(id -u) -eq 0 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -q
  fi
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qE "(install|hold) ok installed"; then
    missing+=("$p")
  fi
done
# The observe tests read recordings back with an independent MCAP reader: npm's @mcap/core
# (tests only), installed into build/npm, where tests/observe/CMakeLists.txt looks.
mcap_reader() {
  local dir
  dir="$(dirname "$0")/../build/npm"
  if [[ ! -d "$dir/node_modules/@mcap/core" ]] && command -v npm >/dev/null; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund @mcap/core@2 >/dev/null
  fi
}
if [[ ${#missing[@]} -eq 0 ]]; then
  mcap_reader
  exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "zeroflow needs these Debian packages: ${missing[*]}" >&2
  echo "Install them as root with:" >&2
  echo "  sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
$cmd
mcap_reader
