#include "schema.hpp"

#include <stream_smarts/utf8.hpp>

#include <algorithm>
#include <type_traits>
#include <variant>
#include <cctype>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <iterator>
#include <cstdint>
#include <cstdlib>
#include <sstream>

namespace stream_smarts::runtime {

location where(const toml::node& node, const std::string& file) {
  const auto& src = node.source();
  return {file, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
}

bool names_a_secret(std::string key) {
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  // "oauthbearer.config" holds librdkafka's clientSecret=...; librdkafka redacts it too.
  for (const char* word : {"password", "secret", "token", "credential", "pem", "oauthbearer.config"})
    if (key.find(word) != std::string::npos) return true;
  return false;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  while (!text.empty()) {
    std::int64_t amount = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
    if (ec != std::errc{} || amount < 0) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    std::int64_t unit_ms = 0;
    for (auto [suffix, ms] : {std::pair{"ms", 1LL}, {"s", 1000LL}, {"m", 60000LL}, {"h", 3600000LL}, {"d", 86400000LL}}) {
      if (text.substr(0, std::char_traits<char>::length(suffix)) == suffix) {
        unit_ms = ms;
        text.remove_prefix(std::char_traits<char>::length(suffix));
        break;
      }
    }
    if (unit_ms == 0) return std::nullopt;
    // "99999999999999999d" would overflow: not a duration anyone means.
    if (amount > (INT64_MAX - total) / unit_ms) return std::nullopt;
    total += amount * unit_ms;
  }
  return std::chrono::milliseconds{total};
}

std::string expand_environment(std::string_view text, std::string& problem, bool* written) {
  std::string out;
  out.reserve(text.size());
  bool variable = false, fallback = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {  // escaped: a literal "${"
      out += "${";
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i];
      continue;
    }
    // Sent as written, "${TOKEN" would be a wrong token that works nowhere.
    const std::string at = " at character " + std::to_string(character_position(text, i));
    const auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      problem = "has '${'" + at + " that is not closed (write $${ for a literal ${)";
      return {};
    }
    // ${NAME:-fallback} as in the shell: the fallback when NAME is unset or empty.
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const auto dash = inner.find(":-");
    const std::string name{inner.substr(0, dash)};
    if (name.empty()) {
      problem = "has '${}'" + at + " without a variable name";
      return {};
    }
    variable = true;
    fallback = fallback || (dash != std::string_view::npos && dash + 2 < inner.size());
    const char* value = std::getenv(name.c_str());
    if (dash != std::string_view::npos && (value == nullptr || *value == '\0')) {
      out += inner.substr(dash + 2);
    } else if (value == nullptr) {
      problem = "uses environment variable '" + name + "', which is not set";
      return {};
    } else {
      out += value;
    }
    i = close;
  }
  if (written != nullptr) *written = !variable || fallback;
  return out;
}

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

namespace {

// A value as it can be read in a message: a tab ("\t" in TOML) shown, not blank.
std::string visible(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

// A secret pasted with a blank: refused by the service only at the first alert.
constexpr const char* blank_at_an_end =
    "begins or ends with a space, which a token never does (pasted with one?); a service will refuse it";
// A token or password holds none: a line break in one would be sent as an
// HTTP header of its own (and never says anything the service wants).
constexpr const char* control_character_problem =
    "holds a line break or another control character (a token never does; is the variable or file right?)";

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// Whether `word` is the last '_'-separated words of `candidate`: "retries"
/// of "max_retries", "backoff" of "retry_backoff".
bool ends_with_words(std::string_view candidate, std::string_view word) {
  return candidate.size() > word.size() && candidate.substr(candidate.size() - word.size()) == word &&
         candidate[candidate.size() - word.size() - 1] == '_';
}

} // namespace

std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const auto d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  if (best || word.size() < 3) return best;
  // A name's prefix left out ("retries" for "max_retries") is too many edits
  // away to be a typo; it is a likely meaning when only one name ends so.
  for (const auto& c : candidates) {
    if (!ends_with_words(c, word) || c == best) continue;
    if (best) return std::nullopt;  // "hours": quiet_hours or active_hours?
    best = c;
  }
  return best;
}

