// Order statistics shared by the scorers' training code.
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace stream_smarts::statistics {

/// The p-th percentile (0..100) of non-empty sorted values, interpolating
/// linearly between closest ranks (numpy's default, Hyndman-Fan type 7), so
/// figures can be checked against a numpy one-liner.
inline double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) throw std::invalid_argument("percentile of no values");
  const double rank = (static_cast<double>(sorted.size()) - 1) * p / 100;
  const auto below = static_cast<std::size_t>(std::floor(rank));
  if (below + 1 >= sorted.size()) return sorted.back();
  const double fraction = rank - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

} // namespace stream_smarts::statistics
