// What the offline commands check of a history before judging it: the shapes
// of real exports that would otherwise train a model that never alerts, or
// give figures that flatter it, without a word.
#pragma once

#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>

#include <string>
#include <vector>

namespace stream_smarts::runtime {

/// Which of the history's reading options the user gave (--data-set).
struct history_givens {
  bool wh_unit = false;
  bool span = false;
};

/// Throws unusable_input for a history no command can judge: no readings,
/// several meters', numbers that look like kWh (unless wh_unit was given),
/// a meter's running index. Warns of what is probably a mistake: readings
/// closer together than their span, readings of many spans, runs of zeros,
/// readings beyond any house's supply, repeated times. `history` is
/// local-time filled (in `zone`), in time order.
void check_history(const std::vector<reading>& history, const history_givens& given, const time_zone& zone);

} // namespace stream_smarts::runtime
