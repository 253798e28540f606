// The Confluent Avro decoder of the Kafka source, on payloads built byte by
// byte here (so a test does not trust an encoder that shares the decoder's
// library), including the inputs that make avro-c 1.11.1 leak or misread.
#include "payload.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace stream_smarts::kafka_source;
using kind = payload_field::kind;

namespace {

const std::string original_schema =
    R"({"type":"record","name":"myrecord","fields":[{"name":"hour","type":"float"},{"name":"kwh","type":"float"}]})";

const std::string rich_schema = R"({"type":"record","name":"reading","namespace":"test","fields":[
  {"name":"meter","type":"string"},
  {"name":"ts","type":"long"},
  {"name":"count","type":"int"},
  {"name":"kwh","type":["null","float"]},
  {"name":"unit","type":{"type":"enum","name":"unit","symbols":["WH","KWH","MWH"]}},
  {"name":"ok","type":"boolean"},
  {"name":"v","type":"double"},
  {"name":"nothing","type":"null"}]})";

/// A payload under construction: the Confluent header, then Avro binary.
class payload {
public:
  explicit payload(std::uint32_t schema_id = 1) {
    bytes_ += '\0';
    for (int shift = 24; shift >= 0; shift -= 8) bytes_ += static_cast<char>(schema_id >> shift & 0xFF);
  }
  payload& raw(std::initializer_list<int> bytes) {
    for (const int b : bytes) bytes_ += static_cast<char>(b);
    return *this;
  }
  /// Zig-zag varint: int, long, lengths, enum and union indexes.
  payload& varint(std::int64_t v) {
    auto z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    for (; z >= 0x80; z >>= 7) bytes_ += static_cast<char>((z & 0x7F) | 0x80);
    bytes_ += static_cast<char>(z);
    return *this;
  }
  payload& f32(float v) { return little_endian(&v, sizeof v); }
  payload& f64(double v) { return little_endian(&v, sizeof v); }
  payload& str(const std::string& s) {
    varint(static_cast<std::int64_t>(s.size()));
    bytes_ += s;
    return *this;
  }
  payload& boolean(bool b) { return raw({b ? 1 : 0}); }
  const std::string& bytes() const { return bytes_; }

private:
  payload& little_endian(const void* v, std::size_t n) {
    unsigned char b[8];
    std::memcpy(b, v, n);  // x86-64 is little-endian, as Avro is
    bytes_.append(reinterpret_cast<const char*>(b), n);
    return *this;
  }
  std::string bytes_;
};

struct decoded {
  bool ok = false;
  std::vector<payload_field> fields;
  std::string why;
};

decoded decode(payload_decoder& d, const std::string& bytes) {
  decoded r;
  r.ok = d.decode(bytes, r.fields, r.why);
  return r;
}

std::string decode_error(const std::string& schema, const std::string& bytes) {
  auto d = make_avro_decoder(schema);
  const decoded r = decode(*d, bytes);
  REQUIRE_FALSE(r.ok);
  CHECK(r.fields.empty());
  return r.why;
}

std::string schema_error(const std::string& schema) {
  try {
    make_avro_decoder(schema);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("schema accepted: " << schema);
  return {};
}

std::string record_of(const std::string& fields) {
  return R"({"type":"record","name":"r","fields":[)" + fields + "]}";
}

payload rich_reading() {
  payload p(42);
  p.str("meter-7").varint(1'700'000'000'123).varint(-3).varint(1).f32(1.5f).varint(1).boolean(true).f64(0.1);
  return p;
}

} // namespace

TEST_CASE("the original producer's two floats decode to numbers") {
  auto d = make_avro_decoder(original_schema);
  const decoded r = decode(*d, payload(7).f32(13.0f).f32(0.3f).bytes());
  REQUIRE(r.ok);
  REQUIRE(r.fields.size() == 2);
  CHECK(r.fields[0].name == "hour");
  CHECK(r.fields[0].type == kind::number);
  CHECK(r.fields[0].number == 13.0);
  CHECK(r.fields[0].text == "13");
  CHECK(r.fields[1].name == "kwh");
  CHECK(r.fields[1].type == kind::number);
  // The float's decimal, as the same reading sent as JSON would give.
  CHECK(r.fields[1].number == 0.3);
  CHECK(r.fields[1].text == "0.3");
}

