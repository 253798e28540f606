// Plugins for pipeline_fuzz.cpp: one .so per kind (FUZZ_KIND 0 source,
// 1 scorer, 2 sink), each declaring an option of every type the schema
// knows, so fuzzed pipeline files reach every converter. Never constructed:
// loading a pipeline only validates options.
#include <stream_smarts/plugin.hpp>

#include <stdexcept>

namespace ss = stream_smarts;
using ss::option_type;

namespace {

std::vector<ss::option_spec> every_option() {
  return {
      ss::required_option("path", option_type::string, "A required string."),
      ss::optional_option("mode", option_type::string, std::string("a"), "A string with choices.", {"a", "b"}),
      ss::optional_option("count", option_type::integer, std::int64_t{1}, "An integer."),
      ss::optional_option("ratio", option_type::number, 1.0, "A number."),
      ss::optional_option("flag", option_type::boolean, false, "A boolean."),
      ss::optional_option("every", option_type::duration, std::chrono::milliseconds{0}, "A duration."),
      ss::optional_option("speed", option_type::string | option_type::number, std::string("max"),
                          "A string or a number.", {"max", "realtime"}),
      ss::optional_option("names", option_type::string_list, std::vector<std::string>{}, "Strings."),
      ss::optional_option("values", option_type::number_list, std::vector<double>{}, "Numbers."),
      ss::optional_option("rows", option_type::number_matrix, {}, "Rows of numbers."),
      ss::optional_option("properties", option_type::string_table, ss::string_table{}, "A table."),
      ss::optional_option("token", option_type::secret, {}, "A secret."),
  };
}

struct never {
  explicit never(ss::stage_context&) { throw std::logic_error("fuzz plugins are never constructed"); }
};

#if FUZZ_KIND == 0
struct fuzz_source final : never, ss::source {
  using never::never;
  ss::read_result read(std::vector<ss::reading>&, std::size_t) override { return {true, {}}; }
};
#elif FUZZ_KIND == 1
struct fuzz_scorer final : never, ss::scorer {
  using never::never;
  ss::score_result score(const ss::reading&) override { return {}; }
};
#else
struct fuzz_sink final : never, ss::sink {
  using never::never;
  void write(const ss::alert&) override {}
};
#endif

} // namespace

#if FUZZ_KIND == 0
STREAM_SMARTS_PLUGIN(ss::source_plugin<fuzz_source>({"src", {}, "1.0.0", "Fuzz source", every_option()}))
#elif FUZZ_KIND == 1
STREAM_SMARTS_PLUGIN(ss::scorer_plugin<fuzz_scorer>({"scr", {}, "1.0.0", "Fuzz scorer", every_option()}))
#else
STREAM_SMARTS_PLUGIN(ss::sink_plugin<fuzz_sink>({"snk", {}, "1.0.0", "Fuzz sink", every_option()}))
#endif
