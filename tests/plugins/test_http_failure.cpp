// What a notification sink's HTTP answers mean: retry or give up, with which
// message; secrets hidden; Retry-After; reading services' JSON answers.
#include <failure.hpp>
#include <json_lookup.hpp>

#include <curl/curl.h>

#include <catch2/catch.hpp>

using namespace stream_smarts;
using namespace stream_smarts::http;
using std::chrono::milliseconds;

namespace {

const service pushbullet{"Pushbullet",
                         {"o.Zq8Wm3Rt6Yp1Ux4Ik7Ol0Aj2Sh5Dg9Fc"},
                         {{401, "rejected the access token", "check the token option"}}};

answer http_answer(long status, std::string body = {}, milliseconds retry_after = milliseconds{0}) {
  return {status, std::move(body), retry_after};
}

} // namespace

TEST_CASE("2xx is delivered", "[http]") {
  CHECK_FALSE(failure_of(http_answer(200), pushbullet).has_value());
  CHECK_FALSE(failure_of(http_answer(204), pushbullet).has_value());
}

TEST_CASE("a status the service gave a meaning is given up with its words", "[http]") {
  const auto e = failure_of(http_answer(401, R"({"error":{"message":"Access token is missing or invalid."}})"),
                            pushbullet);
  REQUIRE(e.has_value());
  CHECK(std::string(e->what()) ==
        "Pushbullet rejected the access token (HTTP 401, \"Access token is missing or invalid.\"): check the token "
        "option");
  CHECK_FALSE(e->retryable());
}

TEST_CASE("429, 408 and 5xx are worth a retry, after Retry-After", "[http]") {
  const auto slow = failure_of(http_answer(429, "", milliseconds{30000}), pushbullet);
  CHECK(std::string(slow->what()) == "Pushbullet asks to slow down (HTTP 429, retry after 30 s)");
  CHECK(slow->retryable());
  CHECK(slow->retry_after() == milliseconds{30000});
  const auto down = failure_of(http_answer(503, "<html><body>\n  Service   Unavailable\n</body></html>"), pushbullet);
  CHECK(std::string(down->what()) ==
        "Pushbullet had a server error (HTTP 503, \"<html><body> Service Unavailable </body></html>\")");
  CHECK(down->retryable());
  CHECK(failure_of(http_answer(408), pushbullet)->retryable());
}

TEST_CASE("other refusals are given up", "[http]") {
  const auto missing = failure_of(http_answer(404), pushbullet);
  CHECK(std::string(missing->what()) == "Pushbullet has no such address (HTTP 404): check base_url");
  CHECK_FALSE(missing->retryable());
  const auto moved = failure_of(http_answer(301), pushbullet);
  CHECK(std::string(moved->what()) ==
        "Pushbullet answered with a redirect (HTTP 301): check base_url (https:// where it says http://?)");
  CHECK_FALSE(moved->retryable());
  CHECK(std::string(failure_of(http_answer(422, "bad"), pushbullet)->what()) ==
        "Pushbullet refused the notification (HTTP 422, \"bad\")");
}

