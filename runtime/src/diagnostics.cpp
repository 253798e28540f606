#include "diagnostics.hpp"

#include "log.hpp"

namespace stream_smarts::runtime {

std::string diagnostic::to_string() const {
  std::string out = where.file;
  if (where.line > 0) out += ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
  // Messages may quote the bytes of a data file: escaped, they can neither
  // drive the terminal nor look like another line.
  return text_escape(out + ": " + message);
}

std::string log_text(const diagnostic& warning) {
  constexpr std::string_view prefix = "warning: ";
  diagnostic bare = warning;
  if (bare.message.rfind(prefix, 0) == 0) bare.message.erase(0, prefix.size());
  return bare.to_string();
}

std::string diagnostics::to_string() const {
  std::string out;
  for (const auto& d : errors_) {
    if (!out.empty()) out += '\n';
    out += d.to_string();
  }
  return out;
}

} // namespace stream_smarts::runtime
