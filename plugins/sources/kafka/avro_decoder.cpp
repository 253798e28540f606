// The Confluent Avro wire format (magic byte 0, a 4-byte big-endian schema
// id, then the Avro binary encoding of one record) decoded with avro-c into
// one payload_field per top-level scalar field.
//
// avro-c 1.11.1, as Debian bookworm ships it, trusts the bytes it decodes:
//  - a string or bytes length is allocated before it is compared with the
//    data left (a few bytes can ask for gigabytes), and the buffer leaks
//    when the data turns out to be short;
//  - an enum index is stored unchecked, and avro_schema_enum_get on an index
//    past the symbols returns an uninitialised pointer;
//  - array and map block counts and recursive types repeat and nest without
//    bound (a loop over 2^62 zero-byte items, a stack overflow);
//  - it is built without THREADSAFE, so avro_strerror() is one buffer for the
//    whole process, and many messages keep the stale text of the last error
//    on their end (avro_prefix_error).
// So every record is first walked here (encoding_guard), strictly and within
// fixed bounds, and avro_value_read only ever sees an encoding that walk
// accepted; avro-c calls that may set the error text are serialised.
#include "payload.hpp"

#include <common/json.hpp>

#include <avro.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace stream_smarts::kafka_source {
namespace {

constexpr std::size_t header_size = 5;  // magic byte + schema id
constexpr int max_depth = 64;           // nesting of records, unions, arrays, maps
constexpr int max_varint_bytes = 10;    // as avro-c: 10 x 7 bits cover 64

std::mutex& avro_error_mutex() {
  static std::mutex m;
  return m;
}

/// avro_strerror() as one line, taken while holding avro_error_mutex().
std::string avro_error() {
  std::string text = avro_strerror();
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

/// "1 byte", "2 bytes"; "2 branches" given the plural.
std::string plural(std::uint64_t n, std::string_view unit, std::string_view units = {}) {
  std::string s = std::to_string(n) + ' ';
  s += n == 1 ? unit : units.empty() ? std::string(unit) + 's' : std::string(units);
  return s;
}

/// A named type used again is a link to its definition; this is the definition.
avro_schema_t resolve(avro_schema_t s) {
  while (is_avro_link(s)) s = avro_schema_link_target(s);
  return s;
}

/// The type as the schema JSON spells it (avro_schema_type_name gives the
/// name of a record, enum or fixed instead).
std::string kind_name(avro_schema_t s) {
  switch (avro_typeof(resolve(s))) {
    case AVRO_RECORD: return "record";
    case AVRO_ENUM: return "enum";
    case AVRO_FIXED: return "fixed";
    default: {
      const char* name = avro_schema_type_name(s);
      return name ? name : "unknown";
    }
  }
}

std::string mismatch(std::uint32_t schema_id, const std::string& reason) {
  return "Avro record does not match the schema (schema id " + std::to_string(schema_id) + "): " + reason;
}

// ---------------------------------------------------------------- schema ----

struct schema_deleter {
  void operator()(avro_obj_t* s) const { avro_schema_decref(s); }
};
using schema_ptr = std::unique_ptr<avro_obj_t, schema_deleter>;

/// Records reachable from `s` by any path, each once, in schema order.
void collect_records(avro_schema_t s, std::vector<avro_schema_t>& records) {
  s = resolve(s);
  switch (avro_typeof(s)) {
    case AVRO_RECORD:
      for (const avro_schema_t r : records)
        if (r == s) return;
      records.push_back(s);
      for (std::size_t i = 0; i < avro_schema_record_size(s); ++i)
        collect_records(avro_schema_record_field_get_by_index(s, static_cast<int>(i)), records);
      return;
    case AVRO_UNION:
      for (std::size_t i = 0; i < avro_schema_union_size(s); ++i)
        collect_records(avro_schema_union_branch(s, static_cast<int>(i)), records);
      return;
    case AVRO_ARRAY: return collect_records(avro_schema_array_items(s), records);
    case AVRO_MAP: return collect_records(avro_schema_map_values(s), records);
    default: return;
  }
}

/// Throws if `record` contains itself through record-typed fields alone: no
/// union, array or map ends the chain, so it has no finite value, and
/// avro_generic_value_new recurses until the stack overflows.
void check_finite(avro_schema_t record, std::vector<avro_schema_t>& chain, std::set<avro_schema_t>& finite) {
  if (finite.count(record)) return;
  for (const avro_schema_t r : chain)
    if (r == record)
      throw std::invalid_argument(std::string("Avro record \"") + avro_schema_name(record) +
                                  "\" contains itself with no union, array or map in between, "
                                  "so it has no finite value");
  chain.push_back(record);
  for (std::size_t i = 0; i < avro_schema_record_size(record); ++i) {
    const avro_schema_t field = resolve(avro_schema_record_field_get_by_index(record, static_cast<int>(i)));
    if (is_avro_record(field)) check_finite(field, chain, finite);
  }
  chain.pop_back();
  finite.insert(record);
}

void check_field_names(avro_schema_t record) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < avro_schema_record_size(record); ++i) {
    const char* name = avro_schema_record_field_name(record, static_cast<int>(i));
    if (!names.insert(name).second)
      throw std::invalid_argument(std::string("Avro record schema has two fields named \"") + name + '"');
  }
}