namespace {
/// Every option type with its name in a sentence and in a table column.
struct type_name {
  option_type type;
  const char* in_a_sentence;  ///< "must be a list of strings"
  const char* in_a_table;     ///< the options tables' type column
};
constexpr type_name type_names[] = {
    {option_type::string, "a string", "string"},
    {option_type::integer, "an integer", "integer"},
    {option_type::number, "a number", "number"},
    {option_type::boolean, "a boolean", "boolean"},
    {option_type::duration, "a duration (\"30s\", \"5m\", \"1h30m\")", "duration"},
    {option_type::string_list, "a list of strings", "list of strings"},
    {option_type::number_list, "a list of numbers", "list of numbers"},
    {option_type::number_matrix, "a list of lists of numbers", "list of number lists"},
    {option_type::string_table, "a table of strings", "table"},
    {option_type::secret, "a secret (\"${ENV_VAR}\", or the option's name with _file and a path)", "secret"},
};

/// A number or duration option's value as a number (a duration's in ms).
std::optional<double> number_in(const option_value& value) {
  if (auto* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&value)) return *d;
  if (auto* ms = std::get_if<std::chrono::milliseconds>(&value)) return static_cast<double>(ms->count());
  return std::nullopt;
}

/// For a duration written as a bare number ("0", "90"): which unit it lacks.
std::string unit_missing(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return "";
  if (text.find_first_not_of('0') == std::string::npos) return " (a number needs its unit: \"0s\")";
  return " (a number needs its unit: \"" + text + "s\", \"" + text + "m\" or \"" + text + "h\")";
}

/// A range's end as a pipeline file writes it: "100", "0.5", a duration's "1s".
std::string number_text(double n, option_type type) {
  const bool whole = std::abs(n) < 9e18 && n == std::trunc(n);
  if (whole && accepts(type, option_type::duration)) return duration_text(std::chrono::milliseconds{static_cast<std::int64_t>(n)});
  if (whole && std::abs(n) < 1e15) return std::to_string(static_cast<std::int64_t>(n));
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  return std::string(buf, end);
}

bool outside_range(const option_spec& spec, const option_value& value) {
  const auto n = number_in(value);
  return n && !spec.range.allows(*n);
}

/// A value as its node wrote it, for "got ...": an integer given for a
/// number stays one, and -0 stays -0.
std::string written_as(const toml::node& node, const option_value& value) {
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* ms = std::get_if<std::chrono::milliseconds>(&value)) return duration_text(*ms);
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, number_in(value).value_or(0));
  return std::string(buf, end);
}

/// A value (`as`: "a default") of another type than the option's, outside its choices or its range.
std::string value_problem(const option_spec& spec, const option_value& value, const char* as) {
  // The option_value alternatives, in order, as option types (monostate: no default).
  constexpr option_type value_types[] = {
      option_type{},         option_type::string,      option_type::integer,     option_type::number,
      option_type::boolean,  option_type::duration,    option_type::string_list, option_type::number_list,
      option_type::number_matrix, option_type::string_table};
  static_assert(std::size(value_types) == std::variant_size_v<option_value>, "one type per option_value alternative");
  const option_type given = value_types[value.index()];
  if (given == option_type{}) return {};
  const std::string start = "option '" + spec.name + "' with " + as + " of " + format_value(value);
  const bool fits = accepts(spec.type, given) ||
                    (given == option_type::string && accepts(spec.type, option_type::secret));
  if (!fits) {
    std::string problem = start + ", which is " + describe_type(given) + ", not " + describe_type(spec.type);
    if (const auto* i = std::get_if<std::int64_t>(&value); i && accepts(spec.type, option_type::number))
      problem += "; write " + format_value(static_cast<double>(*i));  // "1.0": the fix is that plain
    return problem;
  }
  if (const auto* text = std::get_if<std::string>(&value);
      text && !spec.choices.empty() && std::find(spec.choices.begin(), spec.choices.end(), *text) == spec.choices.end())
    return start + ", which is not one of its choices";
  if (outside_range(spec, value)) return start + ", which is not " + range_text(spec);
  return {};
}

/// A history file that is no string, or that has a history value too; a history value the option refuses.
std::string history_problem_of(const option_spec& spec) {
  const std::string file = "option '" + spec.name + "' as the history file (--data FILE)";
  if (spec.history.file && !accepts(spec.type, option_type::string))
    return file + " but as " + describe_type(spec.type) + ": a file's path is a string";
  if (spec.history.file && !std::holds_alternative<std::monostate>(spec.history.value))
    return file + " and with a history value: one or the other";
  if (const auto* ms = std::get_if<std::chrono::milliseconds>(&spec.history.value); ms && ms->count() < 0)
    return "option '" + spec.name + "' with a history value of " + format_value(*ms) + ": no duration is negative";
  return value_problem(spec, spec.history.value, "a history value");
}

