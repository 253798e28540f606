// `stream-smarts eval`: score one history with one or more models and print
// how each does, side by side: alerts, and against the history's `label`
// column precision, recall, F1 and false alerts per week.
#include "commands.hpp"

#include "evaluation.hpp"
#include "log.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>

namespace stream_smarts::runtime {
namespace {

void print_table(const std::vector<std::string>& names, const std::vector<std::string>& scorers,
                 const std::vector<evaluation>& results) {
  std::size_t width = 5;
  for (const auto& n : names) width = std::max(width, n.size());
  const int w = static_cast<int>(width);
  std::printf("%-*s  %-16s %8s %9s %9s %7s %6s %11s %14s\n", w, "model", "scorer", "alerts", "per week",
              "precision", "recall", "F1", "false/week", "events caught");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const evaluation& e = results[i];
    const std::string events =
        e.labelled() ? std::to_string(e.events_caught()) + "/" + std::to_string(e.events()) : "-";
    std::printf("%-*s  %-16s %8zu %9s %9s %7s %6s %11s %14s\n", w, names[i].c_str(), scorers[i].c_str(), e.alerts(),
                fixed(e.alerts_per_week(), 2).c_str(), fixed(e.precision(), 3).c_str(), fixed(e.recall(), 3).c_str(),
                fixed(e.f1(), 3).c_str(), fixed(e.false_alerts_per_week(), 2).c_str(), events.c_str());
  }
}

} // namespace

int eval_command(const eval_request& request) {
  offline_session session(request.offline);
  if (!session.problems().empty()) {
    std::cerr << session.problems().to_string() << "\n";
    return 2;
  }
  std::vector<offline_session::model_scorer> models;
  std::vector<std::string> scorers;
  for (const auto& path : request.models) {
    try {
      models.push_back(session.scorer_for_model(path));
      scorers.push_back(models.back().spec->plugin->info().name);
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
      return 2;
    }
  }
  try {
    const std::vector<reading> history = session.read_history();
    std::vector<evaluation> results(models.size(), evaluation(request.threshold));
    for (const auto& r : history)
      for (std::size_t i = 0; i < models.size(); ++i) results[i].add(r, models[i].instance->score(r));
    const evaluation& any = results.front();
    std::cout << "history: " << history.size() << " readings on " << fixed(any.weeks() * 7, 0) << " days, "
              << any.anomalous() << " labelled anomalous; alert = score above " << fixed(request.threshold, 2)
              << "\n";
    if (!any.labelled())
      std::cout << "(the history has no `label` column, 1 = truly anomalous: precision, recall and F1 need one)\n";
    print_table(request.models, scorers, results);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "evaluation failed: " << e.what() << "\n";
    return 1;
  }
}

} // namespace stream_smarts::runtime
