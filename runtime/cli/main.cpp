// stream-smarts: watches household electricity readings as a stream and
// alerts when usage is unusual for the time of day.
#include "commands.hpp"
#include "log.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
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
                           print file:line:column: message for every problem
  plugins                  list every plugin found (kind, name, version, file)
  plugins --describe NAME  print a plugin's options (--markdown for a README table)
  train --scorer NAME --data FILE --out FILE
                           train a scorer on history (ts,wh CSV or JSON lines)
        [--timezone TZ]    time zone of hour-of-day fields (default UTC)
        [--set KEY=VALUE]  a scorer option, e.g. --set hi_percentile=99
        [--data-set KEY=VALUE]  a replay option for the history, e.g. --data-set end=2008-01-01T00:00:00

options for every command:
  --log-level LEVEL        debug, info (default), warning or error; logs go to stderr
  --plugin-dir DIR         also load plugins from DIR (repeatable); so does
                           STREAM_SMARTS_PLUGIN_PATH (colon separated)
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
  std::vector<std::string> plugin_dirs;
  std::string describe;
  bool markdown = false;
  train_request train;
};

/// Parses argv; returns an exit code if it should stop (help, version, error).
std::optional<int> parse(int argc, char** argv, arguments& a) {
  auto value = [&](int& i) -> std::optional<std::string> {
    if (i + 1 >= argc) return std::nullopt;
    return std::string(argv[++i]);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::optional<std::string> v;
    if (arg == "--help" || arg == "-h") {
      print_usage(std::cout);
      return 0;
    } else if (arg == "--version") {
      std::cout << "stream-smarts " << STREAM_SMARTS_VERSION << "\n";
      return 0;
    } else if (arg == "--markdown") {
      a.markdown = true;
      continue;
    } else if (arg.rfind("--", 0) != 0) {
      a.positional.push_back(arg);
      continue;
    } else if (!(v = value(i))) {
      std::cerr << "stream-smarts: " << arg << " needs a value\n" ; print_usage(std::cerr);
      return 2;
    }
    if (arg == "--log-level") {
      auto level = parse_log_level(*v);
      if (!level) {
        std::cerr << "stream-smarts: unknown log level '" << *v << "' (debug, info, warning, error)\n";
        return 2;
      }
      set_log_level(*level);
    } else if (arg == "--plugin-dir") a.plugin_dirs.push_back(*v);
    else if (arg == "--describe") a.describe = *v;
    else if (arg == "--scorer") a.train.scorer = *v;
    else if (arg == "--data") a.train.data = *v;
    else if (arg == "--out") a.train.out = *v;
    else if (arg == "--timezone") a.train.timezone = *v;
    else if (arg == "--set") a.train.scorer_settings.push_back(*v);
    else if (arg == "--data-set") a.train.source_settings.push_back(*v);
    else {
      std::cerr << "stream-smarts: unknown option " << arg << "\n";
      print_usage(std::cerr);
      return 2;
    }
  }
  return std::nullopt;
}

int dispatch(arguments& a) {
  const std::string command = a.positional.empty() ? "" : a.positional[0];
  const std::size_t operands = a.positional.size() - (command.empty() ? 0 : 1);
  if ((command == "run" || command == "validate") && operands == 1 && a.plugin_dirs.empty())
    return command == "run" ? run_command(a.positional[1]) : validate_command(a.positional[1]);
  if ((command == "run" || command == "validate") && !a.plugin_dirs.empty()) {
    std::cerr << "stream-smarts: for " << command << ", list plugin folders in the pipeline's plugin_dirs "
              << "or STREAM_SMARTS_PLUGIN_PATH\n";
    return 2;
  }
  if (command == "plugins" && operands == 0) return plugins_command(a.plugin_dirs, a.describe, a.markdown);
  if (command == "train" && operands == 0) {
    if (a.train.scorer.empty() || a.train.data.empty() || a.train.out.empty()) {
      std::cerr << "stream-smarts: train needs --scorer, --data and --out\n";
      return 2;
    }
    a.train.plugin_dirs = a.plugin_dirs;
    return train_command(a.train);
  }
  std::cerr << (command.empty() ? "stream-smarts: no command given\n"
                                : "stream-smarts: cannot use '" + command + "' like that\n");
  print_usage(std::cerr);
  return 2;
}

bool is_builtin(std::string_view command) {
  for (std::string_view builtin : {"run", "validate", "plugins", "train"})
    if (command == builtin) return true;
  return false;
}

} // namespace

int main(int argc, char** argv) {
  // `stream-smarts broker ...` and other plugin commands take their own options.
  if (argc > 1 && argv[1][0] != '-' && !is_builtin(argv[1])) {
    const auto external = external_commands();
    if (std::find(external.begin(), external.end(), argv[1]) != external.end())
      return exec_external_command(argv[1], argc - 2, argv + 2);
  }
  arguments a;
  if (auto code = parse(argc, argv, a)) return *code;
  return dispatch(a);
}