/// Whether the offline commands give the option anything.
bool for_history(const option_spec& spec) {
  return spec.history.file || !std::holds_alternative<std::monostate>(spec.history.value);
}

/// A range on an option that is not one kind of number, or that allows nothing.
std::string range_problem(const option_spec& spec) {
  if (!spec.range.bounded()) return {};
  const int kinds = accepts(spec.type, option_type::integer) + accepts(spec.type, option_type::number) +
                    accepts(spec.type, option_type::duration);
  if (kinds != 1)
    return "option '" + spec.name + "' with a range, but it is " + describe_type(spec.type) +
           ": a range is for one kind of number (an integer, a number or a duration)";
  const option_range& r = spec.range;
  const bool duration = accepts(spec.type, option_type::duration);
  if (duration ? r.given_as_numbers : r.given_as_durations)
    return "option '" + spec.name + "' with a range in " + (duration ? "numbers" : "durations") + ", but it is " +
           describe_type(spec.type) + ": give the range's ends as " +
           (duration ? "durations, e.g. std::chrono::seconds{1}" : "numbers");
  if (r.finer_than_ms) return "option '" + spec.name + "' with a range end finer than a millisecond";
  if (!(r.least <= r.most) || (r.above && r.least == r.most))
    return "option '" + spec.name + "' with a range that allows nothing (" + range_text(spec) + ")";
  return {};
}

} // namespace

std::string range_text(const option_spec& spec) {
  const option_range& r = spec.range;
  const bool low = r.least != -option_range::none, high = r.most != option_range::none;
  const std::string least = low ? number_text(r.least, spec.type) : "", most = high ? number_text(r.most, spec.type) : "";
  if (low && high && !r.above) return "within " + least + ".." + most;
  std::string text = low ? (r.above ? "above " : "at least ") + least : "";
  if (high) text += (low ? " and at most " : "at most ") + most;
  return text;
}

std::string declaration_problem(const option_spec& spec) {
  if (std::string why = range_problem(spec); !why.empty()) return why;
  // A default would be printed by plugins --describe, and be every user's secret.
  if (const auto* text = std::get_if<std::string>(&spec.default_value);
      text && !text->empty() && accepts(spec.type, option_type::secret))
    return "option '" + spec.name + "' with a default, which a secret must not have (--describe would print it, "
           "and it would be every user's): declare it with none ({})";
  if (std::string why = value_problem(spec, spec.default_value, "a default"); !why.empty()) return why;
  return history_problem_of(spec);
}

std::string history_problem(const std::vector<option_spec>& specs, bool source) {
  const option_spec* file = nullptr;
  for (const auto& spec : specs) {
    if (!source && for_history(spec))
      return "option '" + spec.name + "' for reading a history, which only a source does";
    if (!spec.history.file) continue;
    if (file != nullptr)  // which would --data fill?
      return "options '" + file->name + "' and '" + spec.name + "' both as the history file (--data FILE): one at most";
    file = &spec;
  }
  return {};
}

std::string describe_type(option_type type) {
  std::vector<std::string> parts;
  for (const auto& t : type_names)
    if (accepts(type, t.type)) parts.emplace_back(t.in_a_sentence);
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " or " : ", ";
    out += parts[i];
  }
  return out;
}

namespace {

const char* toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

/// Turns one TOML value into an option value of an accepted type, or says why not.
class converter {
public:
  converter(const option_spec& spec, const std::string& owner, const std::string& file, diagnostics& out)
      : spec_(spec), owner_(owner), file_(file), out_(out) {}

