// Reading a scorer's TOML model file, with the messages users see when it is
// missing or broken. A template on the plugin's own error type, so each
// scorer reports "model: PATH: ..." the same way.
#pragma once

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>

namespace stream_smarts::model_text {

/// The whole file; throws Error("cannot open: No such file or directory").
template <class Error>
std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(std::string("cannot open: ") + std::strerror(EISDIR));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot open: ") + std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw Error(std::string("cannot read: ") + std::strerror(errno));
  return text;
}

/// The document; throws Error("not valid TOML (line L, column C): what").
template <class Error>
toml::table parse(std::string_view text, std::string_view source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw Error("not valid TOML (line " + std::to_string(e.source().begin.line) + ", column " +
                std::to_string(e.source().begin.column) + "): " + std::string(e.description()));
  }
}

} // namespace stream_smarts::model_text