TEST_CASE("every scalar type decodes, in schema order") {
  auto d = make_avro_decoder(rich_schema);
  const decoded r = decode(*d, rich_reading().bytes());
  REQUIRE(r.ok);
  REQUIRE(r.fields.size() == 8);
  const auto check = [&](std::size_t i, std::string_view name, kind type, std::string_view text) {
    INFO("field " << i);
    CHECK(r.fields[i].name == name);
    CHECK(r.fields[i].type == type);
    CHECK(r.fields[i].text == text);
  };
  check(0, "meter", kind::string, "meter-7");
  check(1, "ts", kind::number, "1700000000123");
  CHECK(r.fields[1].number == 1'700'000'000'123.0);
  check(2, "count", kind::number, "-3");
  CHECK(r.fields[2].number == -3.0);
  check(3, "kwh", kind::number, "1.5");
  CHECK(r.fields[3].number == 1.5);
  check(4, "unit", kind::string, "KWH");
  check(5, "ok", kind::boolean, "true");
  check(6, "v", kind::number, "0.1");
  CHECK(r.fields[6].number == 0.1);
  check(7, "nothing", kind::null, "null");
}

TEST_CASE("a union takes the type of its branch") {
  auto d = make_avro_decoder(record_of(R"({"name":"kwh","type":["null","float","string"]})"));
  decoded r = decode(*d, payload().varint(0).bytes());
  REQUIRE(r.ok);
  REQUIRE(r.fields.size() == 1);
  CHECK(r.fields[0].type == kind::null);
  CHECK(r.fields[0].text == "null");
  r = decode(*d, payload().varint(1).f32(-2.25f).bytes());
  REQUIRE(r.ok);
  CHECK(r.fields[0].type == kind::number);
  CHECK(r.fields[0].number == -2.25);
  r = decode(*d, payload().varint(2).str("n/a").bytes());
  REQUIRE(r.ok);
  CHECK(r.fields[0].type == kind::string);
  CHECK(r.fields[0].text == "n/a");
}

