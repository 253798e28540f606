// A Kafka message payload decoded into named scalar fields, whatever its wire
// format (JSON or Confluent Avro), so one mapping turns either into a reading.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::kafka_source {

/// One top-level field of a decoded payload.
struct payload_field {
  enum class kind : std::uint8_t { number, string, boolean, null, nested };
  std::string_view name;
  kind type = kind::null;
  double number = 0;       ///< the value, for kind::number
  std::string_view text;   ///< always set: the string, the number as text, "true"/"false", "null", a nested value as written
  /// Whether it may become a label when not mapped: false for the verdict of
  /// stream-smarts's own JSON records (json::flat_json_parser::is_label).
  bool label = true;
};

/// Decodes payloads of one wire format. Views in `fields` stay valid until
/// the next decode() on the same decoder.
class payload_decoder {
public:
  virtual ~payload_decoder() = default;
  /// False, with the reason in `why`, if the payload is not a valid record.
  virtual bool decode(std::string_view payload, std::vector<payload_field>& fields, std::string& why) = 0;
};

/// Confluent Avro wire format (magic byte 0, 4-byte schema id, Avro binary)
/// for the record schema `schema_json`. Throws std::invalid_argument saying
/// what is wrong with the schema.
std::unique_ptr<payload_decoder> make_avro_decoder(const std::string& schema_json);

/// One flat JSON object per message.
std::unique_ptr<payload_decoder> make_json_decoder();

} // namespace stream_smarts::kafka_source
