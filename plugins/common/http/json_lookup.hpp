// Reading one value out of a service's JSON answer: Slack's {"ok": false,
// "error": "channel_not_found", ...}, Pushbullet's {"error": {"message": ...}}.
// Answers nest objects and arrays we do not care about, so this walks any
// JSON but keeps only the scalar asked for.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::http {

/// The scalar at `path` (object keys, outermost first) in a JSON document: a
/// string unescaped, or true/false/null/a number as written. Nothing if the
/// document is not JSON or holds no scalar there.
std::optional<std::string> json_scalar(std::string_view document, const std::vector<std::string_view>& path);

} // namespace stream_smarts::http
