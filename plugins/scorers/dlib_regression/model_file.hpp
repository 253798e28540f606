// The dlib_regression model file, without dlib: a small human-readable
// header, an empty line, then the payload (dlib-serialized, opaque here).
//
//   stream-smarts/dlib_regression
//   format_version = 1
//   features = hour_sin,hour_cos,weekday_sin,weekday_cos,year_sin,year_cos
//   log_offset_wh = 50
//   ...
//   payload_bytes = 9876
//   payload_fnv1a64 = 0123456789abcdef
//   <empty line>
//   <payload_bytes bytes>
#pragma once

#include <common/model_errors.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace stream_smarts::dlib_regression {

inline constexpr std::string_view model_magic = "stream-smarts/dlib_regression";
inline constexpr std::int64_t model_format_version = 1;
/// A model is a few KiB; anything far larger is not one, and is not read whole.
inline constexpr std::size_t max_model_file_bytes = 64u << 20;

using model_errors::model_error;

/// What the header says. Numbers are written so they read back exactly.
struct model_header {
  std::string features;          ///< comma-separated feature names, checked against the code's
  double log_offset_wh = 50;     ///< y = log(wh + log_offset_wh)
  std::string timezone;          ///< the zone the local fields were computed in
  std::string trained_from, trained_to;  ///< local ISO-8601 of the first/last training reading
  std::int64_t readings = 0;
  std::int64_t reading_span_ms = 0;  ///< the span of the training readings' Wh; 0: not recorded
  double lo_percentile = 0, hi_percentile = 0;
  double gamma = 0;              ///< training options, for provenance
  std::int64_t max_basis = 0;
};

/// 64-bit FNV-1a of the bytes.
std::uint64_t fnv1a64(std::string_view bytes);

/// The whole file: header (with payload_bytes and payload_fnv1a64 filled in
/// from the payload), an empty line, the payload.
std::string encode_model_file(const model_header& header, std::string_view payload);

/// The header and payload of a file's bytes, every structural problem thrown
/// as model_error: not this format, another format_version, missing or
/// malformed header lines, truncated, checksum mismatch. The payload is a
/// view into `bytes`. Features are returned, not judged.
struct decoded_model_file {
  model_header header;
  std::string_view payload;
};
decoded_model_file decode_model_file(std::string_view bytes);

/// The file's bytes, at most max_model_file_bytes; throws model_error
/// ("cannot open: No such file or directory", "empty file", "too large").
std::string read_model_bytes(const std::string& path);

} // namespace stream_smarts::dlib_regression
