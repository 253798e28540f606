#include "payload.hpp"

#include <common/json.hpp>

#include <charconv>

namespace stream_smarts::kafka_source {
namespace {

class json_decoder final : public payload_decoder {
public:
  bool decode(std::string_view payload, std::vector<payload_field>& fields, std::string& why) override {
    fields.clear();
    if (!parser_.parse(payload, why)) return false;
    for (const auto& f : parser_.fields()) {
      fields.push_back(convert(f));
      fields.back().label = parser_.is_label(f);
    }
    return true;
  }

private:
  static payload_field convert(const json::json_field& f) {
    using json_kind = json::json_field::kind;
    payload_field out{f.key, payload_field::kind::null, 0, f.text};
    switch (f.type) {
      case json_kind::string: out.type = payload_field::kind::string; break;
      case json_kind::boolean: out.type = payload_field::kind::boolean; break;
      case json_kind::null: out.type = payload_field::kind::null; break;
      case json_kind::nested: out.type = payload_field::kind::nested; break;
      case json_kind::number:
        out.type = payload_field::kind::number;
        // The parser checked the grammar; out of range stays for the mapping to report.
        std::from_chars(f.text.data(), f.text.data() + f.text.size(), out.number);
        break;
    }
    return out;
  }

  json::flat_json_parser parser_;
};

} // namespace

std::unique_ptr<payload_decoder> make_json_decoder() { return std::make_unique<json_decoder>(); }

} // namespace stream_smarts::kafka_source
