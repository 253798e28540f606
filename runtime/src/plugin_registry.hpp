// Finds and loads plugin shared objects. The registry owns the libraries, so
// it must outlive every object the plugins created (and the actor system).
#pragma once

#include "diagnostics.hpp"

#include <stream_smarts/plugin.hpp>

#include <boost/dll/shared_library.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stream_smarts::runtime {

struct loaded_plugin {
  std::string file;
  const plugin_descriptor* descriptor = nullptr;
  const plugin_info& info() const { return descriptor->info; }
};

/// A folder plugins are looked for in, and what named it: "" for the folder
/// shipped with the binary, else "plugin_dirs", "--plugin-dir" or
/// "STREAM_SMARTS_PLUGIN_PATH", for a person to see where to fix it.
struct plugin_folder {
  std::string path;
  std::string named_by;
};

/// Where plugins are looked for, in order: the folder shipped next to the
/// binary, `dirs` (named by `dirs_named_by`), then STREAM_SMARTS_PLUGIN_PATH.
std::vector<plugin_folder> plugin_search_path(const std::vector<std::string>& dirs, const std::string& dirs_named_by);

/// `relative` to the folder of this binary: the build tree and the install
/// tree have the same layout, so shipped files are found this way in both.
std::string path_beside_binary(const std::string& relative);

/// The folder of plugins shipped with this binary (../lib/stream-smarts/plugins).
std::string shipped_plugin_dir();

class plugin_registry {
public:
  plugin_registry() = default;
  plugin_registry(const plugin_registry&) = delete;
  plugin_registry& operator=(const plugin_registry&) = delete;

  /// Loads every *.so in each folder (missing folders are skipped). A file
  /// that is not a usable plugin, or a second plugin with a taken name, is a
  /// one-line problem naming the file; loading goes on with the others, and
  /// only what names that plugin is refused (refusal()).
  void load_folders(const std::vector<plugin_folder>& folders);
  /// Loads one file (used by load_folders).
  void load_file(const std::string& path);

  const loaded_plugin* find(const std::string& name) const;
  const std::vector<loaded_plugin>& plugins() const { return plugins_; }
  std::vector<std::string> names() const;
  /// Problems met while loading: "file: what is wrong".
  const diagnostics& problems() const { return problems_; }
  /// "plugin 'NAME' for USER cannot be used: FILE was skipped: why" if a file
  /// of it was skipped (its declaration is wrong, two files declare it, or a
  /// file named for it, libNAME.so, cannot be loaded), or nothing. `user`
  /// ("sink 'log'") may be empty.
  std::optional<std::string> refusal(const std::string& name, const std::string& user = {}) const;
  /// What follows "no plugin named 'NAME'": " (did you mean 'x'?)", how
  /// many plugin files were skipped, and the folders searched.
  std::string not_found_note(const std::string& name) const;
  /// "; N plugin files were skipped (see the warnings)", or nothing.
  std::string skipped_note() const;
  /// The folders load_folders looked in, in order: "/usr/lib/stream-smarts/plugins,
  /// /x/y (STREAM_SMARTS_PLUGIN_PATH), /z (plugin_dirs, no such folder)".
  std::string searched() const;

private:
  /// Records `problem` of the file at `path`, and refuses the plugin `name`.
  void skip(const std::string& path, const std::string& problem, const std::string& name);

  std::vector<std::unique_ptr<boost::dll::shared_library>> libraries_;
  std::vector<loaded_plugin> plugins_;
  diagnostics problems_;
  std::map<std::string, std::string> refusals_;
  std::vector<std::string> searched_;  ///< as searched() says each
};

} // namespace stream_smarts::runtime
