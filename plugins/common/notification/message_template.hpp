// Notification texts people write themselves: "Unusual power usage of {wh}
// Wh at {time}. Please check!". Parsed once, when the sink is made, so a
// misspelt field is reported by `validate` at the option's line, not at the
// first alert.
#pragma once

#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::notification {

/// What a {field} stands for.
enum class field : std::uint8_t {
  literal,        ///< not a field: text as written
  wh,             ///< energy, whole Wh: "1500"
  hour,           ///< local hour 0..23: "4"
  time,           ///< local H:MM of the reading: "4:00"
  date,           ///< local YYYY-MM-DD of the reading
  score,          ///< two decimals: "5.38"
  expected_lo,    ///< whole Wh (or W: expected_unit)
  expected_hi,    ///< whole Wh (or W: expected_unit)
  expected_unit,  ///< what the range is in: "Wh", or "W" for a scorer judging power (power_step)
  expected_unit_words,  ///< the same, to be read aloud: "watt hours", "watts"
  scorer,         ///< the scorer stage's name
  meter,          ///< the meter's name
  since,          ///< local H:MM the unusual usage began (alert::since_ms; the reading's own time if none),
                  ///< "H:MM on YYYY-MM-DD" once that is a day or more before the reading
  end,            ///< local H:MM the reading ends (its ts plus its span): when a trailing hour was read
  status,         ///< what this alert says of the usage: "unusual", "still unusual", "back to normal"
};

/// "{wh}, {hour}, ... {since}": every field, for messages and documentation.
std::string field_list();

class message_template {
public:
  /// Parses `text`. Throws option_error(option, ...) for an unknown field
  /// (naming it and listing the valid ones), a brace left open or closing
  /// nothing, or an empty text. {{ and }} are literal braces.
  message_template(const std::string& option, std::string_view text);

  /// The text for an alert; {since} and {end} are converted to local time in `zone`.
  std::string render(const alert& a, const time_zone& zone) const;

private:
  struct piece {
    field what = field::literal;
    std::string text;  ///< for literal pieces
  };
  void add_literal(std::string_view text);
  std::vector<piece> pieces_;
};

} // namespace stream_smarts::notification
