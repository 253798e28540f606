// Errors about a user's files, each with the place it refers to.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>
#include <tuple>
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

/// A warning as a log line says it, whose level says "warning" already:
/// "file:line:column: message".
std::string log_text(const diagnostic& warning);

/// Collects every problem found, so one run of `validate` shows them all:
/// errors, which make a file unusable, and warnings, which do not.
/// Each list is kept in the order of the places in the file (a table's keys
/// are checked in name order), those without a line first.
class diagnostics {
public:
  void error(location where, std::string message) { add(errors_, {std::move(where), std::move(message)}); }
  /// Said as "file:line:column: warning: message".
  void warning(location where, std::string message) {
    add(warnings_, {std::move(where), "warning: " + std::move(message)});
  }
  bool has_errors() const { return !errors_.empty(); }
  const std::vector<diagnostic>& errors() const { return errors_; }
  const std::vector<diagnostic>& warnings() const { return warnings_; }
  std::string to_string() const;  ///< one error per line

private:
  static void add(std::vector<diagnostic>& list, diagnostic d) {
    const auto after = std::upper_bound(list.begin(), list.end(), d, [](const diagnostic& a, const diagnostic& b) {
      return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
    });
    list.insert(after, std::move(d));
  }

  std::vector<diagnostic> errors_;
  std::vector<diagnostic> warnings_;
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
