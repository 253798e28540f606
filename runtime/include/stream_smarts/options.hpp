// A plugin's options: declared once (name, type, default, description); the
// runtime validates pipeline files against the declaration, fills defaults,
// and prints documentation from it. Plugins only read validated values.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace stream_smarts {

/// The types an option may take; combine with | where an option accepts
/// several (e.g. speed = "max" or speed = 60).
enum class option_type : unsigned {
  string = 1u << 0,
  integer = 1u << 1,
  number = 1u << 2,       ///< a float; integers are accepted and converted
  boolean = 1u << 3,
  duration = 1u << 4,     ///< a string such as "250ms", "30s", "5m", "1h30m"
  string_list = 1u << 5,
  number_list = 1u << 6,
  number_matrix = 1u << 7, ///< a list of lists of numbers, e.g. [[lo, hi], ...]
  string_table = 1u << 8,  ///< a sub-table of string values, e.g. pass-through properties
  /// A string never shown in logs, errors or `validate` output: a token, a
  /// webhook URL. Given as `name = "${ENV_VAR}"` or, read from a file,
  /// `name_file = "/path"` (the runtime accepts both for every secret).
  secret = 1u << 9,
};
constexpr option_type operator|(option_type a, option_type b) {
  return static_cast<option_type>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool accepts(option_type mask, option_type t) {
  return (static_cast<unsigned>(mask) & static_cast<unsigned>(t)) != 0;
}

/// A duration as a pipeline file writes it: "3h", "5m", "30s", "250ms",
/// "30h10m" (not "1810m"); for messages about durations.
inline std::string duration_text(std::chrono::milliseconds ms) {
  std::int64_t n = ms.count();
  if (n <= 0) return std::to_string(n) + (n == 0 ? "s" : "ms");
  std::string text;
  for (const auto& [unit, unit_ms] : {std::pair{"h", 3'600'000LL}, {"m", 60'000LL}, {"s", 1'000LL}, {"ms", 1LL}}) {
    if (n >= unit_ms) text += std::to_string(n / unit_ms) + unit;
    n %= unit_ms;
  }
  return text;
}

using number_matrix = std::vector<std::vector<double>>;
using string_table = std::map<std::string, std::string>;

/// A validated option value; monostate means "not set and no default".
using option_value = std::variant<std::monostate, std::string, std::int64_t, double, bool, std::chrono::milliseconds,
                                  std::vector<std::string>, std::vector<double>, number_matrix, string_table>;

/// One end of an option_range: a number, or a duration (as milliseconds).
struct option_bound {
  double value;
  bool duration = false;
  bool whole_ms = true;  ///< false for a duration finer than a millisecond, which no option holds
  option_bound(double v) : value(v) {}
  template <class Rep, class Period>
  option_bound(std::chrono::duration<Rep, Period> d)
      : value(static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count())),
        duration(true),
        whole_ms(std::chrono::duration_cast<std::chrono::milliseconds>(d) == d) {}
};

/// The values an integer, number or duration option allows, both ends
/// included unless `above`; a duration's in milliseconds. The runtime
/// refuses any other where it is written, and the options table shows it.
struct option_range {
  static constexpr double none = std::numeric_limits<double>::infinity();
  double least = -none;
  double most = none;
  bool above = false;  ///< least itself is refused: "above 0"
  /// How the ends were given, for the runtime to check against the option's
  /// type (a plain number on a duration option would be milliseconds).
  bool given_as_numbers = false, given_as_durations = false, finer_than_ms = false;

  bool bounded() const { return least != -none || most != none; }
  bool allows(double v) const { return (above ? v > least : v >= least) && v <= most; }
  double noted(option_bound b) {
    (b.duration ? given_as_durations : given_as_numbers) = true;
    finer_than_ms = finer_than_ms || !b.whole_ms;
    return b.value;
  }
};

/// What the offline commands (train, eval, report, inject), which read a
/// whole history through a source, give a source's option; declared on the
/// option so that the runtime needs no option's name.
struct option_history {
  bool file = false;     ///< `--data FILE` gives it: the history's file
  option_value value{};  ///< set to read a history, whatever --data-set says (monostate: none)
};

/// One option as a plugin declares it.
struct option_spec {
  std::string name{};
  option_type type = option_type::string;
  option_value default_value{};        ///< used when the pipeline leaves the option out
  bool required = false;
  std::string description{};
  std::vector<std::string> choices{};  ///< for strings: the allowed values (empty: any)
  bool training = false;               ///< read only by `stream-smarts train` (see training_option)
  option_range range{};                ///< for integers, numbers and durations: the values allowed
  option_history history{};            ///< a source's: what the offline commands give it

