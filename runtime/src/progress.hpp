// A one-line progress bar on stderr for long offline work, drawn only when
// stderr is a terminal (a log file or CI output gets nothing of it).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace stream_smarts::runtime {

class progress_bar {
public:
  /// `phases`: how many phase() calls the work has, for the "[2/4]" prefix.
  explicit progress_bar(int phases);
  ~progress_bar() { finish(); }
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  void phase(std::string name);
  /// How far the current phase is, 0..1.
  void fraction(double done);
  /// For a phase whose end is unknown (reading a stream): a running count.
  void count(std::size_t items, const char* what);
  /// Clears the line, so what is printed next starts clean.
  void finish();

private:
  void draw(const std::string& tail, bool force);

  bool enabled_;
  int phases_, phase_ = 0;
  std::string name_;
  std::chrono::steady_clock::time_point last_draw_{};
};

} // namespace stream_smarts::runtime
