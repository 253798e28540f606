#include "plugin_registry.hpp"

#include "crash_report.hpp"
#include "pipeline_file.hpp"
#include "schema.hpp"
#include "stage.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#include <cxxabi.h>
#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

namespace stream_smarts::runtime {

namespace fs = std::filesystem;

std::string path_beside_binary(const std::string& relative) {
  const fs::path exe = boost::dll::program_location().string();
  return (exe.parent_path() / relative).lexically_normal().string();
}

std::string shipped_plugin_dir() { return path_beside_binary(STREAM_SMARTS_PLUGIN_DIR_FROM_BIN); }

std::vector<plugin_folder> plugin_search_path(const std::vector<std::string>& dirs, const std::string& dirs_named_by) {
  std::vector<plugin_folder> out{{shipped_plugin_dir(), ""}};
  for (const auto& dir : dirs) out.push_back({dir, dirs_named_by});
  if (const char* env = std::getenv("STREAM_SMARTS_PLUGIN_PATH")) {
    std::string_view rest{env};
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const auto part = rest.substr(0, colon);
      if (!part.empty()) out.push_back({std::string(part), "STREAM_SMARTS_PLUGIN_PATH"});
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  return out;
}

namespace {
/// "/x/y (STREAM_SMARTS_PLUGIN_PATH, no such folder)": a folder as searched() lists it.
std::string searched_text(const plugin_folder& folder, bool found) {
  std::string notes = folder.named_by;
  if (!found) notes += (notes.empty() ? "" : ", ") + std::string("no such folder");  // a typo shows up here
  return notes.empty() ? folder.path : folder.path + " (" + notes + ")";
}

void load_folder(plugin_registry& registry, const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".so" && entry.is_regular_file(ec))  // a FIFO would block the loader
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());  // a stable order: the same errors every run
  for (const auto& file : files) registry.load_file(file.string());
}
} // namespace

void plugin_registry::load_folders(const std::vector<plugin_folder>& folders) {
  std::set<fs::path> seen;  // the same folder listed twice is one folder
  for (const auto& folder : folders) {
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(folder.path, ec);
    if (!ec && !seen.insert(dir).second) continue;
    const bool found = !ec && fs::is_directory(dir, ec);
    searched_.push_back(searched_text(folder, found));
    if (found) load_folder(*this, dir);
  }
}

namespace {
/// "undefined symbol: _Z16missing_functionv" as its author wrote it:
/// "undefined symbol: missing_function()".
std::string demangled(std::string text) {
  constexpr std::string_view undefined = "undefined symbol: ";
  const auto at = text.find(undefined);
  if (at == std::string::npos) return text;
  const auto from = at + undefined.size();
  const auto to = text.find_first_of(" ,)", from);
  if (text.compare(from, 2, "_Z") != 0) return text;  // a C name ("f" would read as the type float)
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> name{
      abi::__cxa_demangle(text.substr(from, to - from).c_str(), nullptr, nullptr, &status), &std::free};
  if (status == 0 && name) text.replace(from, (to == std::string::npos ? text.size() : to) - from, name.get());
  return text;
}

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
  return demangled(text);
}

/// A shared object shorter than its own program headers say (a copy still
/// being written, or cut off): dlopen maps it anyway, and the process dies
/// of a bus error at the first page past its end. Empty if it is whole, or
/// no ELF file of this machine's class (dlopen says what is wrong then).
std::string cut_short(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ElfW(Ehdr) header{};
  constexpr unsigned char native_class = __ELF_NATIVE_CLASS == 64 ? ELFCLASS64 : ELFCLASS32;
  if (!in.read(reinterpret_cast<char*>(&header), sizeof header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != native_class || header.e_phentsize != sizeof(ElfW(Phdr)))
    return {};
  std::uintmax_t needed = header.e_phoff + std::uintmax_t{header.e_phnum} * sizeof(ElfW(Phdr));
  in.seekg(static_cast<std::streamoff>(header.e_phoff));
  ElfW(Phdr) segment{};
  for (int i = 0; i < header.e_phnum && in.read(reinterpret_cast<char*>(&segment), sizeof segment); ++i)
    if (segment.p_type == PT_LOAD) needed = std::max<std::uintmax_t>(needed, segment.p_offset + segment.p_filesz);
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size >= needed) return {};
  return "is cut short: " + std::to_string(size) + " bytes, where its ELF headers say " + std::to_string(needed) +
         " (a copy still being written, or cut off?); copy a plugin under another name, then rename it into the "
         "folder";
}
} // namespace

namespace {
/// What is wrong with a descriptor itself: no factory for its kind, an
/// option declared with a default it cannot have, a history option on a
/// plugin that is no source. Empty if nothing.
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
  return history_problem(d.info.options, d.info.kind == plugin_kind::source);
}

