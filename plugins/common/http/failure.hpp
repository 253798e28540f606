// What a failed notification means for the runtime and for the person
// reading the log: retry later (connection errors, timeouts, HTTP 5xx, 429)
// or give up with one message saying what to fix (a rejected token, an
// untrusted certificate). Messages never carry a secret, whole or in part.
#pragma once

#include <stream_smarts/plugin.hpp>

#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::http {

/// What one HTTP status means coming from a service, in the user's words:
/// {401, "rejected the access token", "check the token option"}.
struct refusal {
  long status = 0;
  std::string what;
  std::string fix;
  bool retryable = false;  ///< a 4xx that waiting can mend (Home Assistant's 400 while it starts)
};

/// A service as its error messages name it.
struct service {
  std::string name;                  ///< "Pushbullet", as its users know it
  std::vector<std::string> secrets;  ///< never shown: tokens, a webhook URL
  std::vector<refusal> refusals;     ///< its own meaning of some 4xx statuses
  std::string url_option = "base_url";  ///< the option to check when the address is wrong
};

/// An HTTP answer, whatever its status.
struct answer {
  long status = 0;
  std::string body;                           ///< at most the first 64 KiB
  std::chrono::milliseconds retry_after{0};   ///< from a Retry-After header; 0 if none
  bool cut_off = false;  ///< a success status came, then the connection failed: the body is partial
  bool body_cut = false; ///< the body was longer than what is kept (64 KiB)
};

/// HTTP 2xx.
bool is_success(long status);

/// `text` with every secret, and every long piece of one, replaced by "[secret]".
std::string without_secrets(std::string text, const std::vector<std::string>& secrets);

/// `text` with the login of every address in it masked: "http://[secret]@host/..."
/// (a base_url, or a proxy's address in libcurl's message).
std::string without_logins(std::string text);

/// What of an answer's body is worth showing: a JSON error message
/// (error.message, error, message) or the text itself, on one line, at most
/// 160 bytes, without secrets. Empty for an empty body.
std::string excerpt(std::string_view body, const std::vector<std::string>& secrets);

/// A Retry-After value, seconds ("30") or an HTTP-date, as a wait from `now`;
/// 0 if it is absent, unreadable or in the past.
std::chrono::milliseconds parse_retry_after(std::string_view value, std::time_t now);

/// One message for every failure: "Pushbullet rejected the access token
/// (HTTP 401, "Access token is missing or invalid."): check the token option".
/// `detail` (what the server or libcurl said; secrets are removed from it)
/// goes in the parentheses, `fix` after the colon; both may be empty.
delivery_error refused(const service& s, const std::string& what, const std::string& detail, const std::string& fix,
                       bool retryable, std::chrono::milliseconds retry_after = std::chrono::milliseconds{0});

/// Nothing for a 2xx answer; otherwise the delivery_error its status means.
std::optional<delivery_error> failure_of(const answer& a, const service& s);

/// A transfer that got no answer (libcurl's code and its message): retryable,
/// except an untrusted certificate, an unreadable ca_file or a bad URL.
delivery_error transfer_failure(int curl_code, const std::string& curl_message, const service& s);

} // namespace stream_smarts::http
