// Reading a scorer's TOML model file, with the messages users see when it is
// missing or broken. A template on the plugin's own error type, so each
// scorer reports "model: PATH: ..." the same way.
#pragma once

#include "bounded_read.hpp"
#include "toml_text.hpp"

#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>
#include <stream_smarts/toml_keys.hpp>

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace stream_smarts::model_text {

/// The whole file; throws Error("cannot open: No such file or directory").
/// A model in TOML is a few KiB: past 16 MiB a file is none.
template <class Error>
std::string read_file(const std::string& path) {
  return bounded_read::file<Error>(path, 16u << 20, "(a model file is a few KiB)");
}

/// The document; throws Error("not valid TOML (line L, column C): what").
template <class Error>
toml::table parse(std::string_view text, std::string_view source_name) {
  if (const auto deep = toml_keys::too_deep(text))
    throw Error("not valid TOML (line " + std::to_string(deep->line) + ", column " + std::to_string(deep->column) +
                "): a key of more than " + std::to_string(toml_keys::max_parts) + " dotted parts");
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw Error("not valid TOML (line " + std::to_string(e.source().begin.line) + ", column " +
                std::to_string(e.source().begin.column) + "): " + std::string(e.description()));
  }
}

/// An integer only from a TOML integer; a number from an integer or a float.
template <class T>
std::optional<T> exact_or_number(toml::node_view<const toml::node> v) {
  if constexpr (std::is_integral_v<T>) return v.value_exact<T>();
  else return v.value<T>();
}

/// A key's value; throws Error("'hours' must be an integer") when missing or of another type.
/// An integer must be written as one: toml++'s value<int>() would convert
/// a float such as 5e124, out of range (undefined behaviour; found by fuzzing).
template <class T, class Error>
T required(const toml::table& t, std::string_view key, std::string_view what) {
  const auto v = exact_or_number<T>(t[key]);
  if (!v) throw Error("'" + std::string(key) + "' must be " + std::string(what));
  return *v;
}

/// Throws Error unless the document says `format = "FORMAT"` and a
/// `format_version` from `oldest` to `version` (`oldest` 0: only `version`).
template <class Error>
void check_format(const toml::table& t, std::string_view format, std::int64_t version, std::string_view scorer,
                  std::int64_t oldest = 0) {
  if (t["format"].value<std::string>() != std::string(format))
    throw Error("not a " + std::string(scorer) + " model (expected format = \"" + std::string(format) + "\")");
  oldest = oldest == 0 ? version : oldest;
  const auto v = t["format_version"].value_exact<std::int64_t>();
  if (!v || *v < oldest || *v > version)
    throw Error("unsupported format_version " + (v ? std::to_string(*v) : std::string("(none)")) +
                " (this plugin reads version " +
                (oldest == version ? std::to_string(version) : std::to_string(oldest) + " to " + std::to_string(version)) +
                ")");
}

// What a TOML model records of its training (members timezone, trained_from,
// trained_to, readings, reading_span_ms; loaded_model::record_training_span
// fills them): one place for the keys, for every scorer's model.

/// "format = ...", "format_version = N" and "timezone = ..." lines: what
/// check_format and read_provenance read back.
template <class Model>
std::string format_lines(std::string_view format, std::int64_t version, const Model& m) {
  using toml_text::toml_string;
  return "format = " + toml_string(format) + "\nformat_version = " + std::to_string(version) +
         "\ntimezone = " + toml_string(m.timezone) + "\n";
}

/// "trained_from = ...", "trained_to = ...", "readings = N" and
/// "reading_span_ms = N" (when the readings said) lines.
template <class Model>
std::string training_span_lines(const Model& m) {
  using toml_text::toml_string;
  return "trained_from = " + toml_string(m.trained_from) + "\ntrained_to = " + toml_string(m.trained_to) +
         "\nreadings = " + std::to_string(m.readings) + "\n" +
         (m.reading_span_ms > 0 ? "reading_span_ms = " + std::to_string(m.reading_span_ms) + "\n" : "");
}

/// Provenance only: a hand-written model may leave these keys out.
template <class Model>
void read_provenance(const toml::table& t, Model& m) {
  m.timezone = t["timezone"].value_or(std::string());
  m.trained_from = t["trained_from"].value_or(std::string());
  m.trained_to = t["trained_to"].value_or(std::string());
  m.readings = t["readings"].value_or(std::int64_t{0});
  m.reading_span_ms = t["reading_span_ms"].value_or(std::int64_t{0});  // 0: older models said nothing
}

} // namespace stream_smarts::model_text
