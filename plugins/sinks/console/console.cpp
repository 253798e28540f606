// The console sink: one line per event on stdout or stderr, as a sentence
// for people or as a JSON object per line for programs.
#include "console_format.hpp"

#include <stream_smarts/plugin.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace {

using namespace stream_smarts;

// Lines collect in a buffer and go out in one fwrite per batch (or per this
// many bytes): whole lines per call, so two sinks on one stream never
// interleave mid-line (stdio locks the FILE per call).
constexpr std::size_t drain_bytes = 64 * 1024;

class console_sink final : public sink {
public:
  explicit console_sink(stage_context& ctx)
      : json_(ctx.options().string("format") == "json"),
        stream_name_(ctx.options().string("stream")),
        out_(stream_name_ == "stderr" ? stderr : stdout) {
    buffer_.reserve(drain_bytes + 1024);
  }

  void write(const alert& a) override {
    if (json_) console::append_json_line(buffer_, a);
    else console::append_text_line(buffer_, a);
    if (buffer_.size() >= drain_bytes) drain();
  }

  // fflush, not just fwrite: the batch is only acknowledged once a terminal
  // or a pipe reader can see its lines.
  void flush() override {
    drain();
    if (std::fflush(out_) != 0) fail();
  }

  void stop() override { flush(); }

private:
  void drain() {
    if (buffer_.empty()) return;
    const std::size_t n = std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
    if (n != buffer_.size()) fail();
    buffer_.clear();
  }

  [[noreturn]] void fail() {
    const int err = errno;
    buffer_.clear();  // what could not be written is lost; do not retry it forever
    std::clearerr(out_);
    throw std::runtime_error("console: cannot write to " + stream_name_ + ": " + std::strerror(err));
  }

  bool json_;
  std::string stream_name_;
  std::FILE* out_;
  std::string buffer_;
};

} // namespace

STREAM_SMARTS_PLUGIN(stream_smarts::sink_plugin<console_sink>(
    {"console",
     stream_smarts::plugin_kind::sink,
     "0.1.0",
     "Prints one line per alert (or scored reading) as text or JSON",
     {
         stream_smarts::optional_option("format", stream_smarts::option_type::string, std::string("text"),
                                        "\"text\": a sentence per event; \"json\": one JSON object per line.",
                                        {"text", "json"}),
         stream_smarts::optional_option("stream", stream_smarts::option_type::string, std::string("stdout"),
                                        "Where the lines go.", {"stdout", "stderr"}),
     }}))
