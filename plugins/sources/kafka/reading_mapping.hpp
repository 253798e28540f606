// Decoded payload fields + message metadata -> a reading, by the source's
// field mapping. Pure, so tests drive every case without a broker.
#pragma once

#include "payload.hpp"

#include <common/reading_fields.hpp>

#include <stream_smarts/options.hpp>
#include <stream_smarts/reading.hpp>
#include <stream_smarts/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stream_smarts::kafka_source {

/// What the message carries besides its payload.
struct message_meta {
  std::string_view key;                  ///< empty if the message has none
  std::optional<std::int64_t> timestamp_ms;  ///< the Kafka message timestamp, if any
};

class reading_mapping {
public:
  /// From the options wh_field, ts_field, hour_field, meter_field, meter, span.
  explicit reading_mapping(const options& o);

  /// Fills `out` (meter, ts_ms, wh, span_ms, labels); false with the reason in
  /// `why`.
  bool map(const std::vector<payload_field>& fields, const message_meta& meta, const time_zone& zone, reading& out,
           std::string& why) const;

  /// A field that looks like the reading's time ("ts", "timestamp", "time")
  /// while the mapping times readings by the message timestamp (no ts_field,
  /// no hour_field): a backfilled topic would all land at "now". Empty if none.
  std::string_view unused_time_field(const std::vector<payload_field>& fields) const;

private:
  bool timestamp(const payload_field* ts, const message_meta& meta, const time_zone& zone, std::int64_t& ts_ms,
                 std::string& why) const;
  bool meter(const payload_field* said, const message_meta& meta, std::string& meter, std::string& why) const;
  bool span(const payload_field* said, std::int64_t& span_ms, std::string& why) const;
  bool apply_hour(const payload_field& hour, const time_zone& zone, std::int64_t& ts_ms, std::string& why) const;
  bool is_mapped(std::string_view name) const;

  std::string wh_field_, ts_field_, hour_field_, meter_field_, meter_;
  std::int64_t span_ms_;
  reading_fields::energy_unit unit_;
};

/// The latest time at or before `ts_ms` that starts local hour `hour`.
std::int64_t start_of_latest_hour(std::int64_t ts_ms, int hour, const time_zone& zone);

} // namespace stream_smarts::kafka_source
