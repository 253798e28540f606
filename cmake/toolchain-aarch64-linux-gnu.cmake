# Cross-building for 64-bit Raspberry Pi OS / Debian arm64 on Debian amd64,
# with Debian's cross compiler (crossbuild-essential-arm64) and the :arm64
# -dev packages installed by multiarch. See docs/raspberry-pi.md:
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
#         -DCMAKE_BUILD_TYPE=Release -DSTREAM_SMARTS_TESTS=OFF -DSTREAM_SMARTS_BENCH=OFF
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# No sysroot: with multiarch the arm64 libraries are in
# /usr/lib/aarch64-linux-gnu of this machine, which CMake searches first
# because the cross compiler reports that library architecture. pkg-config
# must read only the arm64 .pc files, never the amd64 ones.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)

# Target programs (try_run, a test) run under qemu-user-static if present.
find_program(QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${QEMU_AARCH64})
endif()
