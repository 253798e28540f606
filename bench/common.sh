# What the benchmark scripts share. Source it after setting $repo.

# build_everything DIR [CMAKE_ARGS...]: configures DIR and builds every
# target in it: a plugin left there by an older build would be refused (ABI)
# and stop the pipeline. Skipped when DIR was built earlier in the same
# invocation (bench/run builds once, then calls the other scripts).
build_everything() {
  local build=$1
  shift
  if [[ "${BENCH_BUILT:-}" == "$build" ]]; then return 0; fi
  cmake -S "$repo" -B "$build" "$@" >/dev/null
  cmake --build "$build" -j"$(nproc)" >/dev/null
  export BENCH_BUILT="$build"
}

# build_release DIR: the same, optimized and without the tests.
build_release() { build_everything "$1" -DCMAKE_BUILD_TYPE=Release -DSTREAM_SMARTS_TESTS=OFF; }

# machine_line: what every report starts with.
machine_line() {
  echo "machine: $(nproc) cores, $(awk '/model name/ { $1 = $2 = $3 = ""; print; exit }' /proc/cpuinfo | sed 's/^ *//'), $(date -u +%Y-%m-%d)"
}

# start_broker BIN WORK [BROKER ARGS...]: starts `stream-smarts broker` in
# the background; sets broker_pid and brokers (its address). The caller's
# EXIT trap should run stop_broker.
start_broker() {
  local bin=$1 work=$2
  shift 2
  mkfifo "$work/broker.out"
  "$bin" broker "$@" >"$work/broker.out" 2>"$work/broker.err" </dev/null &
  broker_pid=$!
  exec 3<"$work/broker.out"
  # Creating topics in librdkafka 2.0.2's mock cluster sometimes stalls for
  # seconds, hence the patience.
  read -r -t 60 brokers <&3 || { cat "$work/broker.err" >&2; echo "the broker did not start" >&2; exit 1; }
}
stop_broker() {
  if [[ -n "${broker_pid:-}" ]]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  broker_pid=""
}

# field NAME TEXT: the value of NAME=... in a line of key=value figures.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