TEST_CASE("no answer: retry, unless the certificate or the address is wrong", "[http]") {
  const auto refused_connection = transfer_failure(CURLE_COULDNT_CONNECT, "Failed to connect", pushbullet);
  CHECK(std::string(refused_connection.what()) == "Pushbullet could not be reached (Failed to connect)");
  CHECK(refused_connection.retryable());
  CHECK(transfer_failure(CURLE_OPERATION_TIMEDOUT, "Operation timed out", pushbullet).retryable());
  CHECK(transfer_failure(CURLE_COULDNT_RESOLVE_HOST, "Could not resolve host", pushbullet).retryable());
  const auto untrusted = transfer_failure(CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem", pushbullet);
  CHECK_FALSE(untrusted.retryable());
  CHECK(std::string(untrusted.what()).find("set ca_file") != std::string::npos);
  CHECK_FALSE(transfer_failure(CURLE_URL_MALFORMAT, "URL using bad/illegal format", pushbullet).retryable());
}

TEST_CASE("a certificate: not yet valid is the clock's, expired or of another name is the service's", "[http]") {
  const auto early = transfer_failure(CURLE_PEER_FAILED_VERIFICATION,
                                      "SSL certificate problem: certificate is not yet valid", pushbullet);
  CHECK(early.retryable());
  CHECK(std::string(early.what()).find("check the system clock (NTP)") != std::string::npos);
  const auto expired = transfer_failure(CURLE_PEER_FAILED_VERIFICATION,
                                        "SSL certificate problem: certificate has expired", pushbullet);
  CHECK_FALSE(expired.retryable());
  CHECK(std::string(expired.what()) ==
        "Pushbullet answered with a TLS certificate that has expired (SSL certificate problem: certificate has "
        "expired): renew the service's certificate (and ca_file, if it is that one)");
  const auto other_name = transfer_failure(
      CURLE_PEER_FAILED_VERIFICATION,
      "SSL: no alternative certificate subject name matches target host name '127.0.0.1'", pushbullet);
  CHECK_FALSE(other_name.retryable());
  CHECK(std::string(other_name.what()) ==
        "Pushbullet answered with a TLS certificate made for another name (SSL: no alternative certificate subject "
        "name matches target host name '127.0.0.1'): write base_url with the host name the certificate was made "
        "for (not an IP address, unless it names that address)");
}

TEST_CASE("a proxy: a typo or a login it wants is given up, and its login is never shown", "[http]") {
  const auto typo = transfer_failure(CURLE_COULDNT_RESOLVE_PROXY,
                                     "Unsupported proxy syntax in 'http://proxyuser:proxypass99@127.0.0.1:notaport'",
                                     pushbullet);
  CHECK_FALSE(typo.retryable());
  CHECK(std::string(typo.what()) ==
        "Pushbullet could not be reached (Unsupported proxy syntax in 'http://[secret]@127.0.0.1:notaport'): check "
        "the proxy variable (https_proxy, http_proxy or all_proxy)");
  CHECK(transfer_failure(CURLE_COULDNT_RESOLVE_PROXY, "Could not resolve proxy: proxy.lan", pushbullet).retryable());
  const auto login = transfer_failure(CURLE_COULDNT_CONNECT, "CONNECT tunnel failed, response 407", pushbullet);
  CHECK_FALSE(login.retryable());
  CHECK(std::string(login.what()) ==
        "Pushbullet could not be reached: the proxy asks for a login (CONNECT tunnel failed, response 407): give it "
        "in the proxy variable, http://user:password@host:port");
}

TEST_CASE("Retry-After in seconds or as an HTTP-date", "[http]") {
  const std::time_t now = 1445412450;  // Wed, 21 Oct 2015 07:27:30 GMT
  CHECK(parse_retry_after("120", now) == milliseconds{120000});
  CHECK(parse_retry_after(" 7 ", now) == milliseconds{7000});
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == milliseconds{30000});
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == milliseconds{0});  // already past
  CHECK(parse_retry_after("soon", now) == milliseconds{0});
  CHECK(parse_retry_after("", now) == milliseconds{0});
  CHECK(parse_retry_after("99999999999999999999999", now) == milliseconds{24LL * 3600 * 1000});
}

TEST_CASE("secrets are hidden, whole or in part", "[http]") {
  const std::vector<std::string> secrets{"o.Zq8Wm3Rt6Yp1Ux4Ik7Ol0Aj2Sh5Dg9Fc", "abc"};
  CHECK(without_secrets("token o.Zq8Wm3Rt6Yp1Ux4Ik7Ol0Aj2Sh5Dg9Fc is bad", secrets) == "token [secret] is bad");
  CHECK(without_secrets("starts o.Zq8Wm3Rt6...", secrets) == "starts [secret]...");
  CHECK(without_secrets("short abc, and Rt6Yp1U (7 chars)", secrets) == "short [secret], and Rt6Yp1U (7 chars)");
  const std::vector<std::string> webhook{"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/kLmNoPqRsTuVwXyZ0123"};
  CHECK(without_secrets("POST https://hooks.slack.com/services/T0123ABCD/B0456EFGH/kLmNoPqRsTuVwXyZ0123", webhook) ==
        "POST [secret]");
}

