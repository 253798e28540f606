// The Slack sink: each alert becomes a message card in a channel, posted at
// once either to an incoming webhook or, with a bot token, through
// chat.postMessage.
#include <client.hpp>
#include <json_body.hpp>
#include <json_lookup.hpp>
#include <messages.hpp>

#include <stream_smarts/plugin.hpp>

#include <algorithm>

namespace {

using namespace stream_smarts;
using http::optional_string;

// Slack refuses a header block longer than this (in characters; bytes are never fewer).
constexpr std::size_t header_max_bytes = 150;
// Slack refuses a section or context text over 3000 characters (invalid_blocks):
// a meter named at length must not cost the alert. Bytes, so never more characters.
constexpr std::size_t text_max_bytes = 3000;
// The card's small print, from the same fields as the messages.
constexpr const char* card_context =
    "{date} {time} · meter *{meter}* · scorer *{scorer}* · score *{score}* · "
    "expected {expected_lo}–{expected_hi} {expected_unit}";

std::vector<option_spec> declared_options() {
  std::vector<option_spec> o{
      optional_option("webhook_url", option_type::secret, {},
                      "Incoming webhook of a Slack app (Features > Incoming Webhooks); posts to the channel it was "
                      "made for. Give this, or bot_token and channel."),
      optional_option("bot_token", option_type::secret, {},
                      "Bot token (xoxb-...) of a Slack app with the chat:write scope, invited to the channel; posts "
                      "with chat.postMessage."),
      optional_option("channel", option_type::string, {}, "With bot_token: #name, or an ID like C0123456789."),
      notification::title_option("Power usage {status} at {meter}"),
  };
  const auto texts = notification::message_options(notification::written);
  const auto client = http::client_options(
      "https://slack.com/api", "Slack's Web API, for bot_token; another address only for a test server or a relay.");
  o.insert(o.end(), texts.begin(), texts.end());
  o.insert(o.end(), client.begin(), client.end());
  return o;
}

/// Which of the two ways to post, as the options say; exactly one is set.
struct destination {
  std::string webhook_url, bot_token, channel;
};

destination checked_destination(const options& o) {
  destination d{optional_string(o, "webhook_url"), optional_string(o, "bot_token"), optional_string(o, "channel")};
  const char* either = "give webhook_url (an incoming webhook), or bot_token and channel";
  if (d.webhook_url.empty() && d.bot_token.empty()) throw option_error("webhook_url", either);
  if (!d.webhook_url.empty() && !d.bot_token.empty())
    throw option_error("bot_token", std::string("cannot go with webhook_url: ") + either);
  if (!d.webhook_url.empty()) {
    // Never quote it: the address is the secret.
    if (d.webhook_url.rfind("https://", 0) != 0 && d.webhook_url.rfind("http://", 0) != 0)
      throw option_error("webhook_url", "must be the webhook's https:// address (https://hooks.slack.com/services/...)");
    if (const std::string problem = http::url_problem(d.webhook_url); !problem.empty())
      throw option_error("webhook_url", problem);
    if (o.has("channel"))
      throw option_error("channel", "is only for bot_token: a webhook posts to the channel it was made for");
  } else if (d.channel.empty()) {
    throw option_error("channel", "is required with bot_token: #name, or an ID like C0123456789");
  }
  return d;
}

/// What in a webhook's address is the credential: its path (and a login
/// written into it), not its host, which "could not be reached" must show.
std::vector<std::string> webhook_secrets(const std::string& url) {
  const std::size_t host = url.find("://") + 3;  // checked: http:// or https://
  const std::size_t path = url.find('/', host);
  if (path == std::string::npos) return {url};
  std::vector<std::string> secrets{url.substr(path)};
  if (const std::size_t at = url.rfind('@', path); at != std::string::npos && at >= host)
    secrets.push_back(url.substr(host, at - host));
  return secrets;
}

http::service webhook_service(const std::string& webhook_url) {
  return {"Slack",
          webhook_secrets(webhook_url),
          {
              {400, "refused the message", ""},
              // Slack says 403 invalid_token; a proxy or a look-alike service in front of it, 401.
              {401, "refused the webhook", "check webhook_url (the app's Incoming Webhooks page)"},
              {403, "refused the webhook", "check webhook_url (the app's Incoming Webhooks page)"},
              {404, "does not know the webhook", "check webhook_url: were the webhook or its app removed?"},
              {410, "says the webhook's channel is archived", "unarchive it, or make a webhook for another channel"},
          },
          "webhook_url"};
}

http::service bot_service(const std::string& bot_token) {
  return {"Slack", {bot_token}, {}, "base_url"};
}

/// chat.postMessage's errors that a wait may mend (Slack's own trouble); any
/// other it would answer again, so the alert is given up at once rather than
/// holding back the next ones through every retry.
bool worth_a_retry(const std::string& error) {
  static constexpr std::string_view transient[] = {"internal_error", "fatal_error",  "service_unavailable",
                                                   "request_timeout", "ratelimited", "team_added_to_org"};
  // No error at all: not Slack's answer (a proxy's page), or cut short.
  return error.empty() || std::find(std::begin(transient), std::end(transient), error) != std::end(transient);
}

/// A chat.postMessage error Slack will answer again whatever the wait.
struct permanent_error {
  std::vector<std::string_view> codes;
  std::string what, fix;
};

std::vector<permanent_error> permanent_errors(const std::string& channel) {
  const std::string in = " '" + channel + "'";
  return {
      {{"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "not_allowed_token_type"},
       "rejected the bot token",
       "check the bot_token option (or bot_token_file, or the variable it names): the xoxb- token of an app installed "
       "in the workspace"},
      {{"channel_not_found"}, "has no channel" + in + " the bot can see",
       "check the channel option (#name or an ID like C0123456789; a private channel must invite the bot)"},
      {{"not_in_channel"}, "says the bot is not in channel" + in, "invite it there (/invite @your-app in the channel)"},
      {{"is_archived"}, "says channel" + in + " is archived", "unarchive it or choose another channel"},
      {{"missing_scope"}, "says the bot token lacks a permission",
       "add the chat:write scope (OAuth & Permissions) and reinstall the app"},
      {{"restricted_action"}, "says the workspace does not let the bot post in" + in, "ask a workspace admin"},
      {{"invalid_blocks", "invalid_arguments", "msg_too_long", "no_text"}, "refused the message",
       "check title and the message options"},
  };
}

/// Text for Slack's mrkdwn: &, < and > are its markup and must be escaped.
std::string mrkdwn(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

/// At most `bytes` of mrkdwn text, never half a character or half an escape
/// ("&a" of "&amp;" would show as text): every '&' in it starts one.
std::string mrkdwn_prefix(std::string text, std::size_t bytes) {
  text = http::utf8_prefix(std::move(text), bytes);
  const std::size_t amp = text.rfind('&');
  if (amp != std::string::npos && text.find(';', amp) == std::string::npos) text.erase(amp);
  return text;
}

/// {"type":"mrkdwn","text":"..."}: a text object of Slack's blocks.
std::string text_object(std::string_view type, const std::string& text) {
  std::string out = "{";
  http::append_member(out, "type", type);
  http::append_member(out, "text", text);
  return out + "}";
}

class slack_sink final : public sink {
public:
  explicit slack_sink(stage_context& ctx)
      : to_(checked_destination(ctx.options())),
        zone_(ctx.zone()),
        messages_(ctx.options(), ctx.zone()),
        context_("context", card_context),
        client_(ctx, to_.bot_token.empty() ? webhook_service(to_.webhook_url) : bot_service(to_.bot_token),
                to_.bot_token.empty() ? std::vector<std::string>{}
                                      : std::vector<std::string>{"Authorization: Bearer " + to_.bot_token}),
        url_(to_.bot_token.empty() ? to_.webhook_url : client_.url("/chat.postMessage")),
        permanent_(permanent_errors(to_.channel)) {}

  /// Returns once Slack has the message; the chunk's flush() has nothing left to do.
  void write(const alert& a) override {
    const auto text = messages_.render(a);
    if (!text) return;
    const http::answer answer = client_.post_json(url_, body(a, *text));
    if (!to_.bot_token.empty()) check_posted(answer);
  }

private:
  std::string body(const alert& a, const notification::text& text) const {
    std::string out = "{";
    if (!to_.channel.empty()) http::append_member(out, "channel", to_.channel);
    http::append_member(out, "text", mrkdwn(text.message));  // what notifications and old clients show
    http::append_key(out, "blocks");
    out += "[{\"type\":\"header\",\"text\":" +
           text_object("plain_text", http::utf8_prefix(text.title, header_max_bytes)) +
           "},{\"type\":\"section\",\"text\":" +
           text_object("mrkdwn", mrkdwn_prefix(mrkdwn(text.message), text_max_bytes)) +
           "},{\"type\":\"context\",\"elements\":[" +
           text_object("mrkdwn", mrkdwn_prefix(mrkdwn_context(a), text_max_bytes)) + "]}]";
    return out + "}";
  }

  // The fixed parts of the context are mrkdwn already; only names need escaping.
  std::string mrkdwn_context(const alert& a) const {
    alert escaped = a;
    escaped.scored.reading.meter = mrkdwn(a.scored.reading.meter);
    escaped.scored.scorer = mrkdwn(a.scored.scorer);
    return context_.render(escaped, zone_);
  }

  /// chat.postMessage answers HTTP 200 even when it did not post: {"ok": false, "error": "..."}.
  /// A 200 cut off, or too long to keep (it echoes the message it posted; a
  /// refusal is a few words), is a post made: sending it again would post twice.
  void check_posted(const http::answer& answer) const {
    if (answer.cut_off || answer.body_cut || http::json_scalar(answer.body, {"ok"}) == "true") return;
    const std::string error = http::excerpt(answer.body, client_.service().secrets);
    const auto known = std::find_if(permanent_.begin(), permanent_.end(), [&](const permanent_error& e) {
      return std::find(e.codes.begin(), e.codes.end(), error) != e.codes.end();
    });
    if (known != permanent_.end()) throw http::refused(client_.service(), known->what, error, known->fix, false);
    if (!worth_a_retry(error))
      throw http::refused(client_.service(), "did not post the message", error,
                          "see Slack's list of chat.postMessage errors (api.slack.com/methods/chat.postMessage)", false);
    throw http::refused(client_.service(), "did not post the message", error.empty() ? "no error given" : error, "",
                        true);
  }

  destination to_;
  const time_zone& zone_;
  notification::messages messages_;
  notification::message_template context_;
  http::client client_;
  std::string url_;
  std::vector<permanent_error> permanent_;
};

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::sink_plugin<slack_sink>(
    {"slack", {}, "0.1.0", "Posts each alert as a message card in a Slack channel (incoming webhook or bot)",
     declared_options()}))
