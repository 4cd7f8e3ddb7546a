# Shared by the system tests: a scratch folder, the processes we started, and checks.
# Usage: source common.sh; every test gets $work (removed at exit) and `fail MESSAGE`.
set -euo pipefail
work=$(mktemp -d /tmp/zf-system-test-XXXXXX)
started=()
cleanup() {
  local pid
  for pid in "${started[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# Waits up to $2 seconds (default 10) for the command in $1 to succeed.
wait_for() {
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do
    if eval "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}
# Writes a dataflow to $2: source (count $3, period $4 µs) -> sink, with the test node $1.
write_flow() {
  cat >"$2" <<YAML
nodes:
  - id: source
    path: $1
    args: source --count $3 --period-us $4
    outputs:
      - out
  - id: sink
    path: $1
    args: sink
    inputs:
      in: source/out
YAML
}
# `cmake --install BUILD --prefix $work/prefix`, quietly.
install_tree() {
  cmake --install "$1" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "cmake --install failed"; }
}
# The value of `Key=` in unit file $1 (the last one, as systemd takes it).
unit_value() {
  sed -n "s/^$2=//p" "$1" | tail -n 1
}
# Starts the daemon of unit file $1 as systemd would: its RuntimeDirectory= under $2 (systemd's
# %t: /run, or $XDG_RUNTIME_DIR for a user unit) created 0700, a clean environment holding the
# unit's Environment= lines (%t expanded), stdin /dev/null, stdout and stderr to $3, and the
# ExecStart= command line. Sets $daemon_pid.
start_as_unit() {
  local unit=$1 t=$2 log=$3 line
  local -a env_args=(PATH=/usr/bin:/bin)
  mkdir -p "$t/$(unit_value "$unit" RuntimeDirectory)"
  chmod "$(unit_value "$unit" RuntimeDirectoryMode)" "$t/$(unit_value "$unit" RuntimeDirectory)"
  while IFS= read -r line; do
    env_args+=("${line//%t/$t}")
  done < <(sed -n 's/^Environment=//p' "$unit")
  [[ -n ${JOURNAL_STREAM:-} ]] && env_args+=("JOURNAL_STREAM=$JOURNAL_STREAM")
  local -a exec_start
  read -r -a exec_start <<<"$(unit_value "$unit" ExecStart)"
  env -i "${env_args[@]}" "${exec_start[@]}" </dev/null >"$log" 2>&1 &
  daemon_pid=$!
  started+=("$daemon_pid")
}
# Stops the daemon as `systemctl stop` does (SIGTERM) and checks it exits 0 within $1 s.
stop_as_systemd() {
  kill -TERM "$daemon_pid"
  local i status=0
  for ((i = 0; i < ${1:-20} * 10; i++)); do
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$daemon_pid" 2>/dev/null && fail "the daemon did not exit on SIGTERM"
  wait "$daemon_pid" || status=$?
  [[ $status -eq 0 ]] || fail "the daemon exited with status $status on SIGTERM"
}
