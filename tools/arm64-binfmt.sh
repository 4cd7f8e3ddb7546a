#!/usr/bin/env bash
# Lets this x86 machine exec arm64 binaries through qemu-user (binfmt_misc), as `make arm64-test`
# needs: the daemon starts node processes with exec, so qemu has to be the kernel's choice, not
# only ctest's emulator prefix. Idempotent; needs root the first time (mount, register).
set -euo pipefail
entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
if [[ -e $entry ]] && grep -qx enabled "$entry"; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "arm64 binaries cannot run here yet: as root, run $0 (mounts binfmt_misc, registers" >&2
  echo "qemu-aarch64 from Debian's qemu-user-static)" >&2
  exit 1
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [[ -e $entry ]]; then
  echo 1 >"$entry"
else
  # Debian's own registration line (qemu-user-static): F opens the interpreter now, so it
  # works in mount namespaces and chroots; P keeps argv[0].
  conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  [[ -r $conf ]] || { echo "$conf missing: run tools/install-deps.sh --arm64" >&2; exit 1; }
  grep -v '^#' "$conf" | head -n 1 >/proc/sys/fs/binfmt_misc/register
fi
grep -qx enabled "$entry"
echo "qemu-aarch64 registered with binfmt_misc ($(sed -n 's/^interpreter //p' "$entry"))"
