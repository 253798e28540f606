#include "client.hpp"

#include <common/bounded_read.hpp>

#include <curl/curl.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace stream_smarts::http {
namespace {

using steady = std::chrono::steady_clock;

constexpr std::size_t max_body_bytes = 64 * 1024;  // enough for any error message; a huge answer is not kept

/// libcurl's global setup, once per process: this library is shared by every
/// HTTP sink, so two sinks starting together do not both run it.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("libcurl cannot be initialised");
  });
}

std::size_t keep_body(char* data, std::size_t size, std::size_t count, void* target) {
  auto* a = static_cast<answer*>(target);
  const std::size_t n = size * count;
  const std::size_t kept = std::min(n, max_body_bytes - std::min(max_body_bytes, a->body.size()));
  a->body.append(data, kept);
  a->body_cut = a->body_cut || kept < n;
  return n;  // the rest is read and dropped: stopping early would fail the transfer
}

} // namespace

std::string url_problem(const std::string& url) {
  init_curl_once();
  if (url.find_first_of(" \t\r\n") != std::string::npos)
    return "has a space in it (one at the end of an environment variable?)";
  // libcurl's own parser, so that what passes here is what it will connect to:
  // a port that is no number, no host.
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), curl_url_cleanup);
  if (!parsed) throw std::bad_alloc();
  CURLUcode code = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0);
  char* host = nullptr;
  if (code == CURLUE_OK) code = curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0);
  curl_free(host);
  return code == CURLUE_OK ? std::string() : std::string("is not an address libcurl can use (") +
                                                 curl_url_strerror(code) + ")";
}

