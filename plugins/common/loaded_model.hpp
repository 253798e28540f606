// What every scorer says when it loads a trained model: where it came from,
// and a warning when it was trained in another time zone (its hours are
// local, so they would be shifted by the difference: worth a warning, not a
// refusal).
#pragma once

#include <stream_smarts/plugin.hpp>

#include <cstdint>
#include <string>

namespace stream_smarts::loaded_model {

/// The file the `model` option names, from the pipeline file's folder; an
/// option error saying how to train one when it is not set.
inline std::string model_path(stage_context& ctx, const std::string& scorer) {
  if (!ctx.options().has("model"))
    throw option_error("model", "model is not set: train one with `stream-smarts train --scorer " + scorer +
                                    " --data FILE --out FILE`");
  return ctx.resolve_path(ctx.options().string("model"));
}

/// `read(path)`; a file it cannot use (it throws `Error`) is an option error
/// at `model` naming the file.
template <class Error, class Read>
auto read_model(const std::string& path, Read read) {
  try {
    return read(path);
  } catch (const Error& e) {
    throw option_error("model", path + ": " + e.what());
  }
}

struct provenance {
  std::string timezone;                  ///< empty: not recorded (a hand-written model)
  std::int64_t readings = 0;             ///< 0: not recorded
  std::string trained_from, trained_to;
};

/// "loaded PATH (N readings from A to B[, detail])", or "loaded PATH" when
/// the model does not say what it was trained on.
inline void log_loaded(stage_context& ctx, const std::string& path, const provenance& p,
                       const std::string& detail = {}) {
  if (!p.timezone.empty() && p.timezone != ctx.zone().name())
    ctx.log().warning(path + ": trained in time zone " + p.timezone + " but the pipeline uses " +
                      ctx.zone().name() + "; its hours may be shifted");
  std::string line = "loaded " + path;
  if (p.readings > 0)
    line += " (" + std::to_string(p.readings) + " readings from " + p.trained_from + " to " + p.trained_to +
            (detail.empty() ? "" : ", " + detail) + ")";
  ctx.log().info(line);
}

} // namespace stream_smarts::loaded_model
