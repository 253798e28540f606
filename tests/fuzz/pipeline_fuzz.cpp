// libFuzzer target: arbitrary bytes as a pipeline file, through the
// runtime's read_pipeline (TOML syntax, [pipeline], every stage's options
// against its plugin's declaration, wiring). The plugins are
// pipeline_plugins.cpp, one per kind, declaring an option of every type.
// A list of problems is the expected answer to a bad file; any exception, a
// crash or a sanitizer report is a finding. `tests/fuzz/run pipeline`.
#include "pipeline_file.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace stream_smarts::runtime;

namespace {

std::string file;  // the pipeline file, rewritten for every input
plugin_registry* keep = nullptr;  // keeps the plugins loaded between inputs, as the binary does

bool names_plugin_dirs(std::string_view text) {
  // plugin_dirs would make the loader dlopen whatever a folder holds: such
  // inputs are left out (checked on the parsed table, so escapes count too).
  try {
    const toml::table root = toml::parse(text);
    return root["pipeline"]["plugin_dirs"].node() != nullptr;
  } catch (const toml::parse_error&) {
    return false;
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  unsetenv("STREAM_SMARTS_PLUGIN_PATH");  // only the fuzz plugins beside the binary
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/pipeline-fuzz.XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) std::abort();
  file = dir + "/pipeline.toml";
  keep = new plugin_registry;
  keep->load_folders(plugin_search_path({}, "plugin_dirs"));
  if (keep->plugins().size() != 3 || keep->problems().has_errors()) {
    std::fprintf(stderr, "pipeline_fuzz: expected the 3 fuzz plugins in %s\n%s", shipped_plugin_dir().c_str(),
                 keep->problems().to_string().c_str());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (names_plugin_dirs(text)) return -1;
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (f == nullptr || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) std::abort();
  plugin_registry registry;
  diagnostics problems;
  read_pipeline(file, registry, problems);
  // Every problem names the file, and the loader found the three plugins.
  if (registry.problems().has_errors()) __builtin_trap();
  for (const auto& d : problems.errors())
    if (d.where.file != file || d.message.empty()) __builtin_trap();
  return 0;
}
