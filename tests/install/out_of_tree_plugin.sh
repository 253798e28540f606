#!/usr/bin/env bash
# install.out_of_tree_plugin: an already-built stream-smarts, installed into a
# temporary prefix, is enough to build a third-party plugin (examples/night_owl)
# and run it with the INSTALLED binary: no runtime sources, no rebuild.
#
#   out_of_tree_plugin.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
example="$source_dir/examples/night_owl"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/stream-smarts-oot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
log="$tmp/log"

source "$(dirname "$0")/common.sh"


[[ -x "$build_dir/bin/stream-smarts" ]] || fail "$build_dir/bin/stream-smarts is missing: build the project first"
[[ -f "$example/CMakeLists.txt" ]] || fail "$example/CMakeLists.txt is missing"

# Never pick up plugins or packages from the caller's environment.
unset STREAM_SMARTS_PLUGIN_PATH CMAKE_PREFIX_PATH

step "install $build_dir into $prefix"
run "cmake --install" cmake --install "$build_dir" --prefix "$prefix"
binary="$prefix/bin/stream-smarts"
[[ -x "$binary" ]] || fail "the install has no bin/stream-smarts"
config=$(find "$prefix" -path '*/cmake/StreamSmarts/StreamSmartsConfig.cmake' -print -quit)
[[ -n "$config" ]] || fail "the install has no cmake/StreamSmarts/StreamSmartsConfig.cmake (find_package cannot work)"
[[ -f "$prefix/include/stream_smarts/plugin.hpp" ]] || fail "the install has no include/stream_smarts/plugin.hpp"
echo "   package: ${config#"$prefix"/}"