schema_ptr parse_record_schema(const std::string& json) {
  avro_schema_t raw = nullptr;
  {
    const std::lock_guard lock(avro_error_mutex());
    avro_set_error("%s", "");
    if (avro_schema_from_json_length(json.data(), json.size(), &raw) != 0 || raw == nullptr)
      throw std::invalid_argument("invalid Avro schema: " + avro_error());
  }
  schema_ptr schema(raw);
  if (!is_avro_record(schema.get()))
    throw std::invalid_argument("the schema must be an Avro record schema, got " + kind_name(schema.get()));
  check_field_names(schema.get());
  std::vector<avro_schema_t> records, chain;
  std::set<avro_schema_t> finite;
  collect_records(schema.get(), records);
  for (const avro_schema_t r : records) check_finite(r, chain, finite);
  return schema;
}

// ---------------------------------------------------------------- guard -----

/// Walks the binary encoding of one record without decoding it, accepting
/// only what avro-c decodes safely (see the top of the file).
class encoding_guard {
public:
  /// The length of the encoding of `record` that `body` begins with, or
  /// nullopt with `why` naming the top-level field and what is wrong.
  std::optional<std::size_t> check(avro_schema_t record, std::string_view body, std::string& why) {
    begin_ = pos_ = reinterpret_cast<const unsigned char*>(body.data());
    end_ = begin_ + body.size();
    items_left_ = body.size();
    for (std::size_t i = 0; i < avro_schema_record_size(record); ++i) {
      if (!value(avro_schema_record_field_get_by_index(record, static_cast<int>(i)), 1)) {
        why = std::string("field \"") + avro_schema_record_field_name(record, static_cast<int>(i)) + "\": " + reason_;
        return std::nullopt;
      }
    }
    return static_cast<std::size_t>(pos_ - begin_);
  }

private:
  bool value(avro_schema_t s, int depth) {
    if (depth > max_depth) return fail("nested more than " + std::to_string(max_depth) + " levels deep");
    s = resolve(s);
    switch (avro_typeof(s)) {
      case AVRO_NULL: return true;
      case AVRO_BOOLEAN: return boolean();
      case AVRO_INT32: return int32();
      case AVRO_INT64: { std::int64_t v; return varint(v, "a long"); }
      case AVRO_FLOAT: return skip(4, "a float");
      case AVRO_DOUBLE: return skip(8, "a double");
      case AVRO_FIXED: return skip(static_cast<std::uint64_t>(avro_schema_fixed_size(s)), "a fixed");
      case AVRO_STRING: return length_prefixed("string");
      case AVRO_BYTES: return length_prefixed("bytes");
      case AVRO_ENUM: return enum_index(s);
      case AVRO_UNION: return union_branch(s, depth);
      case AVRO_ARRAY: return blocks(avro_schema_array_items(s), "array", depth);
      case AVRO_MAP: return blocks(avro_schema_map_values(s), "map", depth);
      case AVRO_RECORD: return record(s, depth);
      default: return fail("unsupported Avro type " + kind_name(s));
    }
  }

