// The Home Assistant text-to-speech sink: each alert is spoken aloud by a
// speaker Home Assistant knows, through its REST API, either with tts.speak
// (a TTS engine entity speaks on a media player) or with a legacy
// tts.<engine>_say service.
#include <client.hpp>
#include <json_body.hpp>
#include <messages.hpp>

#include <stream_smarts/plugin.hpp>

#include <algorithm>

namespace {

using namespace stream_smarts;
using http::optional_string;

constexpr const char* speak = "speak";

std::vector<option_spec> declared_options() {
  std::vector<option_spec> o{
      required_option("token", option_type::secret,
                      "Home Assistant long-lived access token (your profile > Security > Long-lived access tokens)."),
      optional_option("service", option_type::string, std::string(speak),
                      "The tts service to call: \"speak\" (tts.speak, with tts_entity), or a legacy one ending in "
                      "_say, e.g. \"google_translate_say\"."),
      optional_option("tts_entity", option_type::string, {},
                      "The TTS engine entity tts.speak uses, e.g. \"tts.google_translate_en_com\" (service = "
                      "\"speak\" only)."),
      required_option("media_player", option_type::string,
                      "The media player entity that speaks, e.g. \"media_player.kitchen\" (or several, comma separated)."),
      optional_option("language", option_type::string, {}, "Language of the speech, e.g. \"en\" (default: the engine's)."),
  };
  const auto texts = notification::message_options(notification::spoken);
  const auto client = http::client_options(
      "http://homeassistant.local:8123",
      "Home Assistant's address, as you open it in a browser (https:// with ca_file for a certificate of its own).");
  o.insert(o.end(), texts.begin(), texts.end());
  o.insert(o.end(), client.begin(), client.end());
  return o;
}

/// What to call and with which entities, as the options say.
struct call {
  std::string service, tts_entity, player, language;
};

bool is_service_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

/// "media_player.kitchen" or several, comma separated, as Home Assistant takes them.
bool are_media_players(const std::string& players) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = players.find(',', start);
    std::string one = players.substr(start, comma - start);
    one.erase(0, one.find_first_not_of(' '));
    if (one.rfind("media_player.", 0) != 0 || one.size() == 13) return false;
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

/// The options must fit the service: tts.speak needs a TTS engine entity, a
/// legacy *_say service brings its own engine.
call checked_call(const options& o) {
  call c{o.string("service"), optional_string(o, "tts_entity"), o.string("media_player"), optional_string(o, "language")};
  if (!is_service_name(c.service) || (c.service != speak && !ends_with(c.service, "_say")))
    throw option_error("service", "must be \"speak\" or a legacy service ending in _say (e.g. "
                                  "\"google_translate_say\"); got '" + c.service + "'");
  if (c.service == speak && c.tts_entity.empty())
    throw option_error("tts_entity", "is required with service = \"speak\": the TTS engine entity, e.g. "
                                     "\"tts.google_translate_en_com\" (Settings > Devices & services > Entities)");
  if (c.service == speak && (c.tts_entity.rfind("tts.", 0) != 0 || c.tts_entity.size() == 4))
    throw option_error("tts_entity", "must be a TTS engine entity (tts.something); got '" + c.tts_entity + "'");
  if (c.service != speak && !c.tts_entity.empty())
    throw option_error("tts_entity", "is only for service = \"speak\"; tts." + c.service + " speaks with its own engine");
  if (!are_media_players(c.player))
    throw option_error("media_player", "must be a media player entity (media_player.something, or several "
                                       "separated by commas); got '" + c.player + "'");
  if (o.has("language") && c.language.empty())
    throw option_error("language", "is empty; leave it out for the engine's own language");
  return c;
}

http::service home_assistant(const std::string& token, const std::string& service) {
  return {"Home Assistant",
          {token},
          {
              // Its answer to a service it does not have, also while it is
              // starting and has not loaded the TTS integration yet: retried.
              {400, "refused the call to tts." + service,
               "check service, tts_entity, media_player and language, unless Home Assistant is still starting", true},
              {401, "rejected the access token",
               "check the token option (a long-lived access token from your profile > Security)"},
              {403, "refused the access token", "is this host banned (ip_bans.yaml) or the token's user not allowed?"},
              {404, "has no such address", "check base_url: Home Assistant's own address, without /api"},
          }};
}

class ha_tts_sink final : public sink {
public:
  explicit ha_tts_sink(stage_context& ctx)
      : call_(checked_call(ctx.options())),
        messages_(ctx.options(), ctx.zone()),
        client_(ctx, home_assistant(ctx.options().string("token"), call_.service),
                {"Authorization: Bearer " + ctx.options().string("token")}),
        url_(client_.url("/api/services/tts/" + call_.service)) {}

  /// Returns once Home Assistant has taken the call; the chunk's flush() has nothing left to do.
  void write(const alert& a) override {
    if (const auto text = messages_.render(a)) client_.post_json(url_, body(text->message));
  }

private:
  std::string body(const std::string& message) const {
    std::string out = "{";
    if (call_.service == speak) {
      http::append_member(out, "entity_id", call_.tts_entity);
      http::append_member(out, "media_player_entity_id", call_.player);
    } else {
      http::append_member(out, "entity_id", call_.player);
    }
    http::append_member(out, "message", message);
    if (!call_.language.empty()) http::append_member(out, "language", call_.language);
    return out + "}";
  }

  call call_;
  notification::messages messages_;
  http::client client_;
  std::string url_;
};

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::sink_plugin<ha_tts_sink>(
    {"ha_tts", {}, "0.1.0", "Speaks each alert aloud on a speaker through Home Assistant's text-to-speech",
     declared_options()}))