step "configure and build examples/night_owl against the installed SDK"
# The plugin must be ABI-compatible with the runtime: same compiler, same generator.
cache="$build_dir/CMakeCache.txt"
generator=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$cache")
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$cache")
configure=(cmake -S "$example" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
[[ -n "$generator" ]] && configure+=(-G "$generator")
[[ -n "$compiler" ]] && configure+=(-DCMAKE_CXX_COMPILER="$compiler")
run "configure examples/night_owl" "${configure[@]}"
found_dir=$(sed -n 's/^StreamSmarts_DIR:PATH=//p' "$tmp/b/CMakeCache.txt")
[[ "$found_dir" == "$prefix"/* ]] ||
  fail "find_package(StreamSmarts) found '$found_dir', not the package installed under $prefix"
run "build examples/night_owl" cmake --build "$tmp/b"
so=$(find "$tmp/b" -maxdepth 2 -name 'libnight_owl.so' -print -quit)
[[ -n "$so" ]] || fail "building examples/night_owl produced no libnight_owl.so"

step "a plugin calling a function nothing provides fails to link, not to load"
mkdir "$tmp/unresolved"
cp "$example/CMakeLists.txt" "$example/night_owl.cpp" "$tmp/unresolved/"
printf '\nvoid totally_missing_function();\nint call_missing() {\n  totally_missing_function();\n  return 0;\n}\n' \
  >>"$tmp/unresolved/night_owl.cpp"
configure_unresolved=("${configure[@]}")
configure_unresolved[2]="$tmp/unresolved"
configure_unresolved[4]="$tmp/bu"
run "configure the unresolved copy" "${configure_unresolved[@]}"
rc=0
timeout 300 cmake --build "$tmp/bu" >"$log.out" 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "a plugin with an undefined symbol linked (no -z defs?)"
expect "the link names the missing function" "$log.out" "undefined reference to .totally_missing_function\(\)"

step "drop the plugin into a fresh folder on STREAM_SMARTS_PLUGIN_PATH"
mkdir "$tmp/plugins"
cp "$so" "$tmp/plugins/"
export STREAM_SMARTS_PLUGIN_PATH="$tmp/plugins"

step "stream-smarts plugins lists night_owl"
run "stream-smarts plugins" "$binary" plugins
expect "plugins" "$log.out" "^scorer +night_owl +1\.0\.0 +$tmp/plugins/libnight_owl\.so "
expect "plugins (the installed in-tree plugins)" "$log.out" "^source +replay "

step "stream-smarts plugins --describe night_owl shows its options"
run "plugins --describe night_owl" "$binary" plugins --describe night_owl
cp "$log.out" "$tmp/describe"
expect "describe" "$tmp/describe" "^night_owl \(scorer, version 1\.0\.0\)"
expect "describe" "$tmp/describe" "^ +night_start \(integer, default 23\)"
expect "describe" "$tmp/describe" "^ +night_end \(integer, default 6\)"
expect "describe" "$tmp/describe" "^ +night_max_wh \(number, required\)"
expect "describe" "$tmp/describe" "^ +day_max_wh \(number, default "
run "plugins --describe night_owl --markdown" "$binary" plugins --describe night_owl --markdown
expect "describe --markdown" "$log.out" '^\| `night_max_wh` \| number \| +\| yes \|'

# A copy of the example, so a plugin built inside the source tree (its
# plugin_dirs = ["build"]) can never be loaded twice.
mkdir "$tmp/run"
cp "$example/pipeline.toml" "$example/readings.csv" "$tmp/run/"

step "validate the example pipeline"
run "validate examples/night_owl/pipeline.toml" "$binary" validate "$tmp/run/pipeline.toml"
expect "validate" "$log.out" "pipeline\.toml: ok \(1 sources, 1 scorers, 1 sinks\)"

step "an option_error thrown by the plugin is reported at the option's line"
sed 's/^night_start = 23$/night_start = 24/' "$tmp/run/pipeline.toml" >"$tmp/run/bad.toml"
bad_line=$(grep -n '^night_start = 24$' "$tmp/run/bad.toml" | cut -d: -f1)
[[ -n "$bad_line" ]] || fail "examples/night_owl/pipeline.toml no longer has a 'night_start = 23' line"
rc=0
timeout 60 "$binary" validate "$tmp/run/bad.toml" >"$log.out" 2>"$log.err" || rc=$?
[[ $rc -eq 2 ]] || { cat "$log.out" "$log.err" >&2; fail "validate of night_start = 24: exit code $rc, expected 2"; }
expect "validate night_start = 24" "$log.err" \
  "bad\.toml:$bad_line:[0-9]+: option 'night_start' of scorer 'night_owl' \(night_owl\) must be within 0\.\.23; got 24"

step "run the example pipeline with the installed binary"
run "run examples/night_owl/pipeline.toml" "$binary" run "$tmp/run/pipeline.toml"
cp "$log.out" "$tmp/alerts"
echo "   alerts:"
sed 's/^/   /' "$tmp/alerts"
# The 1850 Wh at 03:00 on the second night is 1850 / night_max_wh 400 = 4.625.
expect "run: the night-time spike" "$tmp/alerts" \
  '^\{"ts":"2024-03-05T03:00:00\+01:00","ts_ms":1709604000000,"span_ms":3600000,"meter":"home","hour":3,"wh":1850,"score":4\.625,"expected_lo":0,"expected_hi":400,"scorer":"night_owl","alert":"raised"'
# A quiet night hour (98 Wh), 23:00 below the night ceiling (236 Wh) and
# 06:00 breakfast (712 Wh, day: night_end is exclusive) are not alerts.
expect_none "run: a normal night hour" "$tmp/alerts" '"ts":"2024-03-04T03:00'
expect_none "run: 23:00 below night_max_wh" "$tmp/alerts" '"ts":"2024-03-04T23:00'
expect_none "run: 06:00 is day time" "$tmp/alerts" '"hour":6,'
alerts=$(grep -c '"scorer":"night_owl"' "$tmp/alerts" || true)
[[ $alerts -eq 1 ]] || fail "run: expected exactly 1 night_owl alert, got $alerts"

step "configure and build examples/night_owl against the build tree, not installed"
configure=(cmake -S "$example" -B "$tmp/bt" -DStreamSmarts_DIR="$build_dir/runtime" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
[[ -n "$generator" ]] && configure+=(-G "$generator")
[[ -n "$compiler" ]] && configure+=(-DCMAKE_CXX_COMPILER="$compiler")
run "configure examples/night_owl (build tree)" "${configure[@]}"
run "build examples/night_owl (build tree)" cmake --build "$tmp/bt"
so=$(find "$tmp/bt" -maxdepth 2 -name 'libnight_owl.so' -print -quit)
[[ -n "$so" ]] || fail "building examples/night_owl against the build tree produced no libnight_owl.so"
rm -f "$tmp/plugins/libnight_owl.so"
cp "$so" "$tmp/plugins/"
run "stream-smarts plugins (build tree)" "$build_dir/bin/stream-smarts" plugins
expect "plugins (build tree)" "$log.out" "^scorer +night_owl +1\.0\.0 +$tmp/plugins/libnight_owl\.so "

echo "PASS: night_owl built against the installed SDK and ran with $binary, and built against the build tree"
