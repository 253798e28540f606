# Run by cpack before it builds the packages (CPACK_PRE_BUILD_SCRIPTS).
# Without dpkg-shlibdeps CPackDeb only says so and writes packages that
# declare no library they need: apt then installs them without CAF, librdkafka
# or libcurl, and the service fails to start on any other machine.
cmake_policy(SET CMP0109 NEW)  # a file that cannot be run is not the tool
find_program(STREAM_SMARTS_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(NOT STREAM_SMARTS_DPKG_SHLIBDEPS)
  message(FATAL_ERROR "dpkg-shlibdeps not found: the packages would declare no library they need. "
                      "Install it (sudo apt-get install dpkg-dev, or scripts/install-deps) and run cpack again.")
endif()
