#include "output.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace stream_smarts::runtime {

std::string csv_field(const std::string& value) {
  constexpr std::string_view blank = " \t";
  const bool padded = !value.empty() && (blank.find(value.front()) != std::string_view::npos ||
                                         blank.find(value.back()) != std::string_view::npos);
  if (value.find_first_of(",\"\r\n") == std::string::npos && !padded) return value;
  std::string quoted = "\"";
  for (char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string shortest(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

void write_output(const std::string& path, const std::function<void(std::ostream&)>& write) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) write(out);
  if (!out.flush()) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
}

} // namespace stream_smarts::runtime
