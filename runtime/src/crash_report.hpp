// A plugin runs in the runtime's process: a segmentation fault or an abort in
// it ends the whole process. This says, as the process's last line, which
// stage's plugin code was running then, instead of a bare "Aborted".
#pragma once

namespace stream_smarts::runtime {

/// Marks this thread as running one stage's plugin code while it lives.
/// `note` ("stage 'band' (plugin percentile_band, /usr/lib/...so)") must
/// outlive it; it is written as it is, from a signal handler.
class running_plugin {
public:
  explicit running_plugin(const char* note) noexcept;
  ~running_plugin();
  running_plugin(const running_plugin&) = delete;
  running_plugin& operator=(const running_plugin&) = delete;

private:
  const char* previous_;
};

/// Runs `code` marked as the plugin code `note` names; returns what it returns.
template <class Code>
auto as_plugin(const char* note, Code&& code) {
  const running_plugin running(note);
  return code();
}

/// Installs the report for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT. After
/// its line it hands the signal to the handler there was before (a
/// sanitizer's, or the default: the process ends as it would have).
void install_crash_report();

} // namespace stream_smarts::runtime
