// What every scorer says when it loads a trained model: where it came from,
// and a warning when it was trained in another time zone (its hours are
// local, so they would be shifted by the difference: worth a warning, not a
// refusal).
#pragma once

#include <stream_smarts/plugin.hpp>
#include <stream_smarts/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

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

/// The span most training readings covered (their median), 0 if none said:
/// a model's Wh are energies of that span.
inline std::int64_t typical_span_ms(const std::vector<reading>& history) {
  std::vector<std::int64_t> spans;
  for (const reading& r : history)
    if (r.span_ms > 0) spans.push_back(r.span_ms);
  if (spans.empty()) return 0;
  const auto middle = spans.begin() + static_cast<std::ptrdiff_t>(spans.size() / 2);
  std::nth_element(spans.begin(), middle, spans.end());
  return *middle;
}

/// What every model records of its training (members trained_from,
/// trained_to, readings, reading_span_ms), from the history it was trained
/// on (local fields filled, oldest first).
template <class Model>
void record_training_span(Model& m, const std::vector<reading>& history) {
  m.trained_from = format_local_iso8601(history.front().local);
  m.trained_to = format_local_iso8601(history.back().local);
  m.readings = static_cast<std::int64_t>(history.size());
  m.reading_span_ms = typical_span_ms(history);
}

/// Warns once when readings cover another span than the model's training
/// readings did: 15-minute energies against an hourly model are a quarter
/// of what it expects, and it would never alert, without a word.
class span_check {
public:
  span_check() = default;  // no model: nothing to compare with
  span_check(stage_context& ctx, std::int64_t model_span_ms) : log_(&ctx.log()), model_span_ms_(model_span_ms) {}
  void operator()(const reading& r) {
    if (warned_ || model_span_ms_ <= 0 || r.span_ms <= 0 || r.span_ms == model_span_ms_) return;
    warned_ = true;
    using std::chrono::milliseconds;
    log_->warning("readings of " + r.meter + " cover " + duration_text(milliseconds{r.span_ms}) +
                  ", but the model was trained on readings of " + duration_text(milliseconds{model_span_ms_}) +
                  ": their Wh are not comparable; train it on readings like these, or give the source the "
                  "span its readings cover");
  }

private:
  logger* log_ = nullptr;  // the stage's: its context outlives the scorer
  std::int64_t model_span_ms_ = 0;
  bool warned_ = false;
};

/// "loaded PATH (N readings from A to B[, detail])", or "loaded PATH" when
/// the model does not say what it was trained on; a warning at `model` when
/// it was trained in another time zone.
inline void log_loaded(stage_context& ctx, const std::string& path, const provenance& p,
                       const std::string& detail = {}) {
  if (!p.timezone.empty() && p.timezone != ctx.zone().name())
    ctx.warn_option("model", path + ": trained in time zone " + p.timezone + " but read in " + ctx.zone().name() +
                                 " here (the pipeline's timezone, or --timezone); its hours may be shifted");
  std::string line = "loaded " + path;
  if (p.readings > 0)
    line += " (" + std::to_string(p.readings) + " readings from " + p.trained_from + " to " + p.trained_to +
            (detail.empty() ? "" : ", " + detail) + ")";
  ctx.log().info(line);
}

} // namespace stream_smarts::loaded_model
