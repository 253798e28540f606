#include "failure.hpp"

#include "json_body.hpp"
#include "json_lookup.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace stream_smarts::http {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t excerpt_bytes = 160;
// A piece of a secret this long is hidden too (a service echoing the start
// of a token, the key part of a webhook URL); shorter ones are ordinary text.
constexpr std::size_t secret_piece = 8;
// A Retry-After beyond this is taken as this: a day is already "not today".
constexpr std::int64_t max_retry_after_s = 24 * 3600;

/// Length of the longest prefix of text[at..] that occurs in `secret`.
std::size_t secret_prefix(const std::string& text, std::size_t at, const std::string& secret) {
  std::size_t n = 0;
  while (at + n < text.size() && secret.find(std::string_view(text).substr(at, n + 1)) != std::string::npos) ++n;
  return n;
}

/// Whitespace and control character runs (newlines, NULs: a NUL would end
/// the message where what() is read as a C string) as one space, trimmed.
std::string one_line(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const bool space = c == ' ' || (static_cast<unsigned char>(c) < 0x20) || c == '\x7f';
    if (!space) out += c;
    else if (!out.empty() && out.back() != ' ') out += ' ';
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

/// At most `bytes` bytes, "..." if cut.
std::string shortened(std::string text, std::size_t bytes) {
  return text.size() <= bytes ? text : utf8_prefix(std::move(text), bytes) + "...";
}

bool is_retryable(long status) { return status == 408 || status == 429 || status >= 500; }

std::string http_detail(const answer& a, const std::vector<std::string>& secrets) {
  std::string detail = "HTTP " + std::to_string(a.status);
  if (a.retry_after.count() > 0)
    detail += ", retry after " + std::to_string((a.retry_after.count() + 999) / 1000) + " s";
  const std::string said = excerpt(a.body, secrets);
  return said.empty() ? detail : detail + ", \"" + said + "\"";
}

/// What a status means when the service gave it no meaning of its own.
refusal generic_refusal(long status, const service& s) {
  if (status == 429) return {status, "asks to slow down", ""};
  if (status == 408) return {status, "timed out waiting for the notification", ""};
  if (status >= 500) return {status, "had a server error", ""};
  if (status >= 300 && status < 400)
    return {status, "answered with a redirect", "check " + s.url_option + " (https:// where it says http://?)"};
  if (status == 404) return {status, "has no such address", "check " + s.url_option};
  return {status, "refused the notification", ""};
}

} // namespace

std::string without_logins(std::string text) {
  for (std::size_t scheme = text.find("://"); scheme != std::string::npos; scheme = text.find("://", scheme + 3)) {
    const std::size_t host = scheme + 3;
    const std::size_t end = std::min(text.find_first_of("/?#'\" \t<>", host), text.size());
    const std::size_t at = text.rfind('@', end - 1);
    if (at != std::string::npos && at >= host && at < end) text.replace(host, at - host, "[secret]");
  }
  return text;
}

std::string without_secrets(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    const std::size_t hidden = std::min(secret.size(), secret_piece);
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
      const std::size_t n = secret_prefix(text, i, secret);
      if (n >= hidden) {
        out += "[secret]";
        i += n;
      } else {
        out += text[i++];
      }
    }
    text = std::move(out);
  }
  return text;
}

std::string excerpt(std::string_view body, const std::vector<std::string>& secrets) {
  std::string said;
  for (const auto& path : {std::vector<std::string_view>{"error", "message"}, {"error"}, {"message"}}) {
    if (auto found = json_scalar(body, path)) {
      said = std::move(*found);
      break;
    }
  }
  // A page's text may come after much indentation: collapse it first, then
  // hide secrets before cutting (a cut secret is harder to spot), in bounded time.
  const std::string_view text = said.empty() ? body.substr(0, 16 * 1024) : std::string_view(said);
  return shortened(without_secrets(one_line(text).substr(0, 4 * excerpt_bytes), secrets), excerpt_bytes);
}