TEST_CASE("bytes, fixed, arrays, maps and records are read but not emitted") {
  auto d = make_avro_decoder(record_of(R"(
    {"name":"a","type":"bytes"},
    {"name":"b","type":{"type":"fixed","name":"two","size":2}},
    {"name":"c","type":{"type":"array","items":"int"}},
    {"name":"d","type":{"type":"map","values":"string"}},
    {"name":"e","type":{"type":"record","name":"inner","fields":[{"name":"x","type":"int"}]}},
    {"name":"f","type":["null","inner"]},
    {"name":"kwh","type":"double"})"));
  payload p;
  p.str("\x01\x02").raw({9, 9});
  p.varint(2).varint(5).varint(6).varint(-1).varint(1).varint(7).varint(0);  // blocks of 2, then of -1 (size 1)
  p.varint(1).str("k").str("v").varint(0);
  p.varint(11).varint(1).varint(12).f64(2.5);
  const decoded r = decode(*d, p.bytes());
  REQUIRE(r.ok);
  REQUIRE(r.fields.size() == 1);
  CHECK(r.fields[0].name == "kwh");
  CHECK(r.fields[0].number == 2.5);
}

TEST_CASE("strings keep embedded NULs and may be empty") {
  auto d = make_avro_decoder(record_of(R"({"name":"a","type":"string"},{"name":"b","type":"string"})"));
  const decoded r = decode(*d, payload().str(std::string("x\0y", 3)).str("").bytes());
  REQUIRE(r.ok);
  REQUIRE(r.fields.size() == 2);
  CHECK(r.fields[0].text == std::string_view("x\0y", 3));
  CHECK(r.fields[1].text.empty());
}

TEST_CASE("integers keep their exact digits beyond a double's 53 bits") {
  auto d = make_avro_decoder(record_of(R"({"name":"a","type":"long"},{"name":"b","type":"long"})"));
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  const decoded r = decode(*d, payload().varint(big).varint(std::numeric_limits<std::int64_t>::min()).bytes());
  REQUIRE(r.ok);
  CHECK(r.fields[0].text == "9007199254740993");
  CHECK(r.fields[1].text == "-9223372036854775808");
  CHECK(r.fields[1].number == -9223372036854775808.0);
}

TEST_CASE("views stay valid while the caller's vector grows, until the next decode") {
  auto d = make_avro_decoder(rich_schema);
  std::vector<payload_field> fields;
  std::string why;
  REQUIRE(d->decode(rich_reading().bytes(), fields, why));
  const std::vector<payload_field> kept = fields;  // views into the decoder
  fields.resize(1000);                             // the caller's storage moves; ours must not
  CHECK(kept[0].text == "meter-7");
  CHECK(kept[1].text == "1700000000123");
  CHECK(kept[6].text == "0.1");
  CHECK(kept[6].name == "v");
  // The same decoder, reused: fields are replaced, not appended.
  REQUIRE(d->decode(payload().str("m2").varint(5).varint(6).varint(0).varint(0).boolean(false).f64(-1).bytes(),
                    fields, why));
  REQUIRE(fields.size() == 8);
  CHECK(fields[0].text == "m2");
  CHECK(fields[3].type == kind::null);
  CHECK(fields[4].text == "WH");
  CHECK(fields[5].text == "false");
  CHECK(fields[6].text == "-1");
}

TEST_CASE("the schema id is accepted whatever it is and named in errors") {
  auto d = make_avro_decoder(original_schema);
  CHECK(decode(*d, payload(0xFFFFFFFF).f32(1).f32(2).bytes()).ok);
  const decoded r = decode(*d, payload(0x01020304).f32(1).bytes());
  CHECK(r.why.find("(schema id 16909060)") != std::string::npos);
}

TEST_CASE("wire format errors") {
  CHECK(decode_error(original_schema, std::string("\0\0\1", 3)) ==
        "too short for the Confluent Avro wire format (3 bytes, need at least 5)");
  CHECK(decode_error(original_schema, "") ==
        "too short for the Confluent Avro wire format (0 bytes, need at least 5)");
  CHECK(decode_error(original_schema, R"({"hour":1,"kwh":2})") ==
        "not the Confluent Avro wire format: magic byte 0x7b, expected 0x00 (is this JSON?)");
  CHECK(decode_error(original_schema, std::string("\x01\0\0\0\1", 5)) ==
        "not the Confluent Avro wire format: magic byte 0x01, expected 0x00");
  CHECK(decode_error(original_schema, std::string("\xff\0\0\0\1", 5)) ==
        "not the Confluent Avro wire format: magic byte 0xff, expected 0x00");
}

TEST_CASE("a truncated record names the field") {
  CHECK(decode_error(original_schema, payload().f32(1).raw({0, 0}).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"kwh\": truncated: a float needs 4 bytes, 2 left");
  CHECK(decode_error(original_schema, payload().bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"hour\": truncated: a float needs 4 bytes, 0 left");
  CHECK(decode_error(rich_schema, payload().str("m").raw({0x80}).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"ts\": truncated in the middle of a long");
}

TEST_CASE("bytes left over after the record") {
  CHECK(decode_error(original_schema, payload().f32(1).f32(2).raw({1, 2, 3, 4, 5, 6, 7}).bytes()) ==
        "7 bytes left over after the record (schema id 1)");
  CHECK(decode_error(original_schema, payload(9).f32(1).f32(2).raw({0}).bytes()) ==
        "1 byte left over after the record (schema id 9)");
}

TEST_CASE("malformed values") {
  const std::string prefix = "Avro record does not match the schema (schema id 1): ";
  const std::string ints = record_of(R"({"name":"i","type":"int"})");
  CHECK(decode_error(ints, payload().varint(std::int64_t{1} << 31).bytes()) ==
        prefix + "field \"i\": int 2147483648 is out of range");
  const auto eleven_byte_varint = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  CHECK(decode_error(ints, payload().raw(eleven_byte_varint).bytes()) ==
        prefix + "field \"i\": malformed: an int longer than 10 bytes");
  CHECK(decode_error(record_of(R"({"name":"b","type":"boolean"})"), payload().raw({2}).bytes()) ==
        prefix + "field \"b\": boolean byte 0x02 is neither 0 nor 1");
  CHECK(decode_error(record_of(R"({"name":"u","type":["null","int"]})"), payload().varint(2).bytes()) ==
        prefix + "field \"u\": union branch index 2 is out of range (2 branches)");
  CHECK(decode_error(record_of(R"({"name":"u","type":["null","int"]})"), payload().varint(-1).bytes()) ==
        prefix + "field \"u\": union branch index -1 is out of range (2 branches)");
}

// Each of these made avro-c 1.11.1 misbehave before the guard (found by
// reading its source and confirmed under ASan; see avro_decoder.cpp).
TEST_CASE("regression: a string longer than the data is refused before avro-c allocates it") {
  const std::string schema = record_of(R"({"name":"s","type":"string"})");
  // avro-c leaked the 101-byte buffer it allocated for this.
  CHECK(decode_error(schema, payload().varint(100).raw({'a', 'b', 'c'}).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"s\": truncated: a string of 100 bytes, 3 left");
  // avro-c allocated (and leaked) 1 GiB for a five-byte length.
  CHECK(decode_error(schema, payload().varint(std::int64_t{1} << 30).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"s\": truncated: a string of 1073741824 bytes, 0 left");
  CHECK(decode_error(schema, payload().varint(-1).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"s\": negative string length -1");
  // avro-c asked malloc for 2^64 - 47 bytes (found by fuzzing without the guard).
  CHECK(decode_error(schema, payload().varint(-48).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"s\": negative string length -48");
  CHECK(decode_error(record_of(R"({"name":"b","type":"bytes"})"), payload().varint(9).raw({1}).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"b\": truncated: bytes of 9 bytes, 1 left");
}

TEST_CASE("regression: an enum index past the symbols is refused") {
  // avro-c stored index 7 unchecked; the symbol lookup then read garbage.
  const std::string schema = record_of(R"({"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}})");
  CHECK(decode_error(schema, payload().varint(7).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"e\": enum index 7 is out of range (2 symbols)");
  CHECK(decode_error(schema, payload().varint(-1).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"e\": enum index -1 is out of range (2 symbols)");
}

TEST_CASE("regression: array counts are bounded by the record's size") {
  // avro-c looped over 2^62 null items, allocating each.
  const std::string schema = record_of(R"({"name":"a","type":{"type":"array","items":"null"}})");
  CHECK(decode_error(schema, payload().varint(std::int64_t{1} << 62).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"a\": array block of 4611686018427387904 items, "
        "more than the record's 10 bytes could hold");
  // A negative count, the most negative one included, has a block size after it.
  CHECK(decode_error(schema, payload().varint(std::numeric_limits<std::int64_t>::min()).varint(0).bytes()) ==
        "Avro record does not match the schema (schema id 1): field \"a\": array block of 9223372036854775808 items, "
        "more than the record's 11 bytes could hold");
  // As many nulls as the record has bytes are fine.
  auto d = make_avro_decoder(schema);
  CHECK(decode(*d, payload().varint(2).varint(0).bytes()).ok);
}

TEST_CASE("regression: recursion in the data is bounded") {
  // Each level costs avro-c a few stack frames and the data one byte.
  const std::string node = R"({"type":"record","name":"node","fields":[{"name":"next","type":["null","node"]}]})";
  auto d = make_avro_decoder(record_of(R"({"name":"next","type":["null",)" + node + "]}"));
  payload deep;
  for (int i = 0; i < 100'000; ++i) deep.varint(1);
  deep.varint(0);
  const decoded r = decode(*d, deep.bytes());
  REQUIRE_FALSE(r.ok);
  CHECK(r.why == "Avro record does not match the schema (schema id 1): field \"next\": nested more than 64 levels deep");
  payload shallow;
  for (int i = 0; i < 10; ++i) shallow.varint(1);
  shallow.varint(0);
  CHECK(decode(*d, shallow.bytes()).ok);
}

TEST_CASE("regression: a record that contains itself is refused, not built until the stack overflows") {
  CHECK(schema_error(record_of(R"({"name":"me","type":"r"})")) ==
        "Avro record \"r\" contains itself with no union, array or map in between, so it has no finite value");
  // a -> b -> a, reached through a union.
  const std::string b = R"({"type":"record","name":"b","fields":[{"name":"a","type":"a"}]})";
  const std::string a = R"({"type":"record","name":"a","fields":[{"name":"b","type":)" + b + "}]}";
  CHECK(schema_error(record_of(R"({"name":"x","type":["null",)" + a + "]}")) ==
        "Avro record \"a\" contains itself with no union, array or map in between, so it has no finite value");
  CHECK_NOTHROW(make_avro_decoder(record_of(R"({"name":"me","type":["null","r"]})")));
  CHECK_NOTHROW(make_avro_decoder(record_of(R"({"name":"me","type":{"type":"array","items":"r"}})")));
}

TEST_CASE("schema errors") {
  CHECK(schema_error("{not json") == "invalid Avro schema: Error parsing JSON: string or '}' expected near 'not'");
  CHECK(schema_error("") == "invalid Avro schema: Error parsing JSON: unexpected token near end of file");
  CHECK(schema_error(R"({"type":"record","name":"r"})") == "invalid Avro schema: Record type must have \"fields\"");
  CHECK(schema_error(record_of(R"({"name":"a","type":"nosuch"})")) ==
        "invalid Avro schema: Unknown Avro \"type\": nosuch");
  CHECK(schema_error(R"("float")") == "the schema must be an Avro record schema, got float");
  CHECK(schema_error(R"(["null","float"])") == "the schema must be an Avro record schema, got union");
  CHECK(schema_error(R"({"type":"enum","name":"E","symbols":["A"]})") ==
        "the schema must be an Avro record schema, got enum");
  CHECK(schema_error(record_of(R"({"name":"a","type":"int"},{"name":"a","type":"float"})")) ==
        "Avro record schema has two fields named \"a\"");
}

TEST_CASE("a record with no fields takes just the header") {
  auto d = make_avro_decoder(record_of(""));
  const decoded r = decode(*d, payload().bytes());
  CHECK(r.ok);
  CHECK(r.fields.empty());
}

TEST_CASE("a decoder recovers after an error") {
  auto d = make_avro_decoder(original_schema);
  CHECK_FALSE(decode(*d, payload().f32(1).bytes()).ok);
  const decoded r = decode(*d, payload().f32(4).f32(0.5f).bytes());
  REQUIRE(r.ok);
  CHECK(r.fields[0].text == "4");
  CHECK(r.fields[1].text == "0.5");
}
