// The guard run before toml++ 3.3 parses a pipeline or a model: a dotted key
// of more parts than toml++ 3.4 allows, which 3.3 recurses on until the
// stack runs out, is found with its place; nothing else is taken for one.
#include <stream_smarts/toml_keys.hpp>

#include <catch2/catch.hpp>

#include <string>

using stream_smarts::toml_keys::max_parts;
using stream_smarts::toml_keys::too_deep;

namespace {

// "a.a.a" of `parts` parts, each part `part`.
std::string dotted(std::size_t parts, const std::string& part = "a", const std::string& dot = ".") {
  std::string key = part;
  for (std::size_t i = 1; i < parts; ++i) key += dot + part;
  return key;
}

} // namespace

TEST_CASE("a key of more dotted parts than toml++ 3.4 allows is found where it starts") {
  CHECK_FALSE(too_deep("[pipeline]\n" + dotted(max_parts) + " = 1\n"));
  const auto at = too_deep("[pipeline]\nname = \"x\"\n  " + dotted(max_parts + 1) + " = 1\n");
  REQUIRE(at);
  CHECK(at->line == 3);
  CHECK(at->column == 3);
  // Table headers, quoted parts, and blanks around the dots are key parts too.
  CHECK(too_deep("[" + dotted(max_parts + 1) + "]\n")->column == 2);
  CHECK(too_deep("[[" + dotted(max_parts + 1, "b", " . ") + "]]\n")->column == 3);
  CHECK(too_deep(dotted(max_parts + 1, "\"a.b\"") + " = 1")->line == 1);
  CHECK(too_deep(dotted(max_parts + 1, "'a'") + " = 1")->line == 1);
  CHECK(too_deep(dotted(max_parts + 1, "\"a\\\"b\"") + " = 1"));  // an escaped quote inside a part
}

TEST_CASE("values, strings and comments are not taken for deep keys") {
  std::string numbers = "band = [\n";
  for (int i = 0; i < 3; ++i) numbers += "  " + dotted(2000, "1.5", ", ") + ",\n";
  CHECK_FALSE(too_deep(numbers + "]\n"));
  CHECK_FALSE(too_deep("name = \"" + dotted(5000) + "\"\n"));
  CHECK_FALSE(too_deep("# " + dotted(5000) + "\n"));
  CHECK_FALSE(too_deep("a = 1 # " + dotted(5000) + "\n"));
  CHECK_FALSE(too_deep(""));
  CHECK_FALSE(too_deep("\n\n"));
  // An unterminated quoted part ends the key there.
  CHECK_FALSE(too_deep(dotted(5, "a") + ".\"" + dotted(5000) + "\n"));
}
