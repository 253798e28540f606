// The HTTP client the notification sinks share: one libcurl handle per sink,
// kept for the sink's life so the connection (and its TLS session) is
// reused from one notification to the next.
//
// Always verifies TLS (an own certificate is trusted through ca_file, never
// by turning verification off); honours the usual proxy variables
// (https_proxy, http_proxy, no_proxy), as libcurl does by default.
#pragma once

#include "failure.hpp"

#include <stream_smarts/plugin.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::http {

/// base_url (with the sink's own default and words for it), connect_timeout,
/// timeout, ca_file: appended to each HTTP sink's options.
std::vector<option_spec> client_options(const std::string& default_base_url, const std::string& base_url_description);

/// Why libcurl cannot use `url` (a space, a port that is no number, no
/// host), in words that follow an option's name; empty if it can.
std::string url_problem(const std::string& url);

/// An optional string option's value; empty if it was left out.
inline std::string optional_string(const options& o, std::string_view name) {
  return o.has(name) ? o.string(name) : std::string();
}

class client {
public:
  /// Reads and checks the options of client_options() (option_error naming
  /// the option). `headers` go with every request ("Access-Token: ...");
  /// the secrets in them must be in `who.secrets`.
  client(stage_context& context, service who, const std::vector<std::string>& headers);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// base_url followed by `path` ("/v2/pushes").
  std::string url(std::string_view path) const { return base_url_ + std::string(path); }

  /// POSTs `json` to `url` and returns the 2xx answer; throws delivery_error
  /// for anything else (no answer, or another status).
  answer post_json(const std::string& url, const std::string& json);

  const http::service& service() const { return service_; }

private:
  struct handle;
  stage_context& context_;
  http::service service_;
  std::string base_url_;
  std::unique_ptr<handle> handle_;
};

} // namespace stream_smarts::http
