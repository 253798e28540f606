// `stream-smarts train`: read history with a source plugin, hand it to a
// scorer plugin's trainer, which writes a model file its `model` option
// loads. Before that, a hold-out report: the same trainer on most days,
// judged on the days it did not see.
#include "commands.hpp"

#include "crash_report.hpp"
#include "evaluation.hpp"
#include "log.hpp"
#include "offline.hpp"
#include "output.hpp"
#include "injection.hpp"
#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <set>

namespace stream_smarts::runtime {
namespace {

std::vector<reading> days_to_fit(const std::vector<reading>& history, const holdout& held) {
  std::vector<reading> fit;
  for (const auto& r : history)
    if (!held.contains(r)) fit.push_back(r);
  return fit;
}

/// "2 readings on 1 day (2008-01-07)": what the hold-out split had to cut.
std::string days_of(const std::vector<reading>& history, const std::function<bool(const reading&)>& keep) {
  std::set<std::string> days;  // "YYYY-MM-DD" sorts as time does
  std::size_t readings = 0;
  for (const auto& r : history) {
    if (!keep(r)) continue;
    days.insert(day_of(r));
    ++readings;
  }
  std::string text = std::to_string(readings) + " readings on " + std::to_string(days.size()) +
                     (days.size() == 1 ? " day" : " days");
  if (days.empty()) return text;
  return text + " (" + *days.begin() + (days.size() == 1 ? "" : " to " + *days.rbegin()) + ")";
}

std::string days_of(const std::vector<reading>& history) {
  return days_of(history, [](const reading&) { return true; });
}

std::string percent(double share) { return fixed(100 * share, 1) + " %"; }

/// What the hold-out report prints: which days each part had, and how the
/// model trained on the first did on the second, as it was and with events.
struct holdout_report {
  std::string trained_on, judged_on;  // days_of each part
  evaluation judged, with_events;
};

/// "31 of 39 caught (79.5 %: heater_day 4/8, ...), added as inject --seed 1
/// adds them": the events on the held-out days, which the model never saw.
std::string events_caught(const evaluation& e, std::uint64_t seed) {
  const std::string added = "added as inject --seed " + std::to_string(seed) + " adds them";
  if (e.events() == 0) return "none fell on the held-out days (" + added + ")";
  std::string text = std::to_string(e.events_caught()) + " of " + std::to_string(e.events()) + " caught (" +
                     percent(static_cast<double>(e.events_caught()) / static_cast<double>(e.events()));
  for (const auto& [kind, f] : e.kinds())
    text += (text.back() == '%' ? ": " : ", ") + kind + " " + std::to_string(f.caught) + "/" + std::to_string(f.events);
  return text + "), " + added;
}

/// A history with a label column: its alerts are not all false ones.
std::string labelled_note(const evaluation& e) {
  if (!e.labelled() || e.alerts() == 0) return "";
  const auto on_labelled = static_cast<std::size_t>(std::lround(e.precision() * static_cast<double>(e.alerts())));
  return ", " + std::to_string(on_labelled) + " of them on readings the history labels anomalous";
}

void print_holdout_report(const holdout_report& report, const train_request& request) {
  const evaluation& e = report.judged;
  std::cout << "hold-out (--holdout " << shortest(request.holdout) << "): trained on " << report.trained_on
            << ", judged on the " << report.judged_on << " after them\n"
            << "  coverage      " << percent(e.coverage()) << " of held-out readings inside the expected band\n"
            << "  centre error  " << fixed(e.centre_mae(), 1) << " " << to_string(e.unit()) << " mean absolute error\n"
            << "  alerts        " << e.alerts() << " held-out readings score above " << fixed(request.threshold, 2)
            << " (" << fixed(e.alerts_per_week(), 2) << " per week)" << alert_hours_note(e) << labelled_note(e) << "\n"
            << "  events        " << events_caught(report.with_events, request.seed) << "\n";
}

/// Lets the trainer ask for rehearsals of `history`, one at a time.
void offer_rehearsals(stage_context_impl& context, const std::vector<reading>& history, const train_request& request,
                      const std::vector<event_kind>& kinds, const time_zone& zone) {
  context.rehearsals = request.rehearsals;
  context.make_rehearsal = [&history, &request, &kinds, &zone](int i) {
    return rehearsal(history, kinds, i, request.seed, zone);
  };
}

/// Trains on the days before the hold-out into `model`.
void train_before_holdout(offline_session& session, const stage_spec& trainer, const train_request& request,
                          const std::vector<event_kind>& kinds, const std::vector<reading>& history,
                          const holdout& held, const std::string& model, progress_bar& bar) {
  const std::vector<reading> fit = days_to_fit(history, held);
  if (fit.empty() || fit.size() == history.size())
    throw std::runtime_error(
        "the hold-out split left no " + std::string(fit.empty() ? "training" : "held-out") +
        " readings: the history is " + days_of(history) + ", and --holdout " + shortest(request.holdout) + " of it " +
        (fit.empty() ? "is all of its days" : "is less than half a day") +
        "; give more history, another --holdout, or --holdout 0");
  stage_context_impl& context = session.context_of(trainer);
  context.on_progress = [&](double done) { bar.fraction(done); };
  offer_rehearsals(context, fit, request, kinds, session.zone());
  bar.phase("training on " + std::to_string(fit.size()) + " readings");
  try {
    const running_plugin running(session.crash_note(trainer));
    trainer.plugin->descriptor->train(fit, context, model);
  } catch (const option_error&) {
    throw;
  } catch (const std::exception& e) {  // most likely too little history: its counts are of the days trained on
    throw std::runtime_error(std::string(e.what()) + " (trained on the days before the hold-out: " + days_of(fit) +
                             " of the history's " + days_of(history) + "; --holdout 0 trains on all of it)");
  }
  context.make_rehearsal = {};  // it refers to `fit`, gone with this function
  bar.fraction(1);
}

/// Scores `readings` in order with a fresh scorer, judging the held-out days
/// only (see judge_held_out: the model never saw them, the scorer's running
/// state does).
evaluation judge(offline_session& session, const stage_spec& scorer_spec, const std::vector<reading>& readings,
                 const holdout& held, double threshold, progress_bar& bar) {
  const auto scorer = session.make_scorer(scorer_spec);
  evaluation e(threshold);
  std::size_t scored = 0;
  judge_held_out(e, readings, held, [&](const reading& r) {
    if (scored++ % 4096 == 0) bar.fraction(static_cast<double>(scored) / static_cast<double>(readings.size()));
    return scorer->score(r);
  });
  bar.fraction(1);
  return e;
}

/// Trains on the days before the hold-out, then judges the held-out days
/// with the model it wrote: as they were, for the alerts a week, and with
/// events added as `inject --seed` adds them, for the events caught. The
/// copy of the days to fit is gone before the training on all of the history.
holdout_report hold_out(offline_session& session, const stage_spec& trainer, const toml::table& settings,
                        const train_request& request, const std::vector<event_kind>& kinds,
                        const std::vector<reading>& history, progress_bar& bar) {
  const holdout held(history, request.holdout);
  const std::string model = request.out + ".holdout-" + std::to_string(::getpid());
  struct remove_on_exit {
    std::string path;
    ~remove_on_exit() { std::filesystem::remove(path); }
  } cleanup{model};
  train_before_holdout(session, trainer, request, kinds, history, held, model, bar);

  toml::table with_model = settings;
  with_model.insert_or_assign("model", model);
  const stage_spec* judged = session.declare_scorer(request.scorer, with_model);
  if (judged == nullptr) throw std::runtime_error(session.problems().to_string());
  bar.phase("scoring " + std::to_string(history.size()) + " readings, judging the last " +
            std::to_string(held.days()) + " days");
  evaluation as_they_were = judge(session, *judged, history, held, request.threshold, bar);
  bar.phase("scoring them again with events added, as inject --seed " + std::to_string(request.seed) + " adds them");
  evaluation with_events =
      judge(session, *judged, rehearsal(history, kinds, 0, request.seed, session.zone()), held, request.threshold, bar);
  return {days_of(history, [&](const reading& r) { return !held.contains(r); }),
          days_of(history, [&](const reading& r) { return held.contains(r); }), std::move(as_they_were),
          std::move(with_events)};
}

} // namespace

int train_command(const train_request& request) {
  offline_session session(request.offline);
  session.refuse_overwriting_inputs(request.out, "--out");
  diagnostics& problems = session.problems();
  if (refused(problems)) return 2;  // the time zone or the history source: nothing more can be declared
  toml::table settings;
  for (const auto& s : request.scorer_settings) add_setting(settings, s, problems);
  const stage_spec* trainer = session.declare_scorer(request.scorer, settings);
  if (trainer && !trainer->plugin->descriptor->train)
    problems.error({"(command line)"}, "scorer plugin '" + request.scorer + "' cannot be trained (it has no trainer)");
  if (!(request.holdout >= 0 && request.holdout < 1))
    problems.error({"(command line)"}, "--holdout must be a share of days from 0 (none) to below 1, e.g. 0.2");
  if (request.rehearsals < 0 || request.rehearsals > 100)
    problems.error({"(command line)"}, "--rehearsals must be a whole number from 0 (none) to 100, e.g. 5");
  std::vector<event_kind> kinds;
  try {
    kinds = choose_kinds(request.kind_specs, request.kinds);
  } catch (const std::invalid_argument& e) {
    problems.error({"(command line)"}, e.what());
  }
  if (!kinds.empty() && max_per_week(kinds) < 1 && (request.holdout > 0 || request.rehearsals > 0))
    problems.error({"(command line)"}, "these --kinds cannot be placed one a week, as the rehearsals and the hold-out "
                                       "report place them: each event needs a period of its longest duration plus "
                                       "a day; give shorter kinds, or --holdout 0 --rehearsals 0");
  return run_offline(session, "training", [&] {
    progress_bar bar(request.holdout > 0 ? 5 : 2);
    bar.phase("reading history");
    const std::vector<reading> history = session.read_history([&](std::size_t n) { bar.count(n, "readings"); });
    runtime_log().info("read " + std::to_string(history.size()) + " readings");
    if (!request.offline.timezone_given)  // learnt by hour of the day: the zone's hours, or UTC's
      runtime_log().warning("no --timezone: the model learns the hours of the day in UTC; give --timezone, the "
                            "house's zone (e.g. Europe/Paris), as the pipeline's timezone");
    std::optional<holdout_report> report;
    if (request.holdout > 0) report = hold_out(session, *trainer, settings, request, kinds, history, bar);
    bar.phase("training on all " + std::to_string(history.size()) + " readings");
    stage_context_impl& context = session.context_of(*trainer);
    context.on_progress = [&](double done) { bar.fraction(done); };
    offer_rehearsals(context, history, request, kinds, session.zone());
    const std::string summary = as_plugin(session.crash_note(*trainer), [&] {
      return trainer->plugin->descriptor->train(history, context, request.out);
    });
    bar.fraction(1);
    bar.finish();
    if (report) print_holdout_report(*report, request);
    std::cout << summary << "\n";
    return 0;
  });
}

} // namespace stream_smarts::runtime
