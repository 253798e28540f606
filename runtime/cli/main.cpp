// stream-smarts: watches household electricity readings as a stream and
// alerts when usage is unusual for the time of day.
#include "commands.hpp"
#include "crash_report.hpp"
#include "log.hpp"
#include "schema.hpp"
#include "stage.hpp"

#include <algorithm>
#include <csignal>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace stream_smarts::runtime;

const char* usage = R"(usage: stream-smarts <command> [options]

commands:
  run FILE                 run the pipeline in FILE until its sources are drained
                           or SIGINT/SIGTERM (drains in-flight readings, flushes sinks)
  validate FILE            check FILE without running it: exit 0 if valid, else
                           print file:line:column: message for every problem it
                           can find (checks that need a part in error, such as the
                           timezone, wait for it: fixing one may reveal others)
  plugins                  list every plugin found (kind, name, version, file)
  plugins --describe NAME  print a plugin's options (--markdown for a README table)
  train --scorer NAME --data FILE --out FILE
                           train a scorer on history (ts,wh CSV or JSON lines), after
                           a hold-out report: coverage, centre error, alerts, and
                           events caught (added as inject adds them)
        [--set KEY=VALUE]  a scorer option, e.g. --set hi_percentile=99
        [--holdout SHARE]  share of the days, the last ones, held out for the report: the
                           model is trained on the days before and judged on them
                           (default 0.2; 0 = none)
        [--rehearsals N]   for a scorer that learns where to spend its false-alarm budget
                           (sustained_load): N copies of the history with events added as
                           inject adds them, from --seed on (default 5; 0 = spread evenly)
        [--seed N]         where the rehearsals' and the report's events go (default 1):
                           the same seed, the same report and model
        [--kinds A,B] [--kind ...]  the rehearsals' and the report's kinds of events, as
                           for inject
  eval --model FILE [--model FILE]... --data FILE
                           score history with each model, side by side: alerts, and
                           against a label column precision, recall, F1, false
                           alert-hours/week and, per kind of event, the share caught
                           and the delay to the first alert
        [--set KEY=VALUE]  after a --model: a scoring option of that model's scorer,
                           e.g. --model m.dat --set excess_wh=3000 (also for report)
        [--events FILE.csv]  also write a row per model and event: its first and last
                           reading, caught or not, the first alert, the highest score
  report --model FILE --data FILE --out FILE.svg [--period 2008-01-14 | 2008-01]
                           draw expected range, actual readings and score of a day or a
                           month (default: the day with the highest score) as SVG
  inject --data FILE --out FILE.csv
                           add appliance-left-on events to history (over each reading's
                           span: --data-set span=1m for minute energies) and write it as
                           a labelled CSV (ts,wh,[its other columns,]label) for eval
        [--seed N]         where the events go (default 1): the same seed, the same file
        [--per-week RATE]  events per week (default 1): one in each 7 / RATE days
        [--kinds A,B]      which kinds (default: heater_night, oven_afternoon, heater_day
                           and any --kind defined)
        [--kind NAME:WATTS:FIRST_HOUR-LAST_HOUR:MIN_H-MAX_H[:ON_MIN/OFF_MIN]]
                           define a kind or change a built-in one (repeatable), e.g.
                           --kind heater_night:2000:22-1:2-7 (starts 22:00 to 01:00, lasts 2-7 h);
                           :3/2 cycles on a thermostat, 3 minutes on and 2 off

options of plugins, train, eval, report and inject:
  --plugin-dir DIR         also load plugins from DIR (repeatable); run and validate
                           take the pipeline's plugin_dirs instead. For every command,
                           STREAM_SMARTS_PLUGIN_PATH (colon separated) adds folders too

options of train, eval, report and inject:
  --timezone TZ            time zone of hour-of-day fields (default UTC)
  --source PLUGIN          read history with this source plugin (default replay);
                           --data fills the option the source declares as its history
                           file (replay's path); others (kafka_source) take --data-set
  --data-set KEY=VALUE     a history source option, e.g. --data-set end=2008-01-01T00:00:00
  --threshold SCORE        alert threshold for the figures (default 1.0; not inject)

options for every command:
  --log-level LEVEL        debug, info (default), warning or error; logs go to stderr
  --log-format FORMAT      text (default) or json: one JSON object per line
                           {"ts", "level", "stage", "message"}
  --version, --help
)";

/// The usage text, with the commands installed plugins bring.
void print_usage(std::ostream& out) {
  out << usage;
  const auto external = external_commands();
  if (external.empty()) return;
  out << "\ncommands from plugins (stream-smarts NAME --help):\n ";
  for (const auto& name : external) out << " " << name;
  out << "\n";
}

