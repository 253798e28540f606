# What the install tests share: sourced after they set $log (a path prefix
# in their temporary folder).

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

# run WHAT CMD...: runs CMD (RUN_TIMEOUT seconds at most, default 60) with
# stdout in $log.out and stderr in $log.err; on a non-zero exit prints both
# and fails with WHAT.
run() {
  local what=$1 rc=0 limit=${RUN_TIMEOUT:-60}
  shift
  timeout "$limit" "$@" >"$log.out" 2>"$log.err" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "--- stdout:" >&2; cat "$log.out" >&2
    echo "--- stderr:" >&2; cat "$log.err" >&2
    [[ $rc -eq 124 ]] && fail "$what: timed out after $limit s: $*"
    fail "$what: exit code $rc: $*"
  fi
}

# expect WHAT FILE REGEX: FILE has a line matching REGEX (extended).
expect() {
  grep -Eq -- "$3" "$2" || { echo "--- $2:" >&2; cat "$2" >&2; fail "$1: no line matches /$3/"; }
}
# expect_none WHAT FILE REGEX: no line of FILE matches REGEX.
expect_none() {
  if grep -E -- "$3" "$2" >&2; then fail "$1: unexpected line(s) above match /$3/"; fi
}
