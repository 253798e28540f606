#include "messages.hpp"

namespace stream_smarts::notification {

std::vector<option_spec> message_options(const texts& defaults) {
  const std::string fields = " Fields: " + field_list() + "; {{ and }} are literal braces.";
  return {
      optional_option("message", option_type::string, defaults.raised,
                      "Text when usage becomes unusual." + fields),
      optional_option("reminder_message", option_type::string, defaults.reminder,
                      "Text of a reminder while usage stays unusual; the same fields."),
      optional_option("resolved_message", option_type::string, defaults.resolved,
                      "Text when usage is back to normal; the same fields."),
  };
}

option_spec title_option(const std::string& default_title) {
  return optional_option("title", option_type::string, default_title,
                         "Title of every notification; the same fields as message.");
}

messages::messages(const options& o, const time_zone& zone)
    : zone_(&zone),
      title_(o.has("title") ? std::optional<message_template>(std::in_place, "title", o.string("title")) : std::nullopt),
      raised_("message", o.string("message")),
      reminder_("reminder_message", o.string("reminder_message")),
      resolved_("resolved_message", o.string("resolved_message")) {}

std::optional<text> messages::render(const alert& a) const {
  if (a.kind == alert_kind::none) return std::nullopt;
  return text{title_ ? title_->render(a, *zone_) : std::string(), message_for(a.kind).render(a, *zone_)};
}

const message_template& messages::message_for(alert_kind kind) const {
  if (kind == alert_kind::reminder) return reminder_;
  if (kind == alert_kind::resolved) return resolved_;
  return raised_;
}

} // namespace stream_smarts::notification
