// Errors about a user's files, each with the place it refers to.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace stream_smarts::runtime {

/// A place in a file; line and column are 1-based, 0 when unknown.
struct location {
  std::string file;
  int line = 0;
  int column = 0;
};

/// "file:line:column: message" (or "file: message" without a position).
struct diagnostic {
  location where;
  std::string message;
  std::string to_string() const;
};

/// Collects every problem found, so one run of `validate` shows them all.
class diagnostics {
public:
  void error(location where, std::string message) { items_.push_back({std::move(where), std::move(message)}); }
  bool empty() const { return items_.empty(); }
  const std::vector<diagnostic>& items() const { return items_; }
  std::string to_string() const;  ///< one diagnostic per line

private:
  std::vector<diagnostic> items_;
};

/// Thrown when a file cannot be used; what() has every diagnostic, one per line.
class config_error : public std::runtime_error {
public:
  explicit config_error(const diagnostics& d) : std::runtime_error(d.to_string()), diagnostics_(d) {}
  const diagnostics& details() const { return diagnostics_; }

private:
  diagnostics diagnostics_;
};

} // namespace stream_smarts::runtime