  option_value convert(const toml::node& node) {
    option_value value = typed(node);
    if (outside_range(spec_, value))
      return fail(node, "must be " + range_text(spec_) + "; got " + written_as(node, value));
    return value;
  }

private:
  option_value typed(const toml::node& node) {
    if (auto* s = node.as_string()) return from_string(node, s->get());
    if (node.is_date() || node.is_time() || node.is_date_time()) {
      // An unquoted TOML date is still a timestamp to an option that reads text.
      std::ostringstream text;
      node.visit([&](const auto& v) { if constexpr (toml::is_value<decltype(v)>) text << v; });
      if (accepts(spec_.type, option_type::string)) return from_string(node, text.str());
    }
    if (auto* i = node.as_integer()) {
      if (accepts(spec_.type, option_type::integer)) return i->get();
      if (accepts(spec_.type, option_type::number)) return static_cast<double>(i->get());
      if (accepts(spec_.type, option_type::duration) && i->get() >= 0)
        return fail(node, "must be " + describe_type(spec_.type) + ", not an integer" +
                              unit_missing(std::to_string(i->get())));
    }
    if (auto* f = node.as_floating_point(); f && accepts(spec_.type, option_type::number)) {
      // TOML has nan and inf; no option means either (alert_threshold = nan would never alert).
      if (!std::isfinite(f->get())) return fail(node, "must be a finite number, not " + format_value(f->get()));
      return f->get();
    }
    if (auto* b = node.as_boolean(); b && accepts(spec_.type, option_type::boolean)) return b->get();
    if (auto* a = node.as_array()) {
      if (auto v = from_array(*a)) return std::move(*v);
    }
    if (auto* t = node.as_table(); t && accepts(spec_.type, option_type::string_table)) return from_table(*t);
    return fail(node, "must be " + describe_type(spec_.type) + ", not " + toml_type_name(node));
  }

  option_value fail(const toml::node& node, const std::string& message) {
    out_.error(where(node, file_), "option '" + spec_.name + "' of " + owner_ + " " + message);
    return {};
  }

  /// A secret written in the pipeline file works, but the file can then not
  /// be shown or shared without it; never quotes the value.
  void warn_written_secret(const toml::node& node, const std::string& what, const std::string& or_else) {
    out_.warning(where(node, file_), what + " of " + owner_ + " is a secret written in the file; give it from the "
                                            "environment (\"${VARIABLE}\")" + or_else +
                                            ", so that the pipeline file can be shown and shared without it");
  }

  std::optional<std::string> expanded(const toml::node& node, std::string_view text, bool* written = nullptr) {
    std::string problem;
    std::string value = expand_environment(text, problem, written);
    if (!problem.empty()) {
      fail(node, problem);
      return std::nullopt;
    }
    return value;
  }

  option_value from_string(const toml::node& node, std::string_view raw) {
    bool written = false;
    auto text = expanded(node, raw, &written);
    if (!text) return {};
    if (accepts(spec_.type, option_type::secret)) {
      if (text->empty()) return fail(node, "is empty (is its environment variable set to nothing?)");
      if (has_control_character(*text)) return fail(node, control_character_problem);
      // Pasted with a blank: the service's 401 would come only at the first alert.
      if (text->front() == ' ' || text->back() == ' ')
        out_.warning(where(node, file_), "option '" + spec_.name + "' of " + owner_ + " " + blank_at_an_end);
      if (written)
        warn_written_secret(node, "option '" + spec_.name + "'", " or a file (" + spec_.name + "_file)");
      return std::move(*text);
    }
    if (accepts(spec_.type, option_type::duration)) {
      if (auto d = parse_duration(*text)) return *d;
      const bool or_integer = accepts(spec_.type, option_type::integer);  // sustain: a duration or a count
      if (!accepts(spec_.type, option_type::string))
        return fail(node, "must be a duration such as \"30s\", \"5m\" or \"1h30m\"" +
                              std::string(or_integer ? ", or a whole number (without quotes)" : "") + ", not \"" +
                              *text + "\"" + (or_integer ? "" : unit_missing(*text)));
    }
    if (!accepts(spec_.type, option_type::string))
      return fail(node, "must be " + describe_type(spec_.type) + ", not a string" +
                            (accepts(spec_.type, option_type::string_list)  // as a --data-set gives one
                                 ? ": write it as a list, [\"" + visible(*text) + "\"]"
                                 : std::string()));
    if (!spec_.choices.empty() &&
        std::find(spec_.choices.begin(), spec_.choices.end(), *text) == spec_.choices.end()) {
      std::string allowed;
      for (const auto& c : spec_.choices) allowed += (allowed.empty() ? "\"" : ", \"") + c + "\"";
      if (accepts(spec_.type, option_type::number)) allowed += ", or a number (without quotes)";
      return fail(node, "must be one of " + allowed + ", not \"" + visible(*text) + "\"");
    }
    return std::move(*text);
  }

