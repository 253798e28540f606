// Validation of a TOML table against declared options, and documentation
// rendered from the same declaration. One implementation serves the
// runtime's own keys and every plugin's.
#pragma once

#include "diagnostics.hpp"

#include <stream_smarts/options.hpp>

#include <toml++/toml.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace stream_smarts::runtime {

location where(const toml::node& node, const std::string& file);

/// What validate_options produces: the values, and where each given one stood
/// (so a plugin's option_error or warn_option can point at the right line),
/// a table option's entries too ("properties.sasl.mechanism").
struct validated_options {
  stream_smarts::options values;
  std::map<std::string, location, std::less<>> places;
};

/// Checks every key of `table` that is not in `skip` against `specs`: unknown
/// keys (with the nearest valid name), missing required ones, wrong types,
/// values outside `choices`, ${VAR} that is not set. `owner` names the table
/// in messages, e.g. "source 'history' (replay)".
validated_options validate_options(const toml::table& table, const std::vector<option_spec>& specs,
                                   const std::set<std::string, std::less<>>& skip, const std::string& owner,
                                   const std::string& file, diagnostics& out);

/// Why `option`, declared with training_option(), does nothing where a
/// scorer scores (a pipeline, eval or report): words that follow its name.
std::string training_only(const std::string& option);

/// "30s", "250ms", "5m", "1h30m", "2d". Nothing for anything else.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Replaces ${NAME} with the environment variable NAME, and ${NAME:-fallback}
/// with the fallback if NAME is unset or empty ("$${" is a literal "${").
/// Sets `problem` instead (an unset variable, a '${' not closed, no name),
/// worded to follow "option 'x' of ...". `written`, if given, is set to
/// whether the file holds the value itself: no ${NAME} in `text`, or a
/// fallback written in it (used or not: the file holds it either way).
std::string expand_environment(std::string_view text, std::string& problem, bool* written = nullptr);

/// Whether `text` holds a line break, tab or another control character.
bool has_control_character(std::string_view text);

/// The closest candidate to `word` if it is close enough to be a likely typo;
/// else the one candidate whose last '_'-separated words `word` is, if only
/// one is ("retries": "max_retries").
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);

/// "a string or a number"
std::string describe_type(option_type type);

/// The value as a person would write it in TOML ("\"max\"", "1.0", "[]").
std::string format_value(const option_value& value);

/// Sets `key` in `table` to `value` as a pipeline file writes it (a
/// duration as "30s"), to be validated as if written; nothing for monostate.
void insert_value(toml::table& table, const std::string& key, const option_value& value);

/// The options as an aligned text table (for the terminal) or a Markdown one
/// (for plugin READMEs): name, type, default, required, description.
std::string render_options(const std::vector<option_spec>& specs, bool markdown);

/// The values an option's range allows, as its errors and documentation say
/// them: "within 1..100", "above 0", "at most 24h", "above 0 and at most 84".
std::string range_text(const option_spec& spec);

/// What is wrong with a plugin's own declaration of an option: a default or
/// history value of another type than the option's, outside its choices or
/// its range, a range on an option that is not one kind of number, a history
/// file that is no string. Empty if nothing. Found when the plugin is
/// loaded, not when a pipeline leaves it out.
std::string declaration_problem(const option_spec& spec);

/// What is wrong with a plugin's options' history declarations taken
/// together: any on a plugin that is no `source`, or two history files.
std::string history_problem(const std::vector<option_spec>& specs, bool source);

/// Whether a pass-through table's key names a secret ("sasl.password",
/// "client_secret", "ssl.key.pem", "api_token", "sasl.oauthbearer.config"): the plugin passes the entry
/// on unseen, so its key is all the runtime knows of it.
bool names_a_secret(std::string key);

/// Whether `specs` declares an option called `name`.
inline bool declares(const std::vector<option_spec>& specs, std::string_view name) {
  for (const auto& s : specs)
    if (s.name == name) return true;
  return false;
}

} // namespace stream_smarts::runtime