  /// Declares the values allowed, e.g. optional_option(...).within(1s, 1h)
  /// or .above(0).at_most(84).
  option_spec within(option_bound least, option_bound most) && {
    return std::move(*this).at_least(least).at_most(most);
  }
  option_spec at_least(option_bound least) && {
    range.least = range.noted(least);
    range.above = false;
    return std::move(*this);
  }
  option_spec above(option_bound least) && {
    range.least = range.noted(least);
    range.above = true;
    return std::move(*this);
  }
  option_spec at_most(option_bound most) && {
    range.most = range.noted(most);
    return std::move(*this);
  }

  /// A source's option that `--data FILE` of the offline commands gives
  /// (the replay source's path): at most one option of a source.
  option_spec history_file() && {
    history.file = true;
    return std::move(*this);
  }
  /// The value a source's option takes when the offline commands read a
  /// history, which is all there is now, read flat out: the replay
  /// source's speed "max", a topic's stop_at_end true. --data-set may not
  /// change it.
  option_spec history_value(option_value value) && {
    history.value = std::move(value);
    return std::move(*this);
  }
};

/// Declares a required option.
inline option_spec required_option(std::string name, option_type type, std::string description) {
  option_spec spec;  // field by field: the SDK is C++17, without designated initializers
  spec.name = std::move(name);
  spec.type = type;
  spec.required = true;
  spec.description = std::move(description);
  return spec;
}

/// Declares an optional option with a default (monostate: no default).
inline option_spec optional_option(std::string name, option_type type, option_value default_value,
                                   std::string description, std::vector<std::string> choices = {}) {
  option_spec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_value = std::move(default_value);
  spec.description = std::move(description);
  spec.choices = std::move(choices);
  return spec;
}

/// Declares an option only `stream-smarts train` reads (a scorer's): in a
/// pipeline, or after `eval --model`, a scorer scores with what its model
/// was trained with, so the runtime refuses such an option there. Its
/// description starts "Training: " so that the options table says so.
inline option_spec training_option(std::string name, option_type type, option_value default_value,
                                   std::string description, std::vector<std::string> choices = {}) {
  option_spec spec = optional_option(std::move(name), type, std::move(default_value),
                                     "Training: " + std::move(description), std::move(choices));
  spec.training = true;
  return spec;
}

/// Thrown by a plugin that finds an option's value unusable (a band with
/// hi <= lo, a model file that cannot be read). The runtime reports it at
/// the option's place in the pipeline file.
// Default visibility, so the runtime can catch it from a plugin built with
// hidden symbols whatever the toolchain.
class __attribute__((visibility("default"))) option_error : public std::runtime_error {
public:
  option_error(std::string option, const std::string& message)
      : std::runtime_error(message), option_(std::move(option)) {}
  const std::string& option() const { return option_; }

private:
  std::string option_;
};

/// The validated options of one stage: every declared option is present,
/// either as given in the pipeline file or as its default.
class options {
public:
  options() = default;
  explicit options(std::map<std::string, option_value, std::less<>> values) : values_(std::move(values)) {}

  /// True if the option was given or has a default.
  bool has(std::string_view name) const {
    auto it = values_.find(name);
    return it != values_.end() && !std::holds_alternative<std::monostate>(it->second);
  }
  /// True if the option is declared and holds a T (for options of several types).
  template <class T>
  bool holds(std::string_view name) const {
    auto it = values_.find(name);
    return it != values_.end() && std::holds_alternative<T>(it->second);
  }

  const std::string& string(std::string_view name) const { return get<std::string>(name); }
  std::int64_t integer(std::string_view name) const { return get<std::int64_t>(name); }
  double number(std::string_view name) const { return get<double>(name); }
  bool boolean(std::string_view name) const { return get<bool>(name); }
  std::chrono::milliseconds duration(std::string_view name) const { return get<std::chrono::milliseconds>(name); }
  const std::vector<std::string>& strings(std::string_view name) const { return get<std::vector<std::string>>(name); }
  const std::vector<double>& numbers(std::string_view name) const { return get<std::vector<double>>(name); }
  const number_matrix& matrix(std::string_view name) const { return get<number_matrix>(name); }
  const string_table& table(std::string_view name) const { return get<string_table>(name); }

  const option_value& value(std::string_view name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw std::logic_error("option '" + std::string(name) + "' is not declared");
    return it->second;
  }

private:
  template <class T>
  const T& get(std::string_view name) const {
    const option_value& v = value(name);
    if (auto* p = std::get_if<T>(&v)) return *p;
    throw std::logic_error("option '" + std::string(name) + "' is not set or has another type");
  }
  std::map<std::string, option_value, std::less<>> values_;
};

} // namespace stream_smarts
