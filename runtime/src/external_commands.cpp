#include "commands.hpp"
#include "plugin_registry.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <unistd.h>

namespace stream_smarts::runtime {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view prefix = "stream-smarts-";

fs::path command_dir() { return path_beside_binary(STREAM_SMARTS_COMMAND_DIR_FROM_BIN); }

} // namespace

std::vector<std::string> external_commands() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(command_dir(), ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) == 0 && access(entry.path().c_str(), X_OK) == 0) names.push_back(file.substr(prefix.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string external_command_path(const std::string& name) {
  return (command_dir() / (std::string(prefix) + name)).string();
}

int exec_external_command(const std::string& name, int argc, char** argv) {
  const fs::path program = external_command_path(name);
  std::vector<char*> args{const_cast<char*>(program.c_str())};
  for (int i = 0; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(program.c_str(), args.data());
  std::cerr << "stream-smarts: cannot run " << program.string() << ": " << std::strerror(errno) << "\n";
  return 2;
}

} // namespace stream_smarts::runtime
