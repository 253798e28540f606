// `stream-smarts eval`: score one history with one or more models and print
// how each does, side by side: alerts, and against the history's `label`
// column precision, recall, F1, false alert-hours per week and, per event
// kind (label value), the share of events caught and how soon; with
// --events, a CSV row per model and event. The figures come from
// evaluation.hpp; this file only prints them.
#include "commands.hpp"

#include "evaluation.hpp"
#include "log.hpp"
#include "output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace stream_smarts::runtime {
namespace {

int name_width(const std::vector<std::string>& names) {
  std::size_t width = 5;
  for (const auto& n : names) width = std::max(width, n.size());
  return static_cast<int>(width);
}

void print_table(const std::vector<std::string>& names, const std::vector<std::string>& scorers,
                 const std::vector<evaluation>& results) {
  const int w = name_width(names);
  std::printf("%-*s  %-16s %8s %9s %9s %7s %6s %13s %14s\n", w, "model", "scorer", "alerts", "per week",
              "precision", "recall", "F1", "false h/week", "events caught");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const evaluation& e = results[i];
    const std::string events =
        e.labelled() ? std::to_string(e.events_caught()) + "/" + std::to_string(e.events()) : "-";
    std::printf("%-*s  %-16s %8zu %9s %9s %7s %6s %13s %14s\n", w, names[i].c_str(), scorers[i].c_str(), e.alerts(),
                fixed(e.alerts_per_week(), 2).c_str(), fixed(e.precision(), 3).c_str(), fixed(e.recall(), 3).c_str(),
                fixed(e.f1(), 3).c_str(), fixed(e.false_alert_hours_per_week(), 2).c_str(), events.c_str());
  }
  for (std::size_t i = 0; i < results.size(); ++i)  // what alerts_per_week is compared with
    if (const std::string note = alert_hours_note(results[i]); !note.empty())
      std::printf("%s: %zu alerts%s\n", names[i].c_str(), results[i].alerts(), note.c_str());
}

/// Per model, per event kind: how many events, how many caught, and how
/// long after the event's first reading the first alert came.
void print_kinds(const std::vector<std::string>& names, const std::vector<evaluation>& results) {
  const int w = name_width(names);
  std::size_t kind_width = 4;
  for (const auto& [kind, figures] : results.front().kinds()) kind_width = std::max(kind_width, kind.size());
  const int k = static_cast<int>(kind_width);
  std::printf("\nevents by kind (delay: from the event's first reading to its first alert)\n");
  std::printf("%-*s  %-*s %7s %7s %6s %13s %10s\n", w, "model", k, "kind", "events", "caught", "share",
              "median delay", "max delay");
  for (std::size_t i = 0; i < results.size(); ++i)
    for (const auto& [kind, f] : results[i].kinds())
      std::printf("%-*s  %-*s %7zu %7zu %6s %13s %10s\n", w, names[i].c_str(), k, kind.c_str(), f.events, f.caught,
                  fixed(f.share_caught(), 2).c_str(), readable_duration(f.median_delay_ms()).c_str(),
                  readable_duration(f.max_delay_ms()).c_str());
}

/// One CSV row per model and event, for a person or a spreadsheet to see
/// which events a model missed and how near it came (--events).
void write_events_csv(std::ostream& out, const std::vector<std::string>& names,
                      const std::vector<evaluation>& results) {
  out << "model,kind,first_reading,last_reading,readings,caught,first_alert,delay_min,highest_score\n";
  for (std::size_t i = 0; i < results.size(); ++i)
    for (const event_outcome& e : results[i].event_outcomes()) {
      out << csv_field(names[i]) << ',' << csv_field(e.kind) << ',' << format_local_iso8601(e.first.local) << ','
          << format_local_iso8601(e.last.local) << ',' << e.readings << ',';
      if (e.caught())
        out << "1," << format_local_iso8601(e.first_alert->local) << ','
            << shortest(static_cast<double>(e.delay_ms()) / 60000);
      else
        out << "0,,";
      out << ',' << (std::isfinite(e.highest_score) ? fixed(e.highest_score, 3) : std::string()) << '\n';
    }
}

} // namespace

int eval_command(const eval_request& request) {
  offline_session session(request.offline);
  session.refuse_overwriting_inputs(request.events_out, "--events", request.models);
  return run_offline(session, "evaluation", [&] {
    std::vector<offline_session::model_scorer> models;
    std::vector<std::string> scorers;
    for (std::size_t i = 0; i < request.models.size(); ++i) {
      models.push_back(session.scorer_for_model(
          request.models[i], i < request.model_settings.size() ? request.model_settings[i] : std::vector<std::string>{}));
      scorers.push_back(models.back().spec->plugin->info().name);
    }
    const std::vector<reading> history = session.read_history();
    std::vector<evaluation> results(models.size(), evaluation(request.threshold));
    for (const auto& r : history)
      for (std::size_t i = 0; i < models.size(); ++i) results[i].add(r, models[i].instance->score(r));
    if (!request.events_out.empty()) {
      write_output(request.events_out, [&](std::ostream& out) { write_events_csv(out, request.models, results); });
      const std::size_t events = results.front().events();
      std::cerr << "wrote " << request.events_out << ": " << events * results.size() << " rows (" << events
                << " events, " << results.size() << (results.size() == 1 ? " model)\n" : " models)\n");
    }
    const evaluation& any = results.front();
    if (any.anomalous() * 2 > history.size())  // a label column whose "normal" this does not read as normal
      runtime_log().warning(std::to_string(any.anomalous()) + " of " + std::to_string(history.size()) +
                            " readings are labelled anomalous: a reading not anomalous has an empty label, 0, "
                            "false or no");
    std::cout << "history: " << history.size() << " readings on " << fixed(any.weeks() * 7, 0) << " days, "
              << any.anomalous() << " labelled anomalous; alert = score above " << fixed(request.threshold, 2)
              << "\n";
    if (!any.labelled())
      std::cout << "(the history has no `label` column, 1 = truly anomalous: precision, recall and F1 need one)\n";
    print_table(request.models, scorers, results);
    if (any.events() > 0) print_kinds(request.models, results);
    return 0;
  });
}

} // namespace stream_smarts::runtime