  static std::optional<double> number_of(const toml::node& n) {
    if (auto* i = n.as_integer()) return static_cast<double>(i->get());
    if (auto* f = n.as_floating_point()) return f->get();
    return std::nullopt;
  }

  std::optional<option_value> from_array(const toml::array& a) {
    if (accepts(spec_.type, option_type::string_list) && a.empty()) return std::vector<std::string>{};
    if (accepts(spec_.type, option_type::string_list) && !accepts(spec_.type, option_type::number_list) &&
        !a.is_homogeneous(toml::node_type::string))
      for (const auto& n : a)  // say which element, as a matrix does
        if (!n.is_string()) return fail(n, std::string("must hold only strings; this element is ") + toml_type_name(n));
    if (accepts(spec_.type, option_type::string_list) && a.is_homogeneous(toml::node_type::string)) {
      std::vector<std::string> items;
      for (const auto& n : a) {
        auto text = expanded(n, n.as_string()->get());
        if (!text) return option_value{};
        items.push_back(std::move(*text));
      }
      return items;
    }
    if (accepts(spec_.type, option_type::number_list)) {
      std::vector<double> items;
      for (const auto& n : a)
        if (auto v = number_of(n)) items.push_back(*v);
      if (items.size() == a.size()) return items;
    }
    if (accepts(spec_.type, option_type::number_matrix)) return matrix_of(a);
    return std::nullopt;
  }

  option_value matrix_of(const toml::array& a) {
    number_matrix rows;
    for (const auto& row_node : a) {
      const auto* row = row_node.as_array();
      if (row == nullptr) return fail(row_node, "must be a list of lists of numbers; this element is not a list");
      std::vector<double> values;
      for (const auto& n : *row) {
        auto v = number_of(n);
        if (!v) return fail(n, std::string("must hold only numbers; this element is ") + toml_type_name(n));
        values.push_back(*v);
      }
      rows.push_back(std::move(values));
    }
    return rows;
  }

  option_value from_table(const toml::table& t) {
    string_table values;
    for (const auto& [key, node] : t) {
      std::optional<std::string> text;
      if (auto* s = node.as_string()) {
        bool written = false;
        text = expanded(node, s->get(), &written);
        if (text && !text->empty() && names_a_secret(std::string(key.str())) && written)
          warn_written_secret(node, "'" + spec_.name + "." + std::string(key.str()) + "'", "");
      } else if (auto* i = node.as_integer()) text = std::to_string(i->get());
      else if (auto* b = node.as_boolean()) text = b->get() ? "true" : "false";
      else if (auto* f = node.as_floating_point()) text = format_value(f->get());
      else return fail(node, "must hold only strings, numbers or booleans; '" + std::string(key.str()) + "' is " +
                                 toml_type_name(node));
      if (!text) return {};
      values.emplace(std::string(key.str()), std::move(*text));
    }
    return values;
  }

  const option_spec& spec_;
  const std::string& owner_;
  const std::string& file_;
  diagnostics& out_;
};

} // namespace

