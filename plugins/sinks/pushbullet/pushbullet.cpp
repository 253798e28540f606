// The Pushbullet sink: each alert becomes a push (a note) on your phone and
// other devices, sent at once through Pushbullet's API.
#include <client.hpp>
#include <json_body.hpp>
#include <messages.hpp>

#include <stream_smarts/plugin.hpp>

namespace {

using namespace stream_smarts;

std::vector<option_spec> declared_options() {
  std::vector<option_spec> o{
      required_option("token", option_type::secret,
                      "Pushbullet access token (Settings > Account > Create Access Token)."),
      optional_option("device_iden", option_type::string, {},
                      "Push to this one device (its iden); without it, to all of your devices."),
      notification::title_option("Power usage {status} at {meter}"),
  };
  const auto texts = notification::message_options(notification::written);
  const auto client = http::client_options("https://api.pushbullet.com",
                                           "Pushbullet's API; another address only for a test server or a relay.");
  o.insert(o.end(), texts.begin(), texts.end());
  o.insert(o.end(), client.begin(), client.end());
  return o;
}

http::service pushbullet(const std::string& token, bool to_one_device) {
  const std::string check_token = "check the token option (or token_file, or the variable it names)";
  return {"Pushbullet",
          {token},
          {
              // Its own words say what was wrong; device_iden is the one thing of ours it may refuse.
              {400, "refused the push", to_one_device ? "check device_iden" : ""},
              {401, "rejected the access token", check_token},
              {403, "refused the access token", check_token + "; a new token may be needed"},
          }};
}

class pushbullet_sink final : public sink {
public:
  explicit pushbullet_sink(stage_context& ctx)
      : device_(http::optional_string(ctx.options(), "device_iden")),
        messages_(ctx.options(), ctx.zone()),
        client_(ctx, pushbullet(ctx.options().string("token"), !device_.empty()),
                {"Access-Token: " + ctx.options().string("token")}),
        url_(client_.url("/v2/pushes")) {
    if (ctx.options().has("device_iden") && device_.empty())
      throw option_error("device_iden", "is empty; leave it out to push to all devices");
  }

  /// Returns once Pushbullet has the push; the chunk's flush() has nothing left to do.
  void write(const alert& a) override {
    if (const auto text = messages_.render(a)) client_.post_json(url_, body(*text));
  }

private:
  std::string body(const notification::text& text) const {
    std::string out = "{";
    http::append_member(out, "type", "note");
    http::append_member(out, "title", text.title);
    http::append_member(out, "body", text.message);
    if (!device_.empty()) http::append_member(out, "device_iden", device_);
    return out + "}";
  }

  std::string device_;
  notification::messages messages_;
  http::client client_;
  std::string url_;
};

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::sink_plugin<pushbullet_sink>(
    {"pushbullet", {}, "0.1.0", "Sends each alert as a Pushbullet push to your phone and other devices",
     declared_options()}))
