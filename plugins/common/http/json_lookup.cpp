#include "json_lookup.hpp"

#include <charconv>
#include <cstdint>

namespace stream_smarts::http {
namespace {

// Deeper documents are refused rather than walked: an answer is read on the
// sink's thread, and recursion must not be a service's to choose.
constexpr int max_depth = 64;

class walker {
public:
  explicit walker(std::string_view text) : s_(text) {}

  /// At a value: finds path[depth..] in it. False if the JSON is malformed.
  bool find(const std::vector<std::string_view>& path, std::size_t depth, std::optional<std::string>& out) {
    space();
    if (depth == path.size()) return scalar(out);
    if (!eat('{')) return skip_value(0);
    space();
    if (eat('}')) return true;
    for (;;) {
      std::string key;
      space();
      if (!string(&key)) return false;
      space();
      if (!eat(':')) return false;
      if (key == path[depth] && !out) {
        if (!find(path, depth + 1, out)) return false;
      } else if (!skip_value(1)) {
        return false;
      }
      space();
      if (eat(',')) continue;
      return eat('}');
    }
  }

  bool at_end() {
    space();
    return i_ == s_.size();
  }

private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  void space() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r') ++i_;
  }

  /// A string, number, true, false or null; an object or array there is skipped.
  bool scalar(std::optional<std::string>& out) {
    if (peek() == '"') {
      std::string text;
      if (!string(&text)) return false;
      out = std::move(text);
      return true;
    }
    if (peek() == '{' || peek() == '[') return skip_value(0);
    const std::size_t start = i_;
    if (!word()) return false;
    out = std::string(s_.substr(start, i_ - start));
    return true;
  }

  /// A number or a literal, loosely: answers are read, not validated.
  bool word() {
    const std::size_t start = i_;
    while (i_ < s_.size() && std::string_view("+-.0123456789eEtruefalsn").find(s_[i_]) != std::string_view::npos) ++i_;
    return i_ > start;
  }

  bool skip_value(int depth) {
    if (depth > max_depth) return false;
    space();
    if (peek() == '"') return string(nullptr);
    const char open = peek();
    if (open != '{' && open != '[') return word();
    const char close = open == '{' ? '}' : ']';
    ++i_;
    space();
    if (eat(close)) return true;
    for (;;) {
      space();
      if (open == '{') {
        if (!string(nullptr)) return false;
        space();
        if (!eat(':')) return false;
      }
      if (!skip_value(depth + 1)) return false;
      space();
      if (eat(',')) continue;
      return eat(close);
    }
  }

  /// A string literal; unescaped into `out` unless it is null.
  bool string(std::string* out) {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        if (out) *out += c;
        continue;
      }
      if (!escape(out)) return false;
    }
    return false;
  }

  bool escape(std::string* out) {
    const char c = peek();
    ++i_;
    static constexpr std::string_view from = "\"\\/bfnrt", to = "\"\\/\b\f\n\r\t";
    if (const auto k = from.find(c); c != '\0' && k != std::string_view::npos) {
      if (out) *out += to[k];
      return true;
    }
    std::uint32_t cp = 0;
    if (c != 'u' || i_ + 4 > s_.size() || std::from_chars(s_.data() + i_, s_.data() + i_ + 4, cp, 16).ptr != s_.data() + i_ + 4)
      return false;
    i_ += 4;
    if (out) append_utf8(*out, cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp);  // surrogates: shown, not decoded
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

} // namespace

std::optional<std::string> json_scalar(std::string_view document, const std::vector<std::string_view>& path) {
  walker w(document);
  std::optional<std::string> out;
  if (!w.find(path, 0, out) || !w.at_end()) return std::nullopt;
  return out;
}

} // namespace stream_smarts::http
