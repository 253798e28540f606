# What the benchmark scripts share. Source it after setting $repo.

# build_everything DIR [CMAKE_ARGS...]: configures DIR and builds every
# target in it: a plugin left there by an older build would be refused (ABI)
# and stop the pipeline.
build_everything() {
  local build=$1
  shift
  cmake -S "$repo" -B "$build" "$@" >/dev/null
  cmake --build "$build" -j"$(nproc)" >/dev/null
}

# build_release DIR: the same, optimized and without the tests.
build_release() { build_everything "$1" -DCMAKE_BUILD_TYPE=Release -DSTREAM_SMARTS_TESTS=OFF; }
