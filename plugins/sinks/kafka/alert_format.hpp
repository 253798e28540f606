// The Kafka sink's message payloads, as pure functions, so tests check the
// exact bytes an existing consumer of the topic will see.
#pragma once

#include <common/json.hpp>

#include <string>

namespace stream_smarts::kafka_sink {

/// "json" is json::append_alert, the object every stream-smarts JSON output
/// shares. "ksql": what the original KSQL query wrote to ANOMOLY_POWER, so its
/// consumers keep working: {"EVENT_TS":ms,"HOUR":h,"KWH":wh,"FN":score}.
/// EVENT_TS is the time the reading is for; KWH carries Wh, as it always did.
inline void append_ksql(std::string& out, const alert& a) {
  const reading& r = a.scored.reading;
  out += "{\"EVENT_TS\":";
  json::append_chars(out, r.ts_ms);
  out += ",\"HOUR\":";
  json::append_chars(out, static_cast<int>(r.local.hour));
  out += ",\"KWH\":";
  json::append_json_number(out, r.wh);
  out += ",\"FN\":";
  json::append_json_number(out, a.scored.score);
  out += '}';
}

/// Whether the ksql format writes `a`: not a "back to normal". The original
/// query wrote unusual readings only, and its consumers (the original
/// notifier) take every row for one; the format has no field to say it is
/// over. Every other kind is a row, so receive = "all" still writes every
/// reading but those.
inline bool ksql_writes(const alert& a) { return a.kind != alert_kind::resolved; }

} // namespace stream_smarts::kafka_sink
