// The texts of a notification sink: one template per kind of alert (raised,
// reminder, resolved), declared as options with defaults that suit how the
// sink is read: written on a phone or in a chat, or spoken by a speaker.
// The console and file sinks declare them too, without defaults: a kind
// whose message is not set gets their standard line.
#pragma once

#include "message_template.hpp"

#include <stream_smarts/options.hpp>

#include <optional>
#include <string>
#include <vector>

namespace stream_smarts::notification {

/// Default texts for the three kinds of alert.
struct texts {
  std::string raised, reminder, resolved;
};

/// For a phone or a chat; the raised one reads like the original notifier.
inline const texts written{
    "Unusual power usage of {wh} Wh at {time}. Please check!",
    "Power usage has been unusual since {since}: {wh} Wh at {time}. Please check!",
    "Power usage back to normal: {wh} Wh at {time} (unusual since {since}).",
};

/// Sentences that sound right read aloud: units in words, no symbols.
inline const texts spoken{
    "Unusual power use: {wh} watt hours in the hour from {time}, where up to {expected_hi} {expected_unit_words} "
    "is usual. Did you leave something on?",
    "Power use has been unusual since {since}: {wh} watt hours in the hour from {time}. Did you leave something on?",
    "Power use is back to normal, after being unusual since {since}.",
};

/// `message`, `reminder_message` and `resolved_message`, with these defaults.
std::vector<option_spec> message_options(const texts& defaults);

/// The same options without defaults, for a sink with words of its own for
/// an alert whose message is not set (the console and file sinks' standard
/// line); `unset` ends their descriptions, saying what that is.
std::vector<option_spec> message_options_without_defaults(const std::string& unset);

/// Throws option_error(why) for the first of those options that is set: for
/// a sink whose options make it write no text (console's format = "json").
void refuse_messages(const options& o, const std::string& why);

/// `title`: one template for every kind of alert.
option_spec title_option(const std::string& default_title);

/// One notification's words.
struct text {
  std::string title;    ///< empty for a sink without a title option
  std::string message;
};

/// The templates of a sink (its three messages, and its title if it declares
/// one), parsed once from its options.
class messages {
public:
  /// Throws option_error naming the template that does not parse.
  messages(const options& o, const time_zone& zone);

  /// The words for an alert; nothing for a scored reading that is not one
  /// (receive = "all"), which is not worth a notification, or for a kind
  /// whose message is not set (options without defaults), which the sink
  /// says in its own words.
  std::optional<text> render(const alert& a) const;

private:
  const std::optional<message_template>& message_for(alert_kind kind) const;

  const time_zone* zone_;
  std::optional<message_template> title_;
  std::optional<message_template> raised_, reminder_, resolved_;  ///< nothing: not set
};

} // namespace stream_smarts::notification
