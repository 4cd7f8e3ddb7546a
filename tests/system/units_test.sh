#!/usr/bin/env bash
# The installed systemd units (zeroflow.service, system and user) pass `systemd-analyze verify`,
# start the installed zeroflowd, and restart it on failure. Usage: units_test.sh BUILD_DIR
source "$(dirname "$0")/common.sh"
install_tree "$1"
system=$work/prefix/lib/systemd/system/zeroflow.service
user=$work/prefix/lib/systemd/user/zeroflow.service
[[ -f $system && -f $user ]] || fail "cmake --install did not install both units"
for unit in "$system" "$user"; do
  [[ $(unit_value "$unit" ExecStart) == "$work/prefix/bin/zeroflowd" ]] ||
    fail "$unit: ExecStart is not the installed zeroflowd: $(unit_value "$unit" ExecStart)"
  [[ $(unit_value "$unit" Restart) == on-failure ]] || fail "$unit: no Restart=on-failure"
  [[ $(unit_value "$unit" RuntimeDirectory) == zeroflow ]] || fail "$unit: RuntimeDirectory"
done
# verify checks syntax, every key and value, and that ExecStart is executable.
out=$(systemd-analyze verify --man=no "$system" 2>&1) || fail "verify $system: $out"
[[ -z $out ]] || fail "verify $system warned: $out"
mkdir -m 0700 "$work/xdg"
out=$(XDG_RUNTIME_DIR=$work/xdg systemd-analyze --user verify --man=no "$user" 2>&1) ||
  fail "verify --user $user: $out"
[[ -z $out ]] || fail "verify --user $user warned: $out"
# And verify does catch mistakes here: a misspelt key and a missing binary.
sed 's/^Restart=on-failure/Restart=sometimes/; s|^ExecStart=.*|ExecStart=/nonexistent/zeroflowd|' \
  "$system" >"$work/broken.service"
if out=$(systemd-analyze verify --man=no "$work/broken.service" 2>&1) && [[ -z $out ]]; then
  fail "verify passed a broken unit"
fi
echo "both units verified: $system, $user"