struct arguments {
  std::vector<std::string> positional;
  std::vector<std::string> given;  ///< the value options given, in order
  std::vector<std::string> plugin_dirs;
  std::string describe;
  bool markdown = false;
  offline_request offline;
  train_request train;
  eval_request eval;
  report_request report;
  inject_request inject;
  std::optional<double> threshold;
};

/// A finite number argument ("0.2", "1e3"); nullopt if it is not one.
std::optional<double> number_argument(const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

/// A whole number of 0 or more written in full: no sign, no fraction, in range.
std::optional<std::uint64_t> whole_argument(const std::string& text) {
  std::uint64_t v = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

constexpr std::string_view builtin_commands[] = {"run", "validate", "plugins", "train", "eval", "report", "inject"};

/// A command line the parser refuses: "stream-smarts: MESSAGE", exit 2.
struct usage_problem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::uint64_t whole(const std::string& arg, const std::string& value) {
  if (const auto n = whole_argument(value)) return *n;
  throw usage_problem(arg + " needs a whole number of 0 or more, not '" + value + "'");
}

double number(const std::string& arg, const std::string& value) {
  if (const auto n = number_argument(value)) return *n;
  throw usage_problem(arg + " needs a number, not '" + value + "'");
}

/// A score to alert above; a million is far above any score a model gives
/// (the figures and report's axes are drawn to it, so it must stay printable).
double score_threshold(const std::string& arg, const std::string& value) {
  const double n = number(arg, value);
  if (std::fabs(n) > 1e6) throw usage_problem(arg + " must be a score from -1000000 to 1000000, not '" + value + "'");
  return n;
}

/// What an option that takes a value does with it (usage_problem if it refuses it).
using value_option = void (*)(arguments&, const std::string& arg, const std::string& value);

/// An option that takes a value: its name, the commands that take it
/// (empty: every command), and what it does with its value.
struct option_entry {
  std::string_view name;
  std::string_view commands;
  value_option apply;
  bool repeats = false;  ///< may be given more than once (each adds); any other only once
};

constexpr std::string_view offline_commands = "train eval report inject";

/// Every option that takes a value, the commands it is for, and what it does
/// with it: one table, so an option cannot be known to the parser and handled
/// nowhere, nor given to a command that would ignore it.
const std::vector<option_entry>& value_options() {
  using S = const std::string&;
  static const std::vector<option_entry> table{
      {"--log-level", "", [](arguments&, S, S v) {
         const auto level = parse_log_level(v);
         if (!level) throw usage_problem("unknown log level '" + v + "' (debug, info, warning, error)");
         set_log_level(*level);
       }},
      {"--log-format", "", [](arguments&, S, S v) {
         const auto format = parse_log_format(v);
         if (!format) throw usage_problem("unknown log format '" + v + "' (text, json)");
         set_log_format(*format);
       }},
      {"--plugin-dir", "run validate plugins train eval report inject",  // run, validate: said in dispatch
       [](arguments& a, S, S v) { a.plugin_dirs.push_back(v); }, true},
      {"--describe", "plugins", [](arguments& a, S, S v) { a.describe = v; }},
      {"--scorer", "train", [](arguments& a, S, S v) { a.train.scorer = v; }},
      {"--data", offline_commands, [](arguments& a, S, S v) { a.offline.history.data = v; }},
      {"--source", offline_commands, [](arguments& a, S, S v) { a.offline.history.source = v; }},
      {"--out", "train report inject", [](arguments& a, S, S v) { a.train.out = a.report.out = a.inject.out = v; }},
      {"--timezone", offline_commands,
       [](arguments& a, S, S v) {
         a.offline.timezone = v;
         a.offline.timezone_given = true;
       }},
      {"--set", "train eval report", [](arguments& a, S, S v) {
         // After a --model (eval, report): an option of that model's scorer.
         if (a.eval.models.empty()) a.train.scorer_settings.push_back(v);
         else a.eval.model_settings.back().push_back(v);
       }, true},
      {"--data-set", offline_commands, [](arguments& a, S, S v) { a.offline.history.settings.push_back(v); }, true},
      {"--model", "eval report", [](arguments& a, S, S v) {
         a.eval.models.push_back(v);
         a.eval.model_settings.emplace_back();
       }, true},
      {"--period", "report", [](arguments& a, S, S v) { a.report.period = v; }},
      {"--events", "eval", [](arguments& a, S, S v) { a.eval.events_out = v; }},
      {"--kinds", "train inject", [](arguments& a, S, S v) { a.inject.kinds = a.train.kinds = v; }},
      {"--kind", "train inject", [](arguments& a, S, S v) {
         a.inject.kind_specs.push_back(v);
         a.train.kind_specs.push_back(v);
       }, true},
      {"--seed", "train inject", [](arguments& a, S arg, S v) { a.train.seed = a.inject.seed = whole(arg, v); }},
      {"--rehearsals", "train", [](arguments& a, S arg, S v) {
         a.train.rehearsals = static_cast<int>(std::min<std::uint64_t>(whole(arg, v), 1000000));
       }},
      {"--holdout", "train", [](arguments& a, S arg, S v) { a.train.holdout = number(arg, v); }},
      {"--per-week", "inject", [](arguments& a, S arg, S v) { a.inject.per_week = number(arg, v); }},
      {"--threshold", "train eval report", [](arguments& a, S arg, S v) { a.threshold = score_threshold(arg, v); }},
  };
  return table;
}

const option_entry* value_option_of(std::string_view arg) {
  for (const auto& entry : value_options())
    if (arg == entry.name) return &entry;
  return nullptr;
}

std::vector<std::string> option_names() {
  std::vector<std::string> names{"--help", "--version", "--markdown"};
  for (const auto& entry : value_options()) names.emplace_back(entry.name);
  return names;
}

std::vector<std::string> command_names() {
  std::vector<std::string> names(std::begin(builtin_commands), std::end(builtin_commands));
  for (const auto& name : external_commands()) names.push_back(name);
  return names;
}

/// "unknown command 'runn' (did you mean 'run'?)": the guess alone, as the
/// whole usage would bury it; without one, `note` and the usage.
int unknown(const std::string& what, const std::optional<std::string>& guess, const std::string& note = {}) {
  std::cerr << "stream-smarts: unknown " << what;
  if (guess) {
    std::cerr << " (did you mean '" << *guess << "'?); stream-smarts --help lists them all\n";
    return 2;
  }
  std::cerr << note << "\n";
  print_usage(std::cerr);
  return 2;
}

int unknown_command(const std::string& command) {
  const bool a_file = command.find('/') != std::string::npos || command.ends_with(".toml");
  return unknown("command '" + command + "'", nearest(command, command_names()),
                 a_file ? " (a pipeline file? stream-smarts run " + command + ")"
                        : " (nor a plugin's: no program " + external_command_path(command) + ")");
}

/// Whether `command` is one of `commands` (space separated; empty: all).
bool takes(std::string_view commands, std::string_view command) {
  if (commands.empty()) return true;
  std::size_t at = 0;
  while (at <= commands.size()) {
    const std::size_t end = std::min(commands.find(' ', at), commands.size());
    if (commands.substr(at, end - at) == command) return true;
    at = end + 1;
  }
  return false;
}

/// Parses argv; returns an exit code if it should stop (help, version, error).
std::optional<int> parse(int argc, char** argv, arguments& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_usage(std::cout);
      return 0;
    }
    if (arg == "--version") {
      std::cout << "stream-smarts " << STREAM_SMARTS_VERSION << "\n";
      return 0;
    }
    if (arg == "--markdown") {
      a.markdown = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      a.positional.push_back(arg);
      continue;
    }
    const option_entry* option = value_option_of(arg);
    if (option == nullptr) return unknown("option " + arg, nearest(arg, option_names()));
    if (i + 1 >= argc) {
      std::cerr << "stream-smarts: " << arg << " needs a value\n";
      print_usage(std::cerr);
      return 2;
    }
    if (!option->repeats && std::find(a.given.begin(), a.given.end(), arg) != a.given.end()) {
      // The last one won without a word: eval --data a.csv --data b.csv judged b.csv only.
      std::cerr << "stream-smarts: " << arg << " is given twice; it takes one value\n";
      return 2;
    }
    a.given.push_back(arg);
    try {
      option->apply(a, arg, argv[++i]);
    } catch (const usage_problem& e) {
      std::cerr << "stream-smarts: " << e.what() << "\n";
      return 2;
    }
  }
  return std::nullopt;
}

