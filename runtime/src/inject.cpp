// `stream-smarts inject`: read a history with a source plugin, add
// appliance-left-on events to it (injection.hpp) and write it as a labelled
// CSV (`ts,wh,...,label`, the history's other columns kept) that `eval
// --data` reads back, so anyone can judge a model on their own history.
#include "commands.hpp"

#include "injection.hpp"
#include "log.hpp"
#include "output.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

namespace stream_smarts::runtime {
namespace {

std::string day_of(const reading& r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", r.local.year, r.local.month, r.local.day);
  return buf;
}

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

} // namespace

int inject_command(const inject_request& request) {
  std::vector<event_kind> kinds;
  try {
    kinds = choose_kinds(request.kind_specs, request.kinds);
  } catch (const std::invalid_argument& e) {
    std::cerr << "stream-smarts: " << e.what() << "\n";
    return 2;
  }
  if (!(request.per_week > 0)) {
    std::cerr << "stream-smarts: --per-week must be a number of events per week above 0, such as 1 or 0.5, not "
              << number_text(request.per_week) << "\n";
    return 2;
  }
  if (request.per_week > max_per_week(kinds)) {
    std::cerr << "stream-smarts: --per-week " << number_text(request.per_week)
              << " is too many: each event needs a period of its longest duration plus a day to be placed in; "
              << "with these kinds at most " << fixed(max_per_week(kinds) - 0.005, 2) << " per week\n";
    return 2;
  }
  offline_session session(request.offline);
  if (!session.problems().empty()) {
    std::cerr << session.problems().to_string() << "\n";
    return 2;
  }
  std::vector<reading> history;
  try {
    history = session.read_history();
  } catch (const option_error& e) {
    std::cerr << "(command line): " << describe_option_error(e) << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "reading the history failed: " << e.what() << "\n";
    return 1;
  }
  if (history.empty()) {
    std::cerr << "stream-smarts: the history has no readings: nothing to inject into\n";
    return 1;
  }
  std::set<std::string> meters;
  for (const auto& r : history) meters.insert(r.meter);
  if (meters.size() > 1) {
    std::string names;
    for (const auto& m : meters) names += (names.empty() ? "" : ", ") + m;
    std::cerr << "stream-smarts: the history holds readings of " << meters.size() << " meters (" << names
              << "); inject works on one meter's history\n";
    return 2;
  }

  const auto [first_reading, last_reading] = std::minmax_element(
      history.begin(), history.end(), [](const reading& a, const reading& b) { return a.ts_ms < b.ts_ms; });
  const std::string first_day = day_of(*first_reading), last_day = day_of(*last_reading);
  auto [events, touched] = inject_events(history, kinds, request.per_week, request.seed, session.zone());

  try {
    write_output(request.out, [&](std::ostream& out) {
      const labelled_csv csv(history);
      out << csv.header();
      for (std::size_t i = 0; i < history.size(); ++i) out << csv.line(history[i], touched[i]);
    });
  } catch (const std::runtime_error& e) {
    std::cerr << "stream-smarts: " << e.what() << "\n";
    return 1;
  }

  std::vector<std::size_t> per_kind(kinds.size(), 0);
  std::size_t placed = 0, in_gaps = 0, changed = 0;
  for (const auto& e : events) {
    if (e.readings == 0) {
      ++in_gaps;
      continue;
    }
    ++placed;
    ++per_kind[e.kind];
  }
  for (bool t : touched) changed += t;
  std::string by_kind;
  for (std::size_t k = 0; k < kinds.size(); ++k)
    by_kind += (k ? ", " : "") + kinds[k].name + " " + std::to_string(per_kind[k]);
  std::cerr << "injected " << placed << " events into " << history.size() << " readings from "
            << first_day << " to " << last_day << " (--per-week "
            << number_text(request.per_week) << ", --seed " << request.seed << "): " << by_kind << "; " << changed
            << " readings changed";
  if (in_gaps > 0)
    std::cerr << "; left out " << in_gaps << " more that fell where the history has no readings";
  if (events.empty() && in_gaps == 0)
    std::cerr << " (the history is shorter than one period of " << number_text(7 / request.per_week)
              << " days: no event)";
  std::cerr << "; wrote " << request.out << "\n";
  return 0;
}

} // namespace stream_smarts::runtime