  bool record(avro_schema_t s, int depth) {
    for (std::size_t i = 0; i < avro_schema_record_size(s); ++i)
      if (!value(avro_schema_record_field_get_by_index(s, static_cast<int>(i)), depth + 1)) return false;
    return true;
  }

  bool boolean() {
    if (!skip(1, "a boolean")) return false;
    const unsigned b = pos_[-1];
    if (b <= 1) return true;
    const char hex[] = "0123456789abcdef";
    return fail(std::string("boolean byte 0x") + hex[b >> 4] + hex[b & 0xF] + " is neither 0 nor 1");
  }

  bool int32() {
    std::int64_t v;
    if (!varint(v, "an int")) return false;
    if (v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max()) return true;
    return fail("int " + std::to_string(v) + " is out of range");
  }

  bool length_prefixed(const char* what) {
    std::int64_t n;
    if (!varint(n, what[0] == 's' ? "a string length" : "a bytes length")) return false;
    if (n < 0) return fail(std::string("negative ") + what + " length " + std::to_string(n));
    if (static_cast<std::uint64_t>(n) > left())
      return fail(std::string("truncated: ") + (what[0] == 's' ? "a string of " : "bytes of ") +
                  plural(static_cast<std::uint64_t>(n), "byte") + ", " + std::to_string(left()) + " left");
    pos_ += n;
    return true;
  }

  bool enum_index(avro_schema_t s) {
    std::int64_t i;
    if (!varint(i, "an enum index")) return false;
    const int symbols = avro_schema_enum_number_of_symbols(s);
    if (i >= 0 && i < symbols) return true;
    return fail("enum index " + std::to_string(i) + " is out of range (" + plural(symbols, "symbol") + ")");
  }

  bool union_branch(avro_schema_t s, int depth) {
    std::int64_t i;
    if (!varint(i, "a union branch index")) return false;
    const auto branches = static_cast<std::int64_t>(avro_schema_union_size(s));
    if (i < 0 || i >= branches)
      return fail("union branch index " + std::to_string(i) + " is out of range (" +
                  plural(static_cast<std::uint64_t>(branches), "branch", "branches") + ")");
    return value(avro_schema_union_branch(s, static_cast<int>(i)), depth + 1);
  }

  /// Array items or map entries, in blocks each led by its item count (a
  /// negative count is followed by the block's size in bytes). All blocks of
  /// the record together may hold no more items than the record has bytes,
  /// which bounds the work for zero-byte items (null) too.
  bool blocks(avro_schema_t items, const char* what, int depth) {
    const bool map = what[0] == 'm';
    for (;;) {
      std::int64_t count;
      if (!varint(count, map ? "a map block count" : "an array block count")) return false;
      if (count == 0) return true;
      // The magnitude as unsigned: -INT64_MIN does not fit an int64.
      const std::uint64_t n = count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
      std::int64_t size;
      if (count < 0 && !varint(size, "a block size")) return false;
      if (n > items_left_)
        return fail(std::string(what) + " block of " + plural(n, "item") + ", more than the record's " +
                    plural(static_cast<std::uint64_t>(end_ - begin_), "byte") + " could hold");
      items_left_ -= n;
      for (std::uint64_t i = 0; i < n; ++i)
        if ((map && !length_prefixed("string")) || !value(items, depth + 1)) return false;
    }
  }

  /// A zig-zag varint, read as avro-c reads it.
  bool varint(std::int64_t& out, const char* what) {
    std::uint64_t v = 0;
    for (int i = 0; i < max_varint_bytes; ++i) {
      if (pos_ == end_) return fail(std::string("truncated in the middle of ") + what);
      const unsigned b = *pos_++;
      v |= static_cast<std::uint64_t>(b & 0x7F) << (7 * i);
      if ((b & 0x80) == 0) {
        out = static_cast<std::int64_t>((v >> 1) ^ (0 - (v & 1)));
        return true;
      }
    }
    return fail(std::string("malformed: ") + what + " longer than " + std::to_string(max_varint_bytes) + " bytes");
  }

  bool skip(std::uint64_t n, const char* what) {
    if (n > left())
      return fail(std::string("truncated: ") + what + " needs " + plural(n, "byte") + ", " + std::to_string(left()) +
                  " left");
    pos_ += n;
    return true;
  }