namespace {

const option_spec* find_spec(const std::vector<option_spec>& specs, std::string_view name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

/// The secret whose `<name>_file` key this is, if any.
const option_spec* secret_file_of(const std::vector<option_spec>& specs, std::string_view key) {
  constexpr std::string_view suffix = "_file";
  if (key.size() <= suffix.size() || key.substr(key.size() - suffix.size()) != suffix) return nullptr;
  const option_spec* spec = find_spec(specs, key.substr(0, key.size() - suffix.size()));
  return spec && accepts(spec->type, option_type::secret) ? spec : nullptr;
}

/// Reads `<name>_file`: the whole file, without the trailing newline an
/// editor adds. A relative path starts at the pipeline file's folder.
option_value read_secret_file(const toml::node& node, const option_spec& spec, const std::string& owner,
                              const std::string& file, diagnostics& out) {
  const option_spec path_spec{.name = spec.name + "_file", .type = option_type::string};
  const option_value path_value = converter(path_spec, owner, file, out).convert(node);
  if (!std::holds_alternative<std::string>(path_value)) return {};
  // Said in full: "nope.token" would not say which folder it was looked for in.
  std::error_code ec;
  const std::filesystem::path path = std::filesystem::absolute(
      std::filesystem::path(file).parent_path() / std::filesystem::path(std::get<std::string>(path_value)), ec);
  // A token is a line; /dev/zero or a log file by mistake must not be read whole.
  constexpr std::size_t longest = 64 * 1024;
  std::ifstream in(path, std::ios::binary);
  std::string text(longest + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  const std::string fail_start = "option '" + spec.name + "_file' of " + owner + ": ";
  if (!in.good() && !in.eof()) {
    out.error(where(node, file), fail_start + "cannot read '" + path.string() + "': " + std::strerror(errno));
    return {};
  }
  if (text.size() > longest) {
    out.error(where(node, file), fail_start + "'" + path.string() + "' is longer than 64 KiB; a secret's file holds "
                                              "only the secret");
    return {};
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  text.erase(0, text.size() - without_bom(text).size());  // an editor's byte-order mark is not the secret's
  if (text.empty()) {
    out.error(where(node, file), fail_start + "'" + path.string() + "' is empty");
    return {};
  }
  if (has_control_character(text)) {
    out.error(where(node, file), fail_start + "'" + path.string() + "' " + control_character_problem);
    return {};
  }
  if (text.front() == ' ')  // its trailing blanks were dropped with the newline
    out.warning(where(node, file), fail_start + "'" + path.string() + "' " + blank_at_an_end);
  // `sudo tee` writes 0644: the token would be every local user's.
  if (struct stat st {}; ::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0)
    out.warning(where(node, file), fail_start + "'" + path.string() + "' can be read by every user of this "
                                   "machine: chmod o-r it (the service reads it as group stream-smarts)");
  return text;
}

} // namespace

std::string training_only(const std::string& option) {
  return "is for training: a scorer scores with what its model was trained with; to change it, train the model "
         "again (stream-smarts train --set " + option + "=...)";
}

validated_options validate_options(const toml::table& table, const std::vector<option_spec>& specs,
                                   const std::set<std::string, std::less<>>& skip, const std::string& owner,
                                   const std::string& file, diagnostics& out) {
  std::map<std::string, option_value, std::less<>> values;
  validated_options result;
  std::vector<std::string> known(skip.begin(), skip.end());
  for (const auto& spec : specs) {
    known.push_back(spec.name);
    if (accepts(spec.type, option_type::secret)) known.push_back(spec.name + "_file");
  }

  for (const auto& [key, node] : table) {
    const std::string name{key.str()};
    if (skip.count(name)) continue;
    location at{file, static_cast<int>(key.source().begin.line), static_cast<int>(key.source().begin.column)};
    const option_spec* spec = find_spec(specs, name);
    const option_spec* secret = spec ? nullptr : secret_file_of(specs, name);
    if (spec == nullptr && secret == nullptr) {
      std::string message = "unknown option '" + name + "' for " + owner;
      if (auto guess = nearest(name, known)) message += " (did you mean '" + *guess + "'?)";
      out.error(at, message);
      continue;
    }
    if (secret != nullptr && table.contains(secret->name)) {
      out.error(at, owner + " gives both '" + secret->name + "' and '" + name + "': keep one");
      continue;
    }
    const std::string& target = spec ? spec->name : secret->name;
    values[target] = spec ? converter(*spec, owner, file, out).convert(node)
                          : read_secret_file(node, *secret, owner, file, out);
    // What a later check refuses is the value: point at it, as the type checks do.
    result.places[target] = where(node, file);
    if (const auto* entries = node.as_table())  // a table option's entries: "properties.sasl.mechanism"
      for (const auto& [entry, value] : *entries)
        result.places[target + "." + std::string(entry.str())] = where(value, file);
  }
  for (const auto& spec : specs) {
    if (values.count(spec.name)) continue;
    if (spec.required)
      out.error(where(table, file), owner + " is missing required option '" + spec.name + "' (" +
                                        describe_type(spec.type) + ": " + spec.description + ")");
    values[spec.name] = spec.default_value;
  }
  result.values = stream_smarts::options(std::move(values));
  return result;
}

std::string format_value(const option_value& value) {
  struct visitor {
    std::string operator()(std::monostate) const { return ""; }
    std::string operator()(const std::string& s) const { return "\"" + s + "\""; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
      std::string s(buf, end);
      if (s.find_first_of(".en") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::chrono::milliseconds ms) const { return "\"" + duration_text(ms) + "\""; }
    std::string operator()(const std::vector<std::string>& v) const {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
      return s + "]";
    }
    // In a list the type is already clear, so whole numbers read as people write them: [2, 3, 6].
    std::string operator()(const std::vector<double>& v) const {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v[i]);
        s += (i ? ", " : "") + std::string(buf, end);
      }
      return s + "]";
    }
    std::string operator()(const number_matrix& m) const {
      std::string s = "[";
      for (std::size_t i = 0; i < m.size(); ++i) s += (i ? ", " : "") + (*this)(m[i]);
      return s + "]";
    }
    std::string operator()(const string_table& t) const {
      std::string s = "{";
      for (const auto& [k, v] : t) s += (s.size() > 1 ? ", " : " ") + k + " = \"" + v + "\"";
      return s + (t.empty() ? "}" : " }");
    }
  };
  return std::visit(visitor{}, value);
}

namespace {
// An option value as toml++ holds what a pipeline file writes.
std::string toml_of(std::chrono::milliseconds ms) { return duration_text(ms); }
template <class T>
const T& toml_of(const T& value) { return value; }
template <class T>
toml::array toml_of(const std::vector<T>& items) {
  toml::array array;
  for (const auto& item : items) array.push_back(toml_of(item));
  return array;
}
toml::table toml_of(const string_table& entries) {
  toml::table table;
  for (const auto& [key, value] : entries) table.insert_or_assign(key, value);
  return table;
}
} // namespace

void insert_value(toml::table& table, const std::string& key, const option_value& value) {
  std::visit(
      [&](const auto& v) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, std::monostate>)
          table.insert_or_assign(key, toml_of(v));
      },
      value);
}