milliseconds parse_retry_after(std::string_view value, std::time_t now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return milliseconds{0};
  std::int64_t seconds = 0;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {  // a number of seconds
    if (std::from_chars(value.data(), value.data() + value.size(), seconds).ec != std::errc{})
      seconds = max_retry_after_s;  // too many digits for an int64: "a long time"
  } else {
    const std::time_t at = curl_getdate(std::string(value).c_str(), nullptr);
    if (at == -1) return milliseconds{0};
    seconds = static_cast<std::int64_t>(at) - static_cast<std::int64_t>(now);
  }
  return milliseconds{std::clamp<std::int64_t>(seconds, 0, max_retry_after_s) * 1000};
}

delivery_error refused(const service& s, const std::string& what, const std::string& detail, const std::string& fix,
                       bool retryable, milliseconds retry_after) {
  // Only the detail comes from outside (a server, libcurl); the rest is ours
  // and may well hold a digit run that is also in a token.
  std::string message = s.name + " " + what;
  if (!detail.empty()) message += " (" + without_secrets(without_logins(detail), s.secrets) + ")";
  if (!fix.empty()) message += ": " + fix;
  return delivery_error(message, retryable, retry_after);
}

bool is_success(long status) { return status >= 200 && status < 300; }

std::optional<delivery_error> failure_of(const answer& a, const service& s) {
  if (is_success(a.status)) return std::nullopt;
  const auto own = std::find_if(s.refusals.begin(), s.refusals.end(), [&](const refusal& r) { return r.status == a.status; });
  const refusal meaning = own != s.refusals.end() ? *own : generic_refusal(a.status, s);
  return refused(s, meaning.what, http_detail(a, s.secrets), meaning.fix, meaning.retryable || is_retryable(a.status),
                 a.retry_after);
}

delivery_error transfer_failure(int curl_code, const std::string& curl_message, const service& s) {
  switch (curl_code) {
    case CURLE_PEER_FAILED_VERIFICATION:
      // A Pi boots with the time it shut down at, or 1970: a certificate is
      // then "not yet valid" until NTP sets the clock, so retry. One that has
      // expired needs renewing: a clock behind does not make that.
      if (curl_message.find("not yet valid") != std::string::npos)
        return refused(s, "answered with a TLS certificate that is not valid at this machine's time", curl_message,
                       "check the system clock (NTP): a Raspberry Pi has no clock of its own", true);
      if (curl_message.find("expired") != std::string::npos)
        return refused(s, "answered with a TLS certificate that has expired", curl_message,
                       "renew the service's certificate (and ca_file, if it is that one)", false);
      if (curl_message.find("host name") != std::string::npos || curl_message.find("hostname") != std::string::npos)
        return refused(s, "answered with a TLS certificate made for another name", curl_message,
                       "write " + s.url_option + " with the host name the certificate was made for (not an IP "
                       "address, unless it names that address)", false);
      return refused(s, "answered with a TLS certificate that could not be verified", curl_message,
                     "if it uses a certificate of its own (self-signed), set ca_file to that certificate "
                     "(verification cannot be turned off)",
                     false);
    case CURLE_SSL_CACERT_BADFILE:
      return refused(s, "could not be checked", curl_message, "ca_file must be a PEM file with the certificate", false);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return refused(s, "could not be reached", curl_message, "check " + s.url_option, false);
    case CURLE_OPERATION_TIMEDOUT:
      return refused(s, "did not answer in time", curl_message, "", true);
    case CURLE_COULDNT_RESOLVE_PROXY:
      if (curl_message.find("proxy syntax") != std::string::npos)  // a typo is not a network outage
        return refused(s, "could not be reached", curl_message,
                       "check the proxy variable (https_proxy, http_proxy or all_proxy)", false);
      return refused(s, "could not be reached", curl_message, "", true);
    default:
      if (curl_message.find("response 407") != std::string::npos)
        return refused(s, "could not be reached: the proxy asks for a login", curl_message,
                       "give it in the proxy variable, http://user:password@host:port", false);
      return refused(s, "could not be reached", curl_message, "", true);
  }
}

} // namespace stream_smarts::http