  std::size_t left() const { return static_cast<std::size_t>(end_ - pos_); }

  bool fail(std::string reason) {
    reason_ = std::move(reason);
    return false;
  }

  const unsigned char* begin_ = nullptr;
  const unsigned char* pos_ = nullptr;
  const unsigned char* end_ = nullptr;
  std::uint64_t items_left_ = 0;
  std::string reason_;
};

// -------------------------------------------------------------- decoder -----

/// The double nearest the float's shortest decimal text, so a producer's
/// 0.3f reads as 0.3, as it would from JSON, not 0.30000001192092896.
double float_as_decimal(float f) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
  double d = f;
  if (ec == std::errc{}) std::from_chars(buf, end, d);
  return d;
}

/// The number and its text. Integers keep their exact digits in `text`
/// (a double holds 53 bits); other numbers the shortest round-trip text.
void set_number(payload_field& f, std::string& storage, double number, std::optional<std::int64_t> integer = {}) {
  f.type = payload_field::kind::number;
  f.number = number;
  if (integer) {
    storage.clear();
    json::append_chars(storage, *integer);
  } else {
    storage = json::format_number(number);
  }
  f.text = storage;
}

/// Fills `f` from a float, double, int or long; false for other types.
bool number_field(avro_value_t* value, std::string& storage, payload_field& f) {
  switch (avro_value_get_type(value)) {
    case AVRO_FLOAT: {
      float x = 0;
      avro_value_get_float(value, &x);
      set_number(f, storage, float_as_decimal(x));
      return true;
    }
    case AVRO_DOUBLE: {
      double x = 0;
      avro_value_get_double(value, &x);
      set_number(f, storage, x);
      return true;
    }
    case AVRO_INT32: {
      std::int32_t x = 0;
      avro_value_get_int(value, &x);
      set_number(f, storage, x, x);
      return true;
    }
    case AVRO_INT64: {
      std::int64_t x = 0;
      avro_value_get_long(value, &x);
      set_number(f, storage, static_cast<double>(x), x);
      return true;
    }
    default: return false;
  }
}

/// Fills `f` from a string, boolean, null or enum; false for other types.
/// The texts point into the value (strings) or the schema (enum symbols).
bool text_field(avro_value_t* value, payload_field& f) {
  switch (avro_value_get_type(value)) {
    case AVRO_STRING: {
      const char* s = nullptr;
      std::size_t size = 0;  // includes the NUL avro-c adds
      avro_value_get_string(value, &s, &size);
      f.type = payload_field::kind::string;
      f.text = s && size ? std::string_view(s, size - 1) : std::string_view();
      return true;
    }
    case AVRO_BOOLEAN: {
      int b = 0;
      avro_value_get_boolean(value, &b);
      f.type = payload_field::kind::boolean;
      f.text = b ? "true" : "false";
      return true;
    }
    case AVRO_NULL:
      f.type = payload_field::kind::null;
      f.text = "null";
      return true;
    case AVRO_ENUM: {
      int i = 0;
      avro_value_get_enum(value, &i);
      const avro_schema_t schema = resolve(avro_value_get_schema(value));
      if (i < 0 || i >= avro_schema_enum_number_of_symbols(schema)) return false;  // the guard refuses these
      f.type = payload_field::kind::string;
      f.text = avro_schema_enum_get(schema, i);
      return true;
    }
    default: return false;
  }
}

struct iface_deleter {
  void operator()(avro_value_iface_t* i) const { avro_value_iface_decref(i); }
};
struct reader_deleter {
  void operator()(avro_reader_t r) const { avro_reader_free(r); }
};

/// A generic value of the record, owning its reference.
struct record_value {
  avro_value_t value{};
  record_value() = default;
  record_value(const record_value&) = delete;
  record_value& operator=(const record_value&) = delete;
  ~record_value() {
    if (value.iface) avro_value_decref(&value);
  }
};

