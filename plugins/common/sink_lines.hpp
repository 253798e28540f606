// The console and file sinks' lines: their `format` and message options,
// declared once, and the choice for each event among a JSON object, the line
// someone wrote (a message template) and the standard sentence.
#pragma once

#include <common/alert_lines.hpp>
#include <messages.hpp>

#include <stream_smarts/options.hpp>
#include <stream_smarts/time.hpp>

#include <string>
#include <vector>

namespace stream_smarts::alert_lines {

inline option_spec format_option() {
  return optional_option("format", option_type::string, std::string("text"),
                         "\"text\": a sentence per event; \"json\": one JSON object per line.", {"text", "json"});
}

/// A sink's own options (format_option() among them), then the three message options.
inline std::vector<option_spec> with_message_options(std::vector<option_spec> own) {
  const auto texts =
      notification::message_options_without_defaults("Not set: the standard line. Only for format = \"text\".");
  own.insert(own.end(), texts.begin(), texts.end());
  return own;
}

/// Appends an event's line as the sink's options say.
class line_writer {
public:
  line_writer(const options& o, const time_zone& zone)
      : json_(o.string("format") == "json"), zone_(&zone), messages_(o, zone) {
    if (json_) notification::refuse_messages(o, "is for format = \"text\"; a JSON line has every field already");
  }

  void append(std::string& out, const alert& a) const {
    if (json_) append_json_line(out, a);
    else if (const auto text = messages_.render(a)) append_message_line(out, text->message);
    else append_text_line(out, a, *zone_);
  }

private:
  bool json_;
  const time_zone* zone_;  ///< the pipeline's, for "since 01:00"
  notification::messages messages_;  ///< the line of each kind of alert someone wrote, if any
};

} // namespace stream_smarts::alert_lines
