// The console sink: one line per event on stdout or stderr, as a sentence
// for people or as a JSON object per line for programs.
#include <common/sink_lines.hpp>
#include <common/write_all.hpp>

#include <stream_smarts/plugin.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace stream_smarts;

class console_sink final : public sink {
public:
  explicit console_sink(stage_context& ctx)
      : stream_name_(ctx.options().string("stream")),
        out_(stream_name_ == "stderr" ? stderr : stdout),
        line_(ctx.options(), ctx.zone()) {}

  void write(const alert& a) override { line_.append(lines_, a); }

  // The chunk's lines go out in one write(2) on the stream's descriptor:
  // whole lines, and on a failure we know exactly which bytes got out. The
  // FILE stays locked meanwhile, so another console sink or the log on the
  // same stream never cuts into a line. Returning means a terminal or a pipe
  // reader has the lines.
  void flush() override {
    std::string lines = std::exchange(lines_, {});  // after a failure the runtime writes the chunk again
    const std::size_t from = resume_point(lines);
    ::flockfile(out_);
    std::fflush(out_);  // what others left in stdio's buffer goes first, in order; its errors are theirs
    const auto done = files::write_all(::fileno(out_), std::string_view(lines).substr(from));
    ::funlockfile(out_);
    if (done.error == 0) return;
    lines.resize(from + done.written);
    got_out_ = std::move(lines);
    fail(done.error);
  }

private:
  // A pipe or a terminal cannot take bytes back, so a retry must not write
  // again what got out. The runtime retries a failed chunk by writing it
  // whole again, which makes the same text: start past what got out. Other
  // text means the runtime gave that chunk up (max_retries): start at 0,
  // after ending the line it left torn, so that the next line stays whole.
  std::size_t resume_point(std::string& lines) {
    const std::string out = std::exchange(got_out_, {});
    if (lines.compare(0, out.size(), out) == 0) return out.size();
    if (!out.empty() && out.back() != '\n') lines.insert(0, 1, '\n');
    return 0;
  }

  // A full disk behind a redirection, an I/O error or a non-blocking
  // stream that is full may pass: retried, nothing lost. A closed pipe
  // (EPIPE, when SIGPIPE is ignored) or a closed stream will not: that
  // fails the stage, and after max_restarts the pipeline stops.
  [[noreturn]] void fail(int err) const {
    const std::string message = "console: cannot write to " + stream_name_ + ": " + std::strerror(err);
    if (err == EPIPE || err == EBADF) throw std::runtime_error(message);
    throw delivery_error(message, true);
  }

  std::string stream_name_;
  std::FILE* out_;
  alert_lines::line_writer line_;
  std::string lines_;    ///< the chunk's lines, written at flush
  std::string got_out_;  ///< of the chunk that failed, the part that got out
};

std::vector<option_spec> declared_options() {
  return alert_lines::with_message_options({
      alert_lines::format_option(),
      optional_option("stream", option_type::string, std::string("stdout"), "Where the lines go.",
                      {"stdout", "stderr"}),
  });
}

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::sink_plugin<console_sink>(
    {"console",
     stream_smarts::plugin_kind::sink,
     "0.1.0",
     "Prints one line per alert (or scored reading) as text or JSON",
     declared_options()}))
