#include "plugin_registry.hpp"

#include "crash_report.hpp"
#include "pipeline_file.hpp"
#include "schema.hpp"
#include "stage.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace stream_smarts::runtime {

namespace fs = std::filesystem;

std::string path_beside_binary(const std::string& relative) {
  const fs::path exe = boost::dll::program_location().string();
  return (exe.parent_path() / relative).lexically_normal().string();
}

std::string shipped_plugin_dir() { return path_beside_binary(STREAM_SMARTS_PLUGIN_DIR_FROM_BIN); }

std::vector<std::string> plugin_search_path(const std::vector<std::string>& pipeline_dirs) {
  std::vector<std::string> dirs{shipped_plugin_dir()};
  dirs.insert(dirs.end(), pipeline_dirs.begin(), pipeline_dirs.end());
  if (const char* env = std::getenv("STREAM_SMARTS_PLUGIN_PATH")) {
    std::string_view rest{env};
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const auto part = rest.substr(0, colon);
      if (!part.empty()) dirs.emplace_back(part);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  return dirs;
}

void plugin_registry::load_folders(const std::vector<std::string>& folders) {
  std::set<fs::path> seen;  // the same folder listed twice is one folder
  for (const auto& folder : folders) {
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(folder, ec);
    if (ec || !fs::is_directory(dir, ec) || !seen.insert(dir).second) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so" && !entry.is_directory()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());  // a stable order: the same errors every run
    for (const auto& file : files) load_file(file.string());
  }
}

namespace {
/// Boost.DLL clears dlerror() on failure, yet dlopen's own words ("invalid
/// ELF header", "undefined symbol: ...") are what a person needs: ask again.
std::string dlopen_reason(const std::string& path, const std::string& fallback) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) {
    dlclose(handle);
    return fallback;
  }
  const char* reason = dlerror();
  if (reason == nullptr) return fallback;
  std::string text = reason;
  if (text.rfind(path + ": ", 0) == 0) text.erase(0, path.size() + 2);  // the line names the file already
  return text;
}
} // namespace

namespace {
/// What is wrong with a descriptor itself: no factory for its kind, or an
/// option declared with a default it cannot have. Empty if nothing.
std::string descriptor_problem(const plugin_descriptor& d) {
  const bool made = d.info.kind == plugin_kind::source   ? static_cast<bool>(d.make_source)
                    : d.info.kind == plugin_kind::scorer ? static_cast<bool>(d.make_scorer)
                                                         : static_cast<bool>(d.make_sink);
  if (!made) return std::string("no factory for its kind (") + to_string(d.info.kind) + ")";
  std::set<std::string> names;
  for (const auto& spec : d.info.options) {
    if (std::string why = declaration_problem(spec); !why.empty()) return why;
    if (!names.insert(spec.name).second) return "option '" + spec.name + "' twice";
    // A stage's own keys (name, from, a sink's receive and alert policy) are the runtime's: never the plugin's.
    if (declares(stage_options(d.info.kind), spec.name))
      return "option '" + spec.name + "', which the runtime reads itself (a stage's own key)";
  }
  return {};
}
} // namespace

void plugin_registry::load_file(const std::string& path) {
  const std::string crash_note = "the plugin file " + path + " (loading it)";
  const running_plugin running(crash_note.c_str());  // its static initialisers and factory are its code
  auto library = std::make_unique<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    problems_.error({path}, "cannot be loaded as a plugin: " + dlopen_reason(path, ec.message()));
    return;
  }
  if (!library->has("stream_smarts_abi_version")) {
    problems_.error({path}, "not a stream-smarts plugin (no stream_smarts_abi_version symbol); "
                            "move it out of the plugin folder");
    return;
  }
  const int abi = library->get<int()>("stream_smarts_abi_version")();
  if (abi != abi_version) {
    problems_.error({path}, "built for plugin ABI " + std::to_string(abi) + ", but this runtime speaks ABI " +
                                std::to_string(abi_version) + "; rebuild the plugin against this SDK");
    return;
  }
  if (!library->has("stream_smarts_plugin")) {
    problems_.error({path}, "has no stream_smarts_plugin factory symbol; export it with STREAM_SMARTS_PLUGIN(...)");
    return;
  }
  // Checked before the descriptor is read: its std::string and std::function
  // are only what the runtime takes them for if both use one library ABI.
  const std::string toolchain = library->has("stream_smarts_toolchain")
                                    ? library->get<const char*()>("stream_smarts_toolchain")()
                                    : "an unknown standard library";
  if (toolchain != plugin_toolchain) {
    problems_.error({path}, "built with " + toolchain + ", but this runtime with " + plugin_toolchain +
                                "; build it with the runtime's compiler and standard library");
    return;
  }
  const plugin_descriptor* descriptor = nullptr;
  try {
    descriptor = library->get<const plugin_descriptor*()>("stream_smarts_plugin")();
  } catch (const std::exception& e) {
    problems_.error({path}, std::string("its stream_smarts_plugin factory threw: ") + e.what() +
                                " (a bug in the plugin: tell its author)");
    return;
  } catch (...) {
    problems_.error({path}, "its stream_smarts_plugin factory " + std::string(not_an_exception));
    return;
  }
  if (descriptor == nullptr || descriptor->info.name.empty()) {
    problems_.error({path}, "its stream_smarts_plugin factory returned no plugin name");
    return;
  }
  const std::string& name = descriptor->info.name;
  if (const auto* other = find(name)) {
    problems_.error({path}, "plugin name '" + name + "' is already taken by " + other->file +
                                "; remove one of the two files");
    refusals_.try_emplace(name, "it is in two files, " + other->file + " and " + path + "; remove one of them");
    return;
  }
  if (const std::string why = descriptor_problem(*descriptor); !why.empty()) {
    problems_.error({path}, "plugin '" + name + "' declares " + why + " (a bug in the plugin: tell its author)");
    refusals_.try_emplace(name, path + " declares " + why + " (a bug in the plugin: tell its author)");
    return;
  }
  plugins_.push_back({path, descriptor});
  libraries_.push_back(std::move(library));
}

const loaded_plugin* plugin_registry::find(const std::string& name) const {
  for (const auto& p : plugins_)
    if (p.info().name == name) return &p;
  return nullptr;
}

const std::string* plugin_registry::refusal(const std::string& name) const {
  const auto it = refusals_.find(name);
  return it != refusals_.end() ? &it->second : nullptr;
}

std::vector<std::string> plugin_registry::names() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_) out.push_back(p.info().name);
  return out;
}

} // namespace stream_smarts::runtime
