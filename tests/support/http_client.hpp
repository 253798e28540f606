// A raw HTTP/1.1 client on 127.0.0.1 for the metrics endpoint's tests: it
// sends exactly what a test asks (any method, a Content-Length with no body)
// and reads until the server closes, each step bounded.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace test_support {

struct http_response {
  int status = 0;
  std::string head, body;
};

/// A socket connected to 127.0.0.1:port with 5 s send and receive timeouts,
/// or -1.
int connect_local(int port);

/// METHOD http://127.0.0.1:<port><path>, at most 5 s a step; nothing if it
/// failed. `content_length` is said, no body is sent.
std::optional<http_response> http_request(int port, const std::string& method, const std::string& path,
                                          std::size_t content_length = 0);

/// Sends `raw` as it is and reads the answer.
std::optional<http_response> http_exchange(int port, const std::string& raw);

} // namespace test_support
