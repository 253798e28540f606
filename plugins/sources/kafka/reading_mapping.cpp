#include "reading_mapping.hpp"

#include <common/reading_fields.hpp>

#include <charconv>
#include <cmath>

namespace stream_smarts::kafka_source {
namespace {

const payload_field* find(const std::vector<payload_field>& fields, std::string_view name) {
  if (name.empty()) return nullptr;
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

const char* kind_name(payload_field::kind k) {
  switch (k) {
    case payload_field::kind::number: return "a number";
    case payload_field::kind::string: return "a string";
    case payload_field::kind::boolean: return "a boolean";
    case payload_field::kind::null: return "null";
    case payload_field::kind::nested: return "a nested object or array";
  }
  return "?";
}

bool fail(std::string& why, std::string message) {
  why = std::move(message);
  return false;
}

} // namespace

reading_mapping::reading_mapping(const options& o)
    : wh_field_(o.string("wh_field")),
      ts_field_(o.string("ts_field")),
      hour_field_(o.string("hour_field")),
      meter_field_(o.string("meter_field")),
      meter_(o.string("meter")),
      span_ms_(o.duration("span").count()),
      unit_(reading_fields::energy_unit_of(o)) {
  if (wh_field_.empty()) throw option_error("wh_field", "must name the field that holds the energy in Wh");
}

bool reading_mapping::map(const std::vector<payload_field>& fields, const message_meta& meta, const time_zone& zone,
                          reading& out, std::string& why) const {
  const payload_field* wh = find(fields, wh_field_);
  if (wh == nullptr) return fail(why, "missing \"" + wh_field_ + "\"");
  // A number, or a string holding one, as Home Assistant's Kafka integration writes a state.
  if (wh->type != payload_field::kind::number && wh->type != payload_field::kind::string)
    return fail(why, wh_field_ + " must be a number, got " + kind_name(wh->type));
  // The span first: a power (wh_unit = "W") is energy only over it.
  if (!span(find(fields, reading_fields::span_field), out.span_ms, why)) return false;
  if (!reading_fields::parse_energy(wh->text, wh_field_, unit_, out.span_ms, out.wh, why)) return false;
  if (!timestamp(find(fields, ts_field_), meta, zone, out.ts_ms, why)) return false;
  if (!hour_field_.empty()) {
    const payload_field* hour = find(fields, hour_field_);
    if (hour == nullptr) return fail(why, "missing \"" + hour_field_ + "\"");
    if (!apply_hour(*hour, zone, out.ts_ms, why)) return false;
  }
  if (!meter(find(fields, meter_field_), meta, out.meter, why)) return false;
  out.labels.clear();
  for (const auto& f : fields)
    if (f.type != payload_field::kind::null && f.type != payload_field::kind::nested && !is_mapped(f.name) && f.label)
      out.labels.push_back({std::string(f.name), std::string(f.text)});
  return true;
}

bool reading_mapping::timestamp(const payload_field* ts, const message_meta& meta, const time_zone& zone,
                                std::int64_t& ts_ms, std::string& why) const {
  if (ts_field_.empty()) {
    if (!meta.timestamp_ms) return fail(why, "the message has no timestamp (and no ts_field is configured)");
    if (!reading_fields::ts_in_range(*meta.timestamp_ms))
      return fail(why, "the message timestamp is out of range: " + std::to_string(*meta.timestamp_ms) +
                           " (epoch milliseconds of " + reading_fields::ts_range_text + ")");
    ts_ms = *meta.timestamp_ms;
    return true;
  }
  if (ts == nullptr) return fail(why, "missing \"" + ts_field_ + "\"");
  if (ts->type == payload_field::kind::string) return reading_fields::parse_timestamp(ts->text, zone, ts_ms, why);
  if (ts->type == payload_field::kind::number) return reading_fields::parse_epoch_ms(ts->text, ts_field_, ts_ms, why);
  return fail(why, reading_fields::timestamp_kind_problem(ts_field_, kind_name(ts->type)));
}

std::string_view reading_mapping::unused_time_field(const std::vector<payload_field>& fields) const {
  if (!ts_field_.empty() || !hour_field_.empty()) return {};
  for (const char* name : {"ts", "timestamp", "time"})
    if (const payload_field* f = find(fields, name); f && f->type != payload_field::kind::null) return f->name;
  return {};
}

// The meter_field's value (a string, or a number), else the message
// key, else the `meter` option: a keyed message never falls into another
// house's "home".
bool reading_mapping::meter(const payload_field* said, const message_meta& meta, std::string& meter,
                            std::string& why) const {
  if (said != nullptr) {
    const bool names = said->type != payload_field::kind::boolean && said->type != payload_field::kind::nested;
    const auto v = reading_fields::read_meter(meter_field_, names ? "" : kind_name(said->type),
                                              said->type == payload_field::kind::number,
                                              said->type == payload_field::kind::null, said->text, meter, why);
    if (v != reading_fields::meter_value::unsaid) return v == reading_fields::meter_value::named;
  }
  meter = meta.key.empty() ? meter_ : meta.key;
  return true;
}

// The record's own span if it says one (null does not), else the option's.
bool reading_mapping::span(const payload_field* said, std::int64_t& span_ms, std::string& why) const {
  span_ms = span_ms_;
  if (said == nullptr || said->type == payload_field::kind::null) return true;
  if (said->type == payload_field::kind::number) return reading_fields::parse_span_ms(said->text, span_ms, why);
  return fail(why, std::string(reading_fields::span_field) + " must be a number, got " + kind_name(said->type));
}

bool reading_mapping::apply_hour(const payload_field& hour, const time_zone& zone, std::int64_t& ts_ms,
                                 std::string& why) const {
  const double h = hour.number;
  if (hour.type != payload_field::kind::number || std::trunc(h) != h || h < 0 || h > 23)
    return fail(why, hour_field_ + " must be a whole hour of day 0..23, got " +
                         (hour.type == payload_field::kind::number ? std::string(hour.text) : kind_name(hour.type)));
  ts_ms = start_of_latest_hour(ts_ms, static_cast<int>(h), zone);
  return true;
}

bool reading_mapping::is_mapped(std::string_view name) const {
  return name == wh_field_ || name == ts_field_ || name == hour_field_ || name == meter_field_ ||
         name == reading_fields::span_field;
}

std::int64_t start_of_latest_hour(std::int64_t ts_ms, int hour, const time_zone& zone) {
  const local_fields l = zone.local(ts_ms);
  const std::int64_t into_hour = (l.minute * 60 + l.second) * 1000LL + ((ts_ms % 1000) + 1000) % 1000;
  const std::int64_t guess = ts_ms - into_hour - ((l.hour - hour + 24) % 24) * hour_ms;
  // Across a daylight-saving change the wall clock skipped or repeated an
  // hour, so the guess may be an hour off either way.
  for (const std::int64_t t : {guess + hour_ms, guess, guess - hour_ms})
    if (t <= ts_ms && zone.local(t).hour == hour) return t;
  return guess;
}

} // namespace stream_smarts::kafka_source
