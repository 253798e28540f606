# Every dependency comes from a Debian package; see docs/architecture.md.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# CAF 0.17 ships neither a CMake config nor a pkg-config file.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES
  IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)

find_package(Boost 1.74 REQUIRED COMPONENTS filesystem)
find_package(tomlplusplus 3.3 REQUIRED)
# Howard Hinnant's date/tz (the library std::chrono's time zones came from;
# g++ 12's libstdc++ does not have them yet) reads the system's tzdata.
find_package(date REQUIRED)

# The Kafka plugins: librdkafka (C API, including its mock cluster) and
# avro-c for the Confluent Avro wire format.
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(AVRO REQUIRED IMPORTED_TARGET avro-c)
# librdkafka's statistics (nested JSON), which tell the Kafka source's
# health: a maintained parser rather than a scanner of ours.
find_package(nlohmann_json 3.10 REQUIRED)

# The dlib_regression scorer (kernel ridge regression). dlib's CMake package
# names libblas, liblapack and libjpeg by path: Debian's libdlib-dev does not
# pull in their -dev packages, so scripts/install-deps installs them too.
find_package(dlib REQUIRED)