bool is_builtin(std::string_view command) {
  return std::find(std::begin(builtin_commands), std::end(builtin_commands), command) != std::end(builtin_commands);
}

int missing(const char* what) {
  std::cerr << "stream-smarts: " << what << "\n";
  return 2;
}

/// An option the command would ignore, said: "--period is not an option of
/// eval (it is for report)". Nothing for a command that is not built in.
std::optional<std::string> misplaced_option(const arguments& a) {
  const std::string command = a.positional.empty() ? "" : a.positional[0];
  if (!is_builtin(command)) return std::nullopt;
  for (const auto& name : a.given) {
    const option_entry* entry = value_option_of(name);
    if (takes(entry->commands, command)) continue;
    std::string owners;
    for (const char c : entry->commands) owners += c == ' ' ? std::string(", ") : std::string(1, c);
    return name + " is not an option of " + command + " (it is for " + owners + ")";
  }
  return std::nullopt;
}

int dispatch(arguments& a) {
  if (const auto problem = misplaced_option(a)) return missing(problem->c_str());
  const std::string command = a.positional.empty() ? "" : a.positional[0];
  if (a.markdown && (command != "plugins" || a.describe.empty()))
    return missing("--markdown is for plugins --describe NAME (a README's options table)");
  const std::size_t operands = a.positional.size() - (command.empty() ? 0 : 1);
  if ((command == "run" || command == "validate") && operands == 1 && a.plugin_dirs.empty())
    return command == "run" ? run_command(a.positional[1]) : validate_command(a.positional[1]);
  if ((command == "run" || command == "validate") && !a.plugin_dirs.empty()) {
    std::cerr << "stream-smarts: for " << command << ", list plugin folders in the pipeline's plugin_dirs "
              << "or STREAM_SMARTS_PLUGIN_PATH\n";
    return 2;
  }
  if (command == "plugins" && operands == 0) return plugins_command(a.plugin_dirs, a.describe, a.markdown);
  a.offline.plugin_dirs = a.plugin_dirs;
  const bool has_history = !a.offline.history.data.empty() || a.offline.history.source != "replay";
  if (command == "train" && operands == 0) {
    if (a.train.scorer.empty() || !has_history || a.train.out.empty())
      return missing("train needs --scorer, --data (or --source) and --out");
    a.train.offline = a.offline;
    a.train.threshold = a.threshold.value_or(a.train.threshold);
    return train_command(a.train);
  }
  if ((command == "eval" || command == "report") && !a.train.scorer_settings.empty())
    return missing("--set comes after the --model it is for: --model FILE --set KEY=VALUE");
  if (command == "eval" && operands == 0) {
    if (a.eval.models.empty() || !has_history) return missing("eval needs --model (one or more) and --data");
    a.eval.offline = a.offline;
    a.eval.threshold = a.threshold.value_or(a.eval.threshold);
    return eval_command(a.eval);
  }
  if (command == "report" && operands == 0) {
    if (a.eval.models.size() != 1 || !has_history || a.report.out.empty())
      return missing("report needs one --model, --data and --out");
    a.report.offline = a.offline;
    a.report.model = a.eval.models.front();
    a.report.model_settings = a.eval.model_settings.front();
    a.report.threshold = a.threshold.value_or(a.report.threshold);
    return report_command(a.report);
  }
  if (command == "inject" && operands == 0) {
    if (!has_history || a.inject.out.empty()) return missing("inject needs --data (or --source) and --out");
    a.inject.offline = a.offline;
    return inject_command(a.inject);
  }
  if (command.empty()) std::cerr << "stream-smarts: no command given\n";
  else if (!is_builtin(command)) return unknown_command(command);
  else if (command == "run" || command == "validate")
    std::cerr << "stream-smarts: " << command << " needs one pipeline file: stream-smarts " << command << " FILE\n";
  else std::cerr << "stream-smarts: " << command << " takes options only, not '" << a.positional[1] << "'\n";
  print_usage(std::cerr);
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  // `stream-smarts broker ...` and other plugin commands take their own options.
  if (argc > 1 && argv[1][0] != '-' && !is_builtin(argv[1])) {
    const auto external = external_commands();
    if (std::find(external.begin(), external.end(), argv[1]) != external.end())
      return exec_external_command(argv[1], argc - 2, argv + 2);
    return unknown_command(argv[1]);  // before its options, which are not ours: not "unknown option --port"
  }
  // A closed pipe is a write error for whoever writes (the console sink
  // fails its stage and says so), not a silent end of the whole process.
  std::signal(SIGPIPE, SIG_IGN);
  // Plugin code runs while loading, validating and stopping too, not only in a running graph.
  install_crash_report();
  arguments a;
  if (auto code = parse(argc, argv, a)) return *code;
  try {
    return dispatch(a);
  } catch (const std::exception& e) {  // the last resort: say what went wrong rather than abort
    std::cerr << "stream-smarts: " << without_secrets(e.what()) << "\n";
  } catch (...) {
    std::cerr << "stream-smarts: a plugin " << not_an_exception << "\n";
  }
  return 1;
}