namespace {
std::string short_type(option_type type) {
  std::string out;
  for (const auto& t : type_names)
    if (accepts(type, t.type)) out += (out.empty() ? "" : " or ") + std::string(t.in_a_table);
  return out;
}

/// What the offline commands give the option, as a sentence; empty if nothing.
std::string history_text(const option_spec& s) {
  const std::string commands = "The offline commands (train, eval, report, inject) ";
  if (s.history.file) return commands + "take it from --data FILE.";
  if (std::holds_alternative<std::monostate>(s.history.value)) return {};
  return commands + "read a history with " + s.name + " = " + format_value(s.history.value) + ".";
}

std::string describe(const option_spec& s) {
  std::string text = s.description;
  const std::string history = history_text(s);
  const bool adds = !s.choices.empty() || accepts(s.type, option_type::secret) || s.range.bounded() || !history.empty();
  if (adds && !text.empty() && text.back() != '.') text += '.';  // "how to score." before "One of: ..."
  if (!s.choices.empty()) {
    text += accepts(s.type, option_type::number) ? " As a string, one of:" : " One of:";
    for (std::size_t i = 0; i < s.choices.size(); ++i) text += (i ? ", \"" : " \"") + s.choices[i] + "\"";
    text += ".";
  }
  if (s.range.bounded()) {  // after choices, the range is the number's: speed is "max" or above 0
    const std::string range = range_text(s);
    text += s.choices.empty() ? std::string(text.empty() ? "" : " ") + static_cast<char>(std::toupper(range[0])) +
                                    range.substr(1) + "."
                              : " As a number, " + range + ".";
  }
  if (accepts(s.type, option_type::secret))
    text += " From the environment (\"${VARIABLE}\"), or a file: " + s.name + "_file = \"PATH\".";
  if (!history.empty()) text += (text.empty() ? "" : " ") + history;
  return text;
}

// A '|' would end a markdown table's cell.
std::string markdown_cell(const std::string& text) {
  std::string out;
  for (const char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}
} // namespace

std::string render_options(const std::vector<option_spec>& specs, bool markdown) {
  std::ostringstream out;
  if (markdown) {
    out << "| option | type | default | required | description |\n|---|---|---|---|---|\n";
    for (const auto& s : specs) {
      const std::string def = format_value(s.default_value);
      out << "| `" << s.name << "` | " << short_type(s.type) << " | "
          << (def.empty() ? "" : "`" + markdown_cell(def) + "`") << " | " << (s.required ? "yes" : "no") << " | "
          << markdown_cell(describe(s)) << " |\n";
    }
    return out.str();
  }
  for (const auto& s : specs) {
    out << "  " << s.name << " (" << short_type(s.type) << (s.required ? ", required" : "");
    const std::string def = format_value(s.default_value);
    if (!def.empty()) out << ", default " << def;
    out << ")\n      " << describe(s) << "\n";
  }
  return out.str();
}

} // namespace stream_smarts::runtime
