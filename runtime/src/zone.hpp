// The pipeline's time zone, backed by the system tzdata through date/tz.
#pragma once

#include <stream_smarts/time.hpp>

#include <memory>
#include <string>

namespace stream_smarts::runtime {

/// Loads an IANA zone ("Europe/Paris", "UTC"); throws std::runtime_error with
/// the name if the system does not know it.
std::unique_ptr<time_zone> load_time_zone(const std::string& name);

/// Fills reading.local from reading.ts_ms.
inline void localize(reading& r, const time_zone& zone) { r.local = zone.local(r.ts_ms); }

} // namespace stream_smarts::runtime
