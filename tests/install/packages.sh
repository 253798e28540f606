#!/usr/bin/env bash
# install.packages: the .debs `cpack -G DEB` makes from a built tree hold what
# docs/raspberry-pi.md promises, and what they hold works: every plugin the
# build made, the service's unit (systemd-analyze verify), its pipeline
# (validated with the packaged plugins and models), a replay pipeline run
# with the packaged binary. Needs no root and installs nothing: the packages
# are unpacked into a temporary folder. Skipped (77) without dpkg-deb; cpack
# refuses to make packages without dpkg-shlibdeps (dpkg-dev), which computes
# their library Depends.
#
#   packages.sh BUILD_DIR
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)

for tool in cpack dpkg-deb; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not found: not a Debian system?"
    exit 77
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/stream-smarts-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log="$tmp/log"

RUN_TIMEOUT=120
source "$(dirname "$0")/common.sh"

step "cpack -G DEB"
run "cpack" cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$tmp/out"
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build_dir/CPackConfig.cmake")
[[ -n "$version" ]] || fail "no CPACK_PACKAGE_VERSION in $build_dir/CPackConfig.cmake"
debs=()
for name in stream-smarts stream-smarts-plugins stream-smarts-dev; do
  deb=$(find "$tmp/out" -maxdepth 1 -name "${name}_${version}-*.deb" -print -quit)
  [[ -n "$deb" ]] || { ls "$tmp/out" >&2; fail "no package $name"; }
  debs+=("$deb")
  dpkg-deb -c "$deb" >"$tmp/$name.list"
  awk '{print $6}' "$tmp/$name.list" | sed 's|^\./|/|' >"$tmp/$name.files"
  dpkg-deb -f "$deb" >"$tmp/$name.control"
  echo "   $(basename "$deb"): $(grep -vc '/$' "$tmp/$name.files") files"
done
count=$(find "$tmp/out" -maxdepth 1 -name '*.deb' | wc -l)
[[ $count -eq 3 ]] || { ls "$tmp/out" >&2; fail "expected 3 packages, got $count (an install() rule with a new COMPONENT?)"; }

step "stream-smarts: the runtime, the service, the shipped pipelines"
f="$tmp/stream-smarts.files"
for path in /usr/bin/stream-smarts /lib/systemd/system/stream-smarts.service \
  /etc/stream-smarts/pipeline.toml /etc/stream-smarts/stream-smarts.env \
  /usr/share/stream-smarts/pipelines/power.toml /usr/share/stream-smarts/data/household_hourly.csv \
  /usr/share/stream-smarts/models/household-band.toml /usr/share/stream-smarts/models/household-dlib.dat \
  /usr/share/stream-smarts/models/household-sustained.toml /usr/share/stream-smarts/models/household-power-step.toml \
  /usr/share/doc/stream-smarts/copyright /usr/share/doc/stream-smarts/docs/raspberry-pi.md \
  /usr/share/doc/stream-smarts/docs/models.md /usr/share/doc/stream-smarts/plugins/sources/gpio_meter/README.md; do
  expect "stream-smarts contents" "$f" "^$path\$"
done
expect_none "stream-smarts contents (plugins belong to stream-smarts-plugins)" "$f" '\.so$'
expect "stream-smarts.env: mode 0640 (its group is set by postinst)" "$tmp/stream-smarts.list" \
  '^-rw-r----- root/root .* \./etc/stream-smarts/stream-smarts\.env$'
dpkg-deb -e "${debs[0]}" "$tmp/control"
for script in postinst prerm postrm; do
  [[ -x "$tmp/control/$script" ]] || fail "stream-smarts has no executable $script"
  sh -n "$tmp/control/$script" || fail "$script: shell syntax error"
done
sort "$tmp/control/conffiles" >"$tmp/conffiles"
printf '%s\n' /etc/stream-smarts/pipeline.toml /etc/stream-smarts/stream-smarts.env | cmp -s - "$tmp/conffiles" ||
  { cat "$tmp/conffiles" >&2; fail "conffiles: expected exactly the two files of /etc/stream-smarts"; }
expect "stream-smarts Depends" "$tmp/stream-smarts.control" '^Depends: .*\badduser\b'
expect "stream-smarts Recommends" "$tmp/stream-smarts.control" "^Recommends: .*stream-smarts-plugins \(= $version-"

step "stream-smarts-plugins: every plugin the build made"
f="$tmp/stream-smarts-plugins.files"
plugins=0
for so in "$build_dir"/lib/stream-smarts/plugins/lib*.so; do
  expect "stream-smarts-plugins contents" "$f" "^/usr/lib/stream-smarts/plugins/$(basename "$so")\$"
  plugins=$((plugins + 1))
done
[[ $plugins -gt 0 ]] || fail "the build has no plugins in lib/stream-smarts/plugins"
for path in /usr/lib/stream-smarts/libstream_smarts_kafka.so /usr/lib/stream-smarts/libstream_smarts_http.so \
  /usr/libexec/stream-smarts/stream-smarts-broker; do
  expect "stream-smarts-plugins contents" "$f" "^$path\$"