namespace {

std::string checked_base_url(std::string url) {
  const bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  const std::size_t host = url.find("://") + 3;
  if (!scheme || url.size() == host || url[host] == '/')
    throw option_error("base_url",
                       "must be an http:// or https:// address with a host; got '" + without_logins(url) + "'");
  if (url.find_first_of("?#") != std::string::npos)
    throw option_error("base_url",
                       "must be an address without ?query or #fragment; got '" + without_logins(url) + "'");
  if (const std::string problem = url_problem(url); !problem.empty())
    throw option_error("base_url", problem + "; got '" + without_logins(url) + "'");
  while (url.back() == '/') url.pop_back();  // paths are appended with their own leading '/'
  return url;
}

/// The host of an http(s):// address, lower case, without brackets or port.
std::string host_of(const std::string& url) {
  const std::size_t start = url.find("://") + 3;  // checked: http:// or https://
  std::string authority = url.substr(start, url.find_first_of("/?#", start) - start);  // a query may hold a key
  if (const std::size_t at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  std::string host = authority.starts_with('[')
                         ? authority.substr(1, authority.find(']') - 1)
                         : authority.substr(0, authority.find(':'));
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  return host;
}

/// Whether `host` is this machine or the home network (a private or
/// link-local address, a name without dots, mDNS's .local, a home router's
/// .lan or .home.arpa), or reached through a tunnel that encrypts (Tailscale's
/// 100.64.0.0/10 and .ts.net): there plain http is how Home Assistant is
/// reached, and nothing travels unencrypted over the internet.
bool at_home(const std::string& host) {
  if (in_addr v4{}; ::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    const std::uint32_t a = ntohl(v4.s_addr);
    const auto in = [a](std::uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
    return in(0x7F000000, 8) || in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16) ||
           in(0xA9FE0000, 16) || in(0x64400000, 10);
  }
  if (in6_addr v6{}; ::inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_LINKLOCAL(&v6) || (v6.s6_addr[0] & 0xFE) == 0xFC;
  if (host.find('.') == std::string::npos) return true;  // "localhost", "homeassistant"
  for (const std::string_view home : {".local", ".lan", ".home", ".home.arpa", ".internal", ".localdomain", ".ts.net"})
    if (host.ends_with(home)) return true;
  return false;
}

/// A warning when a secret would go over plain http beyond the home network.
void warn_of_plain_http(stage_context& context, const http::service& service) {
  const std::string url = context.options().string(service.url_option);
  if (service.secrets.empty() || url.rfind("http://", 0) != 0 || at_home(host_of(url))) return;
  context.warn_option(service.url_option, "is plain http:// to '" + host_of(url) +
                                             "', not this machine or your home network: its secret (token, webhook "
                                             "address) would travel unencrypted; give https://");
}

/// The ca_file, made absolute, once checked to hold a PEM certificate.
std::string checked_ca_file(stage_context& context) {
  const std::string path = context.resolve_path(context.options().string("ca_file"));
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (std::filesystem::is_directory(status))
    throw option_error("ca_file", "'" + path + "' is a folder; give the PEM file of the certificates to trust in it");
  if (!error && !std::filesystem::is_regular_file(status))
    throw option_error("ca_file", "'" + path + "' is not a regular file; give a PEM file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw option_error("ca_file", "cannot read '" + path + "': " + std::strerror(errno));
  // A system bundle of every CA is about 200 KiB; anything past 16 MiB is not a certificate file.
  constexpr std::size_t most_bytes = 16u << 20;
  const std::string text = bounded_read::at_most(in, most_bytes);
  if (text.size() > most_bytes) throw option_error("ca_file", "'" + path + "' is larger than 16 MiB; give a PEM file");
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    throw option_error("ca_file", "'" + path + "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  return path;
}

} // namespace

struct client::handle {
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  std::string ca_file;  // libcurl copies strings, but keeping it costs nothing

  ~handle() {
    if (curl) curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
  }

  template <class T>
  void set(CURLoption option, T value) {
    if (const CURLcode code = curl_easy_setopt(curl, option, value); code != CURLE_OK)
      throw std::runtime_error(std::string("libcurl refused an option: ") + curl_easy_strerror(code));
  }

  void add_header(const std::string& line) {
    curl_slist* grown = curl_slist_append(headers, line.c_str());
    if (grown == nullptr) throw std::bad_alloc();
    headers = grown;
  }
};

std::vector<option_spec> client_options(const std::string& default_base_url, const std::string& base_url_description) {
  return {
      optional_option("base_url", option_type::string, default_base_url, base_url_description),
      optional_option("connect_timeout", option_type::duration, std::chrono::milliseconds{10000},
                      "How long making the connection (TCP and TLS) may take.")
          .above(std::chrono::milliseconds{0}),
      optional_option("timeout", option_type::duration, std::chrono::milliseconds{30000},
                      "How long one notification may take in all; a slower one is a failure the runtime retries.")
          .above(std::chrono::milliseconds{0}),
      optional_option("ca_file", option_type::string, {},
                      "PEM file of the certificate to trust instead of the system's, for a server with a certificate "
                      "of its own (self-signed); relative to the pipeline file. TLS is always verified."),
  };
}

client::client(stage_context& context, http::service who, const std::vector<std::string>& headers)
    : context_(context), service_(std::move(who)), base_url_(checked_base_url(context.options().string("base_url"))),
      handle_(std::make_unique<handle>()) {
  const options& o = context.options();
  const auto connect_timeout = o.duration("connect_timeout");
  const auto timeout = o.duration("timeout");
  if (o.has("ca_file")) handle_->ca_file = checked_ca_file(context);
  warn_of_plain_http(context, service_);

  init_curl_once();
  handle_->curl = curl_easy_init();
  if (handle_->curl == nullptr) throw std::runtime_error("libcurl cannot create a handle");
  for (const auto& line : headers) handle_->add_header(line);
  handle_->add_header("Content-Type: application/json");
  handle_->add_header("Accept: application/json");
  handle_->add_header("Expect:");  // no 100-continue round trip before a larger body

  handle& h = *handle_;
  h.set(CURLOPT_NOSIGNAL, 1L);  // threads of a multi-threaded process must not take signals for timeouts
  h.set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  h.set(CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  h.set(CURLOPT_PROTOCOLS_STR, "http,https");
  h.set(CURLOPT_SSL_VERIFYPEER, 1L);
  h.set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!h.ca_file.empty()) {  // instead of the system's: its certificate folder (CApath) is not asked either
    h.set(CURLOPT_CAINFO, h.ca_file.c_str());
    h.set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
  }
  h.set(CURLOPT_HTTPHEADER, h.headers);
  h.set(CURLOPT_USERAGENT, "stream-smarts");
  h.set(CURLOPT_ERRORBUFFER, h.error);
  h.set(CURLOPT_WRITEFUNCTION, keep_body);
  h.set(CURLOPT_TCP_KEEPALIVE, 1L);  // the connection waits between alerts, often for hours
}

client::~client() = default;

answer client::post_json(const std::string& url, const std::string& json) {
  handle& h = *handle_;
  answer a;
  h.error[0] = '\0';
  h.set(CURLOPT_URL, url.c_str());
  h.set(CURLOPT_POSTFIELDS, json.c_str());
  h.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json.size()));
  h.set(CURLOPT_WRITEDATA, &a);
  const auto started = steady::now();
  const CURLcode code = curl_easy_perform(h.curl);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started);
  const std::string where = without_secrets("POST " + without_logins(url), service_.secrets);
  curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &a.status);
  if (code != CURLE_OK) {
    const std::string why = h.error[0] ? h.error : curl_easy_strerror(code);
    if (is_success(a.status)) {
      // The service said yes before the connection failed: it has the
      // message, and sending it again would notify twice.
      context_.log().warning(where + ": HTTP " + std::to_string(a.status) + ", then " +
                             without_secrets(why, service_.secrets) +
                             " while its answer was read; counted as delivered, not sent again");
      a.cut_off = true;
      return a;
    }
    context_.log().debug(where + ": no answer after " + std::to_string(took.count()) + " ms");
    throw transfer_failure(code, why, service_);
  }
  curl_header* retry_after = nullptr;
  if (curl_easy_header(h.curl, "Retry-After", 0, CURLH_HEADER, -1, &retry_after) == CURLHE_OK)
    a.retry_after = parse_retry_after(retry_after->value, std::time(nullptr));
  context_.log().debug(where + ": HTTP " + std::to_string(a.status) + " in " + std::to_string(took.count()) + " ms");
  if (auto failure = failure_of(a, service_)) throw *failure;
  return a;
}

} // namespace stream_smarts::http
