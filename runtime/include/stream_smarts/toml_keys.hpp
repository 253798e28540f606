// A guard to run before toml++ parses a file someone else may have written
// (a pipeline, a model). toml++ 3.3 (Debian bookworm's) parses a dotted key
// or table header by recursion, one level a part: `a.a.a...` of ~35,000
// parts overflows an 8 MiB stack and the process dies on SIGSEGV. toml++
// 3.4 refuses keys deeper than TOML_MAX_DOTTED_KEYS_DEPTH (1024); this does
// the same, first.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string_view>

namespace stream_smarts::toml_keys {

/// The most dotted parts a key may have, as toml++ 3.4 allows.
inline constexpr std::size_t max_parts = 1024;

/// Where a key with too many parts starts (1-based, as toml++ counts).
struct place {
  std::size_t line = 0, column = 0;
};

namespace detail {
inline bool is_bare(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Past one key part at `at` (bare, "basic" or 'literal'); false if none is there.
inline bool skip_part(std::string_view line, std::size_t& at) {
  if (at >= line.size()) return false;
  const char c = line[at];
  if (c == '"' || c == '\'') {
    for (++at; at < line.size() && line[at] != c; ++at)
      if (c == '"' && line[at] == '\\') ++at;  // an escaped character, whatever it is
    if (at >= line.size()) return false;
    ++at;
    return true;
  }
  const std::size_t start = at;
  while (at < line.size() && is_bare(line[at])) ++at;
  return at > start;
}

// How many dotted parts the key that starts `line` has (a key/value pair's,
// or a [table] / [[array]] header's); 0 if the line starts no key.
inline std::size_t key_parts(std::string_view line, std::size_t& start) {
  std::size_t at = line.find_first_not_of(" \t");
  if (at == std::string_view::npos) return 0;
  while (at < line.size() && line[at] == '[') ++at;
  start = at;
  std::size_t parts = 0;
  for (;;) {
    at = std::min(line.find_first_not_of(" \t", at), line.size());
    if (!skip_part(line, at)) return parts;
    ++parts;
    at = std::min(line.find_first_not_of(" \t", at), line.size());
    if (at >= line.size() || line[at] != '.' || parts > max_parts) return parts;
    ++at;
  }
}
} // namespace detail

/// The first key in `text` with more than max_parts dotted parts, if any.
/// Lines inside multi-line strings or arrays are read as if they started a
/// key: only text made of nothing but a thousand dotted names is taken for one.
inline std::optional<place> too_deep(std::string_view text) {
  std::size_t line_number = 0;
  for (std::size_t begin = 0; begin <= text.size();) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    ++line_number;
    std::size_t start = 0;
    if (detail::key_parts(text.substr(begin, end - begin), start) > max_parts) return place{line_number, start + 1};
    begin = end + 1;
  }
  return std::nullopt;
}

} // namespace stream_smarts::toml_keys