done
expect "stream-smarts-plugins Depends" "$tmp/stream-smarts-plugins.control" "^Depends: stream-smarts \(= $version-[^)]*\)"
expect "stream-smarts-plugins Depends (from dpkg-shlibdeps)" "$tmp/stream-smarts-plugins.control" '^Depends: .*\blibrdkafka1\b'
# dlib_regression uses dlib's templates only: libdlib19.1 would bring 97 MB
# of libdlib-data onto the Pi (packaging/CMakeLists.txt). Not in a Debug
# build, where dlib's asserts really call into libdlib: packages are made
# from optimized builds. Nor in a sanitized one (STREAM_SMARTS_SANITIZE):
# gcc links those without --as-needed, so every library named is needed.
if grep -q '^CMAKE_BUILD_TYPE:STRING=Debug$' "$build_dir/CMakeCache.txt"; then
  echo "(Debug build: libdlib in Depends is expected, not checked)"
elif grep -q '^STREAM_SMARTS_SANITIZE:STRING=.' "$build_dir/CMakeCache.txt"; then
  echo "(sanitized build, linked without --as-needed: libdlib in Depends is expected, not checked)"
else
  expect_none "stream-smarts-plugins Depends" "$tmp/stream-smarts-plugins.control" '^Depends: .*libdlib'
fi

step "stream-smarts-dev: the SDK"
f="$tmp/stream-smarts-dev.files"
expect "stream-smarts-dev contents" "$f" '^/usr/include/stream_smarts/plugin\.hpp$'
expect "stream-smarts-dev contents" "$f" '/cmake/StreamSmarts/StreamSmartsConfig\.cmake$'

step "unpack the packages and use them"
root="$tmp/root"
for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$root"; done
binary="$root/usr/bin/stream-smarts"
unset STREAM_SMARTS_PLUGIN_PATH
run "stream-smarts plugins" "$binary" plugins
expect "plugins (found next to the packaged binary)" "$log.out" "^source +gpio_meter +.* $root/usr/lib/stream-smarts/plugins/libgpio_meter\.so "
# The service's pipeline, with its absolute model paths moved into $root.
sed "s|\"/usr/share/|\"$root/usr/share/|" "$root/etc/stream-smarts/pipeline.toml" >"$tmp/pipeline.toml"
run "validate /etc/stream-smarts/pipeline.toml" env PUSHBULLET_TOKEN=o.x HA_TOKEN=y "$binary" validate "$tmp/pipeline.toml"
expect "validate" "$log.out" "pipeline\.toml: ok "
run "run /usr/share/stream-smarts/pipelines/power.toml" "$binary" run "$root/usr/share/stream-smarts/pipelines/power.toml"
expect "run power.toml" "$log.err" "pipeline 'power' finished: 25089 readings"

step "the installed docs' links"
# Every relative link in the packaged docs leads somewhere, but those into the
# source's bench/, cmake/, examples/, tests/ (raspberry-pi.md says so).
doc="$root/usr/share/doc/stream-smarts"
broken=0
while IFS= read -r md; do
  while IFS= read -r target; do
    target=${target%%#*}
    [[ -z "$target" || "$target" == *://* || "$target" == mailto:* ]] && continue
    resolved=$(realpath -m "$(dirname "$md")/$target")
    case "${resolved#"$doc"/}" in bench/* | cmake/* | examples/* | tests/* | .ci/*) continue ;; esac
    [[ -e "$resolved" ]] || { echo "   ${md#"$doc"/}: $target does not lead anywhere" >&2; broken=$((broken + 1)); }
  done < <(grep -o '](\([^)]*\))' "$md" | sed 's/^](\(.*\))$/\1/')
done < <(find "$doc" -name '*.md')
[[ $broken -eq 0 ]] || fail "$broken broken links in the installed docs"

step "systemd-analyze verify stream-smarts.service"
if command -v systemd-analyze >/dev/null; then
  # verify wants ExecStart to exist: point it at the unpacked binary.
  sed "s|^ExecStart=/usr/bin/stream-smarts |ExecStart=$binary |" "$root/lib/systemd/system/stream-smarts.service" \
    >"$tmp/stream-smarts.service"
  grep -q "^ExecStart=$binary " "$tmp/stream-smarts.service" || fail "the unit's ExecStart is not /usr/bin/stream-smarts"
  run "systemd-analyze verify" systemd-analyze verify "$tmp/stream-smarts.service"
  # It exits 0 on unknown keys and bad values too: any message is a failure.
  if [[ -s "$log.out" || -s "$log.err" ]]; then
    cat "$log.out" "$log.err" >&2
    fail "systemd-analyze verify has complaints"
  fi
else
  echo "   skipped: no systemd-analyze (apt-get install systemd)"
fi

step "lintian"
if command -v lintian >/dev/null; then
  lintian "${debs[@]}" >"$log.out" 2>&1 || true
  expect_none "lintian errors" "$log.out" '^E: '
else
  echo "   skipped: no lintian"
fi

echo "PASS: $(basename -a "${debs[@]}" | tr '\n' ' ')"