TEST_CASE("an answer's excerpt: the service's own error text, one short line", "[http]") {
  CHECK(excerpt(R"({"error":{"code":"x","message":"Device not found.","cat":"~"}})", {}) == "Device not found.");
  CHECK(excerpt(R"({"ok":false,"error":"channel_not_found","response_metadata":{"messages":["a"]}})", {}) ==
        "channel_not_found");
  CHECK(excerpt(R"({"message":"Service tts.x not found."})", {}) == "Service tts.x not found.");
  CHECK(excerpt("no_service\n", {}) == "no_service");
  CHECK(excerpt("", {}).empty());
  const std::string long_text(400, 'x');
  CHECK(excerpt(long_text, {}) == std::string(160, 'x') + "...");
  CHECK(excerpt(std::string(159, 'x') + "é" + "yz", {}) == std::string(159, 'x') + "...");  // never half an é
  // An HTML page's text after its indentation, not the indentation.
  CHECK(excerpt("<html>" + std::string(2000, ' ') + "<body>Bad Gateway</body></html>", {}) ==
        "<html> <body>Bad Gateway</body></html>");
  // A NUL would end the message where what() is read as a C string.
  CHECK(excerpt(std::string("Unauthorized\0\0", 14), {}) == "Unauthorized");
  CHECK(excerpt(std::string("a\0b\x1b[31mc", 9), {}) == "a b [31mc");
}

TEST_CASE("a scalar out of a JSON answer", "[http]") {
  const std::string answer = R"( {"ok": false, "list": [1, {"error": "no"}, "]"], "nested": {"error": {"a": 1}},
                                  "error": "is_archived", "n": -1.5e3, "s": "a\"b\\c\u00e9\n"} )";
  CHECK(json_scalar(answer, {"ok"}) == "false");
  CHECK(json_scalar(answer, {"error"}) == "is_archived");
  CHECK(json_scalar(answer, {"n"}) == "-1.5e3");
  CHECK(json_scalar(answer, {"s"}) == "a\"b\\cé\n");
  CHECK(json_scalar(answer, {"nested", "error", "a"}) == "1");
  CHECK_FALSE(json_scalar(answer, {"nested", "error"}).has_value());  // an object, not a scalar
  CHECK_FALSE(json_scalar(answer, {"missing"}).has_value());
  CHECK_FALSE(json_scalar("ok", {"ok"}).has_value());
  CHECK_FALSE(json_scalar(R"({"ok": true)", {"ok"}).has_value());
  CHECK_FALSE(json_scalar(std::string(1000, '[') + std::string(1000, ']'), {"ok"}).has_value());  // too deep
}

TEST_CASE("a login written into an address is masked, the rest kept", "[http]") {
  CHECK(without_logins("http://admin:PROXYPASS77@127.0.0.1:8123/api") == "http://[secret]@127.0.0.1:8123/api");
  CHECK(without_logins("https://a:b:c@host") == "https://[secret]@host");
  CHECK(without_logins("http://user@host/x") == "http://[secret]@host/x");
  CHECK(without_logins("http://host:8123/a@b:c") == "http://host:8123/a@b:c");  // an @ in the path is not a login
  CHECK(without_logins("http://host:8123/x") == "http://host:8123/x");
  CHECK(without_logins("no url") == "no url");
  CHECK(without_logins("http://") == "http://");
  // libcurl's messages quote the proxy's address, login and all; each address in a text is masked.
  CHECK(without_logins("Unsupported proxy syntax in 'http://proxyuser:proxypass99@127.0.0.1:notaport'") ==
        "Unsupported proxy syntax in 'http://[secret]@127.0.0.1:notaport'");
  CHECK(without_logins("from http://u:p@a to https://v:q@b/@c") == "from http://[secret]@a to https://[secret]@b/@c");
}
