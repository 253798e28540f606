#include "messages.hpp"

#include <utility>

namespace stream_smarts::notification {

namespace {

/// The three options, declared here only; `unset` ends each description of
/// options without a default.
std::vector<option_spec> declare(option_value raised, option_value reminder, option_value resolved,
                                 const std::string& unset) {
  const std::string fields = " Fields: " + field_list() + "; {{ and }} are literal braces.";
  return {
      optional_option("message", option_type::string, std::move(raised),
                      "Text when usage becomes unusual." + fields + unset),
      optional_option("reminder_message", option_type::string, std::move(reminder),
                      "Text of a reminder while usage stays unusual; the same fields." + unset),
      optional_option("resolved_message", option_type::string, std::move(resolved),
                      "Text when usage is back to normal; the same fields." + unset),
  };
}

std::optional<message_template> template_of(const options& o, const std::string& option) {
  if (!o.has(option)) return std::nullopt;
  return std::optional<message_template>(std::in_place, option, o.string(option));
}

} // namespace

std::vector<option_spec> message_options(const texts& defaults) {
  return declare(defaults.raised, defaults.reminder, defaults.resolved, "");
}

std::vector<option_spec> message_options_without_defaults(const std::string& unset) {
  return declare({}, {}, {}, " " + unset);
}

option_spec title_option(const std::string& default_title) {
  return optional_option("title", option_type::string, default_title,
                         "Title of every notification; the same fields as message.");
}

void refuse_messages(const options& o, const std::string& why) {
  for (const char* option : {"message", "reminder_message", "resolved_message"})
    if (o.has(option)) throw option_error(option, why);
}

messages::messages(const options& o, const time_zone& zone)
    : zone_(&zone),
      title_(template_of(o, "title")),
      raised_(template_of(o, "message")),
      reminder_(template_of(o, "reminder_message")),
      resolved_(template_of(o, "resolved_message")) {}

std::optional<text> messages::render(const alert& a) const {
  const std::optional<message_template>& message = message_for(a.kind);
  if (!message) return std::nullopt;
  return text{title_ ? title_->render(a, *zone_) : std::string(), message->render(a, *zone_)};
}

const std::optional<message_template>& messages::message_for(alert_kind kind) const {
  static const std::optional<message_template> none;  // a scored reading that is not an alert
  switch (kind) {
    case alert_kind::raised: return raised_;
    case alert_kind::reminder: return reminder_;
    case alert_kind::resolved: return resolved_;
    case alert_kind::none: break;
  }
  return none;
}

} // namespace stream_smarts::notification