/// The plugin a file is named for: libnight_owl.so is night_owl's, as
/// every plugin's CMake target names it.
std::string plugin_named_by_file(const std::string& path) {
  std::string stem = fs::path(path).stem().string();
  return stem.rfind("lib", 0) == 0 ? stem.substr(3) : stem;
}
} // namespace

void plugin_registry::skip(const std::string& path, const std::string& problem, const std::string& name) {
  problems_.error({path}, problem);
  refusals_.try_emplace(name, path + " was skipped: " + problem);
}

void plugin_registry::load_file(const std::string& path) {
  const std::string crash_note = "the plugin file " + path + " (loading it)";
  const running_plugin running(crash_note.c_str());  // its static initialisers and factory are its code
  // Until its descriptor is read, a file's plugin is known by the file's name:
  // a stale copy of a plugin that cannot be loaded refuses that plugin,
  // rather than leave another copy of it to run unnoticed.
  const std::string by_file = plugin_named_by_file(path);
  if (const std::string cut = cut_short(path); !cut.empty()) return skip(path, cut, by_file);
  auto library = std::make_unique<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) return skip(path, "cannot be loaded as a plugin: " + dlopen_reason(path, ec.message()), by_file);
  if (!library->has("stream_smarts_abi_version"))
    return skip(path, "not a stream-smarts plugin (no stream_smarts_abi_version symbol); move it out of the plugin folder",
                by_file);
  const int abi = library->get<int()>("stream_smarts_abi_version")();
  if (abi != abi_version)
    return skip(path, "built for plugin ABI " + std::to_string(abi) + ", but this runtime speaks ABI " +
                          std::to_string(abi_version) + "; rebuild the plugin against this SDK",
                by_file);
  if (!library->has("stream_smarts_plugin"))
    return skip(path, "has no stream_smarts_plugin factory symbol; export it with STREAM_SMARTS_PLUGIN(...)", by_file);
  // Checked before the descriptor is read: its std::string and std::function
  // are only what the runtime takes them for if both use one library ABI.
  const std::string toolchain = library->has("stream_smarts_toolchain")
                                    ? library->get<const char*()>("stream_smarts_toolchain")()
                                    : "an unknown standard library";
  if (toolchain != plugin_toolchain)
    return skip(path, "built with " + toolchain + ", but this runtime with " + plugin_toolchain +
                          "; build it with the runtime's compiler and standard library",
                by_file);
  const plugin_descriptor* descriptor = nullptr;
  try {
    descriptor = library->get<const plugin_descriptor*()>("stream_smarts_plugin")();
  } catch (const std::exception& e) {
    return skip(path, std::string("its stream_smarts_plugin factory threw: ") + e.what() +
                          " (a bug in the plugin: tell its author)",
                by_file);
  } catch (...) {
    return skip(path, "its stream_smarts_plugin factory " + std::string(not_an_exception), by_file);
  }
  if (descriptor == nullptr || descriptor->info.name.empty())
    return skip(path, "its stream_smarts_plugin factory returned no plugin name", by_file);
  const std::string& name = descriptor->info.name;
  if (const auto* other = find(name))
    return skip(path, "plugin name '" + name + "' is also that of " + other->file +
                          "; remove one of the two files: no pipeline can use '" + name + "' while both are there",
                name);
  if (const std::string why = descriptor_problem(*descriptor); !why.empty())
    return skip(path, "plugin '" + name + "' declares " + why + " (a bug in the plugin: tell its author)", name);
  plugins_.push_back({path, descriptor});
  libraries_.push_back(std::move(library));
}

const loaded_plugin* plugin_registry::find(const std::string& name) const {
  for (const auto& p : plugins_)
    if (p.info().name == name) return &p;
  return nullptr;
}

std::optional<std::string> plugin_registry::refusal(const std::string& name, const std::string& user) const {
  const auto it = refusals_.find(name);
  if (it == refusals_.end()) return std::nullopt;
  return "plugin '" + name + "'" + (user.empty() ? "" : " for " + user) + " cannot be used: " + it->second;
}

std::string plugin_registry::not_found_note(const std::string& name) const {
  const auto guess = nearest(name, names());
  return (guess ? " (did you mean '" + *guess + "'?)" : std::string()) + skipped_note() + "; searched " + searched();
}

std::string plugin_registry::skipped_note() const {
  const auto skipped = problems_.errors().size();
  if (skipped == 0) return {};
  return "; " + std::to_string(skipped) + " plugin file" + (skipped == 1 ? " was" : "s were") +
         " skipped (see the warnings)";
}

std::string plugin_registry::searched() const {
  std::string out;
  for (const auto& folder : searched_) out += (out.empty() ? "" : ", ") + folder;
  return out;
}

std::vector<std::string> plugin_registry::names() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_) out.push_back(p.info().name);
  return out;
}

} // namespace stream_smarts::runtime
