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
#include <optional>
#include <sstream>

namespace stream_smarts::runtime {
namespace {

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

/// The kinds to inject and a rate they fit; the message for the user if not.
std::optional<std::string> rate_problem(const inject_request& request, const std::vector<event_kind>& kinds) {
  if (!(request.per_week > 0))
    return "--per-week must be a number of events per week above 0, such as 1 or 0.5, not " +
           number_text(request.per_week);
  if (request.per_week > max_per_week(kinds))
    return "--per-week " + number_text(request.per_week) +
           " is too many: each event needs a period of its longest duration plus a day to be placed in; with these "
           "kinds at most " + fixed(max_per_week(kinds) - 0.005, 2) + " per week";
  return std::nullopt;
}

/// "injected 52 events into ... readings from A to B (...): heater_night 17, ...; N readings changed; wrote F"
std::string summary(const inject_request& request, const std::vector<event_kind>& kinds,
                    const std::vector<reading>& history, const injection& done) {
  const auto [first, last] = std::minmax_element(
      history.begin(), history.end(), [](const reading& a, const reading& b) { return a.ts_ms < b.ts_ms; });
  std::vector<std::size_t> per_kind(kinds.size(), 0);
  std::size_t placed = 0, in_gaps = 0;
  for (const auto& e : done.events) {
    if (e.readings == 0) {
      ++in_gaps;
      continue;
    }
    ++placed;
    ++per_kind[e.kind];
  }
  std::string by_kind;
  for (std::size_t k = 0; k < kinds.size(); ++k)
    by_kind += (k ? ", " : "") + kinds[k].name + " " + std::to_string(per_kind[k]);
  std::string text = "injected " + std::to_string(placed) + " events into " + std::to_string(history.size()) +
                     " readings from " + day_of(*first) + " to " + day_of(*last) + " (--per-week " +
                     number_text(request.per_week) + ", --seed " + std::to_string(request.seed) + "): " + by_kind +
                     "; " + std::to_string(std::count(done.touched.begin(), done.touched.end(), true)) + " readings changed";
  if (in_gaps > 0) text += "; left out " + std::to_string(in_gaps) + " more that fell wholly or partly where the history has no "
                                                                   "readings";
  if (done.events.empty() && in_gaps == 0)
    text += " (the history is shorter than one period of " + number_text(7 / request.per_week) + " days: no event)";
  return text + "; wrote " + request.out;
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
  if (const auto problem = rate_problem(request, kinds)) {
    std::cerr << "stream-smarts: " << *problem << "\n";
    return 2;
  }
  offline_session session(request.offline);
  session.refuse_overwriting_inputs(request.out, "--out");
  std::vector<reading> history;
  if (const int code = run_offline(session, "reading the history", [&] {
        history = session.read_history();
        return 0;
      }))
    return code;
  if (!request.offline.timezone_given)  // the events' hours are the zone's: a night heater from 22:00 UTC
    runtime_log().warning("no --timezone: events start at hours of the day in UTC, and the times are written in "
                          "UTC; give --timezone, the house's zone (e.g. Europe/Paris), for its own hours");
  const injection done = inject_events(history, kinds, request.per_week, request.seed, session.zone());
  try {
    write_output(request.out, [&](std::ostream& out) {
      const labelled_csv csv(history);
      out << csv.header();
      for (std::size_t i = 0; i < history.size(); ++i) out << csv.line(history[i]);
    });
  } catch (const std::runtime_error& e) {
    std::cerr << "stream-smarts: " << e.what() << "\n";
    return 1;
  }
  std::cerr << summary(request, kinds, history, done) << "\n";
  return 0;
}

} // namespace stream_smarts::runtime