class avro_decoder final : public payload_decoder {
public:
  explicit avro_decoder(const std::string& schema_json) : schema_(parse_record_schema(schema_json)) {
    // Sized once: the number texts that `text` views point into never move.
    texts_.resize(avro_schema_record_size(schema_.get()));
    const std::lock_guard lock(avro_error_mutex());
    iface_.reset(avro_generic_class_from_schema(schema_.get()));
    if (!iface_ || avro_generic_value_new(iface_.get(), &record_.value) != 0)
      throw std::invalid_argument("Avro schema not usable: " + avro_error());
    reader_.reset(avro_reader_memory("", 0));
    if (!reader_) throw std::bad_alloc();
  }

  bool decode(std::string_view payload, std::vector<payload_field>& fields, std::string& why) override {
    fields.clear();
    if (!check_header(payload, why)) return false;
    const std::uint32_t id = schema_id(payload);
    const std::string_view body = payload.substr(header_size);
    const std::optional<std::size_t> length = guard_.check(schema_.get(), body, why);
    if (!length) {
      why = mismatch(id, why);
      return false;
    }
    if (*length < body.size()) {
      why = plural(body.size() - *length, "byte") + " left over after the record (schema id " + std::to_string(id) + ")";
      return false;
    }
    if (!read(body, id, why)) return false;
    extract(fields);
    return true;
  }

private:
  static bool check_header(std::string_view payload, std::string& why) {
    if (payload.size() < header_size) {
      why = "too short for the Confluent Avro wire format (" + plural(payload.size(), "byte") + ", need at least " +
            std::to_string(header_size) + ")";
      return false;
    }
    const auto magic = static_cast<unsigned char>(payload[0]);
    if (magic == 0) return true;
    const char hex[] = "0123456789abcdef";
    why = std::string("not the Confluent Avro wire format: magic byte 0x") + hex[magic >> 4] + hex[magic & 0xF] +
          ", expected 0x00" + (magic == '{' ? " (is this JSON?)" : "");
    return false;
  }

  static std::uint32_t schema_id(std::string_view payload) {
    std::uint32_t id = 0;
    for (std::size_t i = 1; i < header_size; ++i) id = id << 8 | static_cast<unsigned char>(payload[i]);
    return id;
  }

  /// avro-c decodes what the guard accepted; it should neither fail nor stop
  /// short, but if it does that is reported, not trusted.
  bool read(std::string_view body, std::uint32_t id, std::string& why) {
    const std::lock_guard lock(avro_error_mutex());
    avro_set_error("%s", "");
    avro_reader_memory_set_source(reader_.get(), body.data(), static_cast<std::int64_t>(body.size()));
    if (avro_value_read(reader_.get(), &record_.value) != 0) {
      why = mismatch(id, "avro-c: " + avro_error());
      return false;
    }
    if (avro_skip(reader_.get(), 1) == 0) {
      why = mismatch(id, "avro-c read less of the record than its encoding holds");
      return false;
    }
    return true;
  }

  /// One field per top-level scalar field, in schema order. Bytes, fixed,
  /// arrays, maps and records (also as a union's branch) are not emitted:
  /// a reading is made of scalars, and these have no one text to give.
  void extract(std::vector<payload_field>& fields) {
    for (std::size_t i = 0; i < texts_.size(); ++i) {
      avro_value_t child;
      const char* name = nullptr;
      if (avro_value_get_by_index(&record_.value, i, &child, &name) != 0) continue;
      avro_value_t branch;
      if (avro_value_get_type(&child) == AVRO_UNION) {
        if (avro_value_get_current_branch(&child, &branch) != 0) continue;
        child = branch;
      }
      payload_field f;
      f.name = name;
      if (number_field(&child, texts_[i], f) || text_field(&child, f)) fields.push_back(f);
    }
  }

  schema_ptr schema_;
  std::unique_ptr<avro_value_iface_t, iface_deleter> iface_;
  record_value record_;
  std::unique_ptr<std::remove_pointer_t<avro_reader_t>, reader_deleter> reader_;
  encoding_guard guard_;
  std::vector<std::string> texts_;  // per top-level field: its number's text
};

} // namespace

std::unique_ptr<payload_decoder> make_avro_decoder(const std::string& schema_json) {
  return std::make_unique<avro_decoder>(schema_json);
}

} // namespace stream_smarts::kafka_source
