// libFuzzer target: arbitrary bytes into the Confluent Avro decoder of the
// Kafka source, under three schemas: the original producer's two floats,
// one with every emitted scalar (string, long, union, enum, ...), and one
// with the types that are read but not emitted (bytes, fixed, array, map,
// a recursive record). A crash, a sanitizer report, a leak or one of the
// traps below is a finding; `tests/fuzz/run avro_decoder` builds and runs it.
#include "payload.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using namespace stream_smarts::kafka_source;

namespace {

const char* const schemas[] = {
    R"({"type":"record","name":"myrecord","fields":[{"name":"hour","type":"float"},{"name":"kwh","type":"float"}]})",
    R"({"type":"record","name":"reading","fields":[
      {"name":"meter","type":"string"},
      {"name":"ts","type":"long"},
      {"name":"hour","type":"int"},
      {"name":"kwh","type":["null","float","double","string"]},
      {"name":"unit","type":{"type":"enum","name":"unit","symbols":["WH","KWH","MWH"]}},
      {"name":"ok","type":"boolean"},
      {"name":"nothing","type":"null"}]})",
    R"({"type":"record","name":"outer","fields":[
      {"name":"raw","type":"bytes"},
      {"name":"sig","type":{"type":"fixed","name":"sig","size":3}},
      {"name":"tags","type":{"type":"array","items":"string"}},
      {"name":"nulls","type":{"type":"array","items":"null"}},
      {"name":"attrs","type":{"type":"map","values":["null","long",{"type":"array","items":"int"}]}},
      {"name":"list","type":["null",{"type":"record","name":"node","fields":[
        {"name":"v","type":"string"},{"name":"next","type":["null","node"]}]}]},
      {"name":"kwh","type":"float"}]})",
};

struct decoders {
  std::vector<std::unique_ptr<payload_decoder>> all;
  decoders() {
    for (const char* s : schemas) all.push_back(make_avro_decoder(s));
  }
};

/// Reads every byte the views point at, so ASan sees a dangling one.
std::size_t touch(const std::vector<payload_field>& fields) {
  std::size_t sum = 0;
  for (const payload_field& f : fields) {
    for (const char c : f.name) sum += static_cast<unsigned char>(c);
    for (const char c : f.text) sum += static_cast<unsigned char>(c);
  }
  return sum;
}

void check(payload_decoder& d, std::string_view payload) {
  std::vector<payload_field> fields;
  std::string why;
  if (d.decode(payload, fields, why)) {
    // Every emitted field has a name and a text ("" only for a string).
    for (const payload_field& f : fields)
      if (f.name.empty() || (f.text.empty() && f.type != payload_field::kind::string)) __builtin_trap();
    volatile std::size_t sink = touch(fields);
    (void)sink;
    return;
  }
  // One line, and never avro-c disagreeing with the guard in front of it.
  if (why.empty() || why.find('\n') != std::string::npos || why.find("avro-c") != std::string::npos)
    __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static decoders d;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Byte 0 picks the schema; the rest is the payload as it arrives, and the
  // same again behind a valid header, so the fuzzer need not find the magic.
  if (input.empty()) return 0;
  payload_decoder& decoder = *d.all[static_cast<unsigned char>(input[0]) % d.all.size()];
  const std::string_view payload = input.substr(1);
  check(decoder, payload);
  std::string framed("\0\0\0\0\1", 5);
  framed.append(payload);
  check(decoder, framed);
  return 0;
}
