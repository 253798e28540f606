// A sink's outbox without actors: the test plays the sink actor, writing
// each alert next() gives and saying what became of it.
#include "log.hpp"
#include "outbox.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace stream_smarts;
using namespace stream_smarts::runtime;
using std::chrono::milliseconds;

namespace {

constexpr std::int64_t minute = 60'000;

struct recorded_log final : logger {
  std::vector<std::string> lines;
  bool enabled(log_level) const override { return true; }
  void log(log_level, std::string_view message) override { lines.emplace_back(message); }
};

struct given_up_raise {
  std::string meter;
  std::int64_t ts_ms = 0;
  std::optional<std::int64_t> instead_ms;
  bool operator==(const given_up_raise&) const = default;
};

/// An outbox with what it tells recorded.
struct fixture {
  stage_metrics counted;
  recorded_log log;
  std::vector<given_up_raise> raises_given_up;
  outbox box;
  explicit fixture(outbox::limits sizes = {100, 10}, retry_settings retries = {3, milliseconds{1000}})
      : box(sizes, retries, counted, log, [this](const scored_reading& raised, std::optional<std::int64_t> instead) {
          raises_given_up.push_back({raised.reading.meter, raised.reading.ts_ms, instead});
        }) {}
};

alert an(alert_kind kind, std::int64_t minutes, std::string meter = "home", std::string scorer = "band") {
  alert a;
  a.kind = kind;
  a.scored.reading.meter = std::move(meter);
  a.scored.reading.ts_ms = minutes * minute;
  a.scored.reading.local.minute = static_cast<std::int8_t>(minutes % 60);
  a.scored.scorer = std::move(scorer);
  a.scored.score = 5;
  return a;
}

/// "raised home 1": an alert's kind, meter and minute; its scorer if not "band".
std::string name(const alert& a) {
  const scored_reading& s = a.scored;
  return std::string(to_string(a.kind)) + " " + s.reading.meter + " " + std::to_string(s.reading.ts_ms / minute) +
         (s.scorer == "band" ? "" : " by " + s.scorer);
}

/// Writes the rest of the chunk (begun if none is on); what it wrote.
std::vector<std::string> write_chunk(outbox& box) {
  std::vector<std::string> wrote;
  box.begin_chunk();
  for (int guard = 0; guard < 1000; ++guard) {
    const alert* a = box.next();
    if (a == nullptr) return wrote;
    wrote.push_back(name(*a));
    box.written();
  }
  FAIL("the chunk never ended");
  return wrote;
}

/// Writes and completes chunks until the outbox is empty; what it wrote.
std::vector<std::string> deliver_all(outbox& box) {
  std::vector<std::string> wrote;
  for (int guard = 0; guard < 1000 && !box.empty(); ++guard) {
    for (auto& w : write_chunk(box)) wrote.push_back(std::move(w));
    box.complete_chunk();
  }
  CHECK(box.empty());
  return wrote;
}

/// Makes the next entry the chunk and refuses it for good.
void refuse_first(outbox& box, const std::string& why) {
  box.begin_chunk();
  REQUIRE(box.next() != nullptr);
  box.refuse(why);
  box.written();
}

/// The retry's number; fails the test if there is no retry.
int retry_number(const std::optional<outbox::retry>& retry) {
  REQUIRE(retry);
  return retry->number;
}

const delivery_error busy("503 busy", true);
const delivery_error bad_token("401 bad token", false);

} // namespace

TEST_CASE("outbox: a chunk holds at most max_chunk entries", "[outbox]") {
  fixture f({100, 2});
  f.box.take({an(alert_kind::raised, 1), an(alert_kind::raised, 2), an(alert_kind::raised, 3)});
  CHECK(write_chunk(f.box) == std::vector<std::string>{"raised home 1", "raised home 2"});
  f.box.complete_chunk();
  CHECK(write_chunk(f.box) == std::vector<std::string>{"raised home 3"});
  f.box.complete_chunk();
  CHECK(f.box.empty());
}

TEST_CASE("outbox: entries taken while a chunk is on wait for the next chunk", "[outbox]") {
  fixture f({100, 10});
  f.box.take({an(alert_kind::raised, 1)});
  f.box.begin_chunk();
  f.box.take({an(alert_kind::reminder, 2)});
  CHECK(write_chunk(f.box) == std::vector<std::string>{"raised home 1"});
  f.box.complete_chunk();
  CHECK(write_chunk(f.box) == std::vector<std::string>{"reminder home 2"});
}

TEST_CASE("outbox: it has room until it holds its capacity", "[outbox]") {
  fixture f({3, 2});
  CHECK(f.box.has_room());
  f.box.take({an(alert_kind::raised, 1), an(alert_kind::raised, 2)});
  CHECK(f.box.has_room());
  f.box.take({an(alert_kind::raised, 3)});
  CHECK(f.box.size() == 3);
  CHECK_FALSE(f.box.has_room());
  write_chunk(f.box);
  f.box.complete_chunk();
  CHECK(f.box.size() == 1);
  CHECK(f.box.has_room());
}

TEST_CASE("outbox: a batch with no alerts is not taken", "[outbox]") {
  fixture f;
  CHECK_FALSE(f.box.take({}));
  CHECK(f.box.empty());
  CHECK(f.box.take({an(alert_kind::raised, 1)}));
}

TEST_CASE("outbox: complete_chunk counts each batch once when its last entry is delivered", "[outbox]") {
  fixture f({100, 2});
  f.box.take({an(alert_kind::raised, 1)});
  f.box.take({an(alert_kind::raised, 2), an(alert_kind::raised, 3)});
  f.box.take({an(alert_kind::raised, 4)});
  f.box.take({an(alert_kind::raised, 5), an(alert_kind::raised, 6), an(alert_kind::raised, 7)});
  std::vector<std::size_t> completed;
  for (int guard = 0; guard < 10 && !f.box.empty(); ++guard) {
    write_chunk(f.box);
    completed.push_back(f.box.complete_chunk());
  }
  CHECK(completed == std::vector<std::size_t>{1, 2, 0, 1});
}

TEST_CASE("outbox: delivered entries are counted as sent", "[outbox]") {
  fixture f;
  f.box.take({an(alert_kind::none, 1), an(alert_kind::raised, 2), an(alert_kind::reminder, 3, "garage"),
              an(alert_kind::reminder, 4, "barn")});
  deliver_all(f.box);
  CHECK(f.counted.delivered == 4);
  CHECK(f.box.alerts_delivered() == 3);  // the scored reading (receive = "all") is no alert
  CHECK(f.counted.alerts == std::array<std::uint64_t, 3>{1, 2, 0});
  CHECK(f.counted.given_up == 0);
  CHECK_FALSE(f.box.last_given_up());
}

TEST_CASE("outbox: a retryable failure then success resets the failures", "[outbox]") {
  fixture f({100, 10}, {2, milliseconds{1000}});
  f.box.take({an(alert_kind::raised, 1), an(alert_kind::raised, 1, "garage")});
  f.box.begin_chunk();
  REQUIRE(f.box.next() != nullptr);
  CHECK(retry_number(f.box.write_failed(busy)) == 1);
  REQUIRE(f.box.next() != nullptr);
  CHECK(retry_number(f.box.write_failed(busy)) == 2);
  REQUIRE(name(*f.box.next()) == "raised home 1");
  f.box.written();
  REQUIRE(name(*f.box.next()) == "raised garage 1");
  CHECK(retry_number(f.box.write_failed(busy)) == 1);  // a third in a row would be given up
  CHECK(f.counted.retries == 3);
  CHECK(f.counted.given_up == 0);
}

TEST_CASE("outbox: spent retries give the entry up and the chunk goes on", "[outbox]") {
  fixture f({100, 10}, {1, milliseconds{1000}});
  const alert home = an(alert_kind::raised, 1);
  f.box.take({home, an(alert_kind::raised, 1, "garage")});
  f.box.begin_chunk();
  REQUIRE(f.box.next() != nullptr);
  CHECK(f.box.write_failed(busy));
  CHECK_FALSE(f.box.write_failed(busy));
  CHECK(f.counted.given_up == 1);
  CHECK(f.box.last_given_up());
  CHECK(f.log.lines == std::vector<std::string>{"gave up delivering the raised alert for " + describe(home.scored) +
                                                ": 503 busy (2 attempts)"});
  CHECK(f.raises_given_up == std::vector<given_up_raise>{{"home", minute, std::nullopt}});
  REQUIRE(name(*f.box.next()) == "raised garage 1");
  CHECK(retry_number(f.box.write_failed(busy)) == 1);  // its own row of retries
  f.box.written();
  f.box.complete_chunk();
  CHECK(f.counted.delivered == 1);
  CHECK_FALSE(f.box.last_given_up());
}

TEST_CASE("outbox: a failure that is not retryable gives the entry up at once", "[outbox]") {
  fixture f({100, 10}, {5, milliseconds{1000}});
  const alert home = an(alert_kind::resolved, 1);
  f.box.take({home, an(alert_kind::reminder, 1, "garage")});
  SECTION("refused while written") {
    refuse_first(f.box, bad_token.what());
  }
  SECTION("failed while written") {
    f.box.begin_chunk();
    REQUIRE(f.box.next() != nullptr);
    CHECK_FALSE(f.box.write_failed(bad_token));
  }
  CHECK(f.counted.given_up == 1);
  CHECK(f.counted.retries == 0);
  CHECK(f.log.lines ==
        std::vector<std::string>{"gave up delivering the resolved alert for " + describe(home.scored) + ": 401 bad token"});
  CHECK(write_chunk(f.box) == std::vector<std::string>{"reminder garage 1"});
}

TEST_CASE("outbox: a chunk is written again from its start after a restart", "[outbox]") {
  fixture f({100, 2});
  f.box.take({an(alert_kind::raised, 1), an(alert_kind::raised, 2), an(alert_kind::raised, 3)});
  write_chunk(f.box);
  f.box.write_chunk_again();
  CHECK(write_chunk(f.box) == std::vector<std::string>{"raised home 1", "raised home 2"});
}

TEST_CASE("outbox: a flush failure writes the whole chunk again", "[outbox]") {
  fixture f({100, 2});
  f.box.take({an(alert_kind::raised, 1), an(alert_kind::raised, 2), an(alert_kind::raised, 3)});
  write_chunk(f.box);
  CHECK(retry_number(f.box.flush_failed(busy)) == 1);
  CHECK(write_chunk(f.box) == std::vector<std::string>{"raised home 1", "raised home 2"});
  CHECK(f.box.complete_chunk() == 0);
  CHECK(f.counted.delivered == 2);
}

TEST_CASE("outbox: a flush given up gives up every sent entry of the chunk", "[outbox]") {
  fixture f({100, 3}, {1, milliseconds{1000}});
  const alert home = an(alert_kind::raised, 1);
  const alert barn = an(alert_kind::resolved, 1, "barn");
  f.box.take({home, an(alert_kind::reminder, 1, "garage"), barn});
  f.box.take({an(alert_kind::raised, 2)});
  refuse_first(f.box, "no such device");  // home: given up once, not again with the chunk
  CHECK(write_chunk(f.box) == std::vector<std::string>{"reminder garage 1", "resolved barn 1"});
  CHECK(f.box.flush_failed(busy));
  write_chunk(f.box);
  CHECK_FALSE(f.box.flush_failed(busy));
  CHECK(f.counted.given_up == 3);
  CHECK(f.log.lines.back() == "gave up delivering the resolved alert for " + describe(barn.scored) +
                                  ": 503 busy (2 attempts)");
  CHECK(f.box.complete_chunk() == 1);
  CHECK(f.counted.delivered == 0);
  CHECK(f.box.last_given_up());
  CHECK(deliver_all(f.box) == std::vector<std::string>{"raised home 2"});
}

TEST_CASE("outbox: a raise given up makes the next reminder of its scorer and meter the raise", "[outbox]") {
  fixture f({100, 1});
  const alert instead = an(alert_kind::reminder, 4);
  f.box.take({an(alert_kind::raised, 1), an(alert_kind::reminder, 2, "garage"),
              an(alert_kind::reminder, 3, "home", "other"), instead, an(alert_kind::reminder, 5)});
  refuse_first(f.box, "bad token");
  f.box.complete_chunk();
  CHECK(f.raises_given_up == std::vector<given_up_raise>{{"home", minute, 4 * minute}});
  CHECK(f.log.lines.front() ==
        "the reminder for " + describe(instead.scored) + " is sent as the raise, which was given up");
  CHECK(deliver_all(f.box) == std::vector<std::string>{"reminder garage 2", "reminder home 3 by other",
                                                       "raised home 4", "reminder home 5"});
  CHECK(f.counted.alerts == std::array<std::uint64_t, 3>{1, 3, 0});
}

TEST_CASE("outbox: a raise given up withdraws its resolved alert when no reminder comes first", "[outbox]") {
  fixture f({100, 1});
  const alert resolved = an(alert_kind::resolved, 3);
  f.box.take({an(alert_kind::raised, 1), an(alert_kind::resolved, 2, "garage"), resolved});
  refuse_first(f.box, "bad token");
  f.box.complete_chunk();
  CHECK(f.raises_given_up == std::vector<given_up_raise>{{"home", minute, std::nullopt}});
  CHECK(f.log.lines.front() == "withdrew the resolved alert for " + describe(resolved.scored) +
                                   ": its raise was given up");
  CHECK(deliver_all(f.box) == std::vector<std::string>{"resolved garage 2"});
  CHECK(f.counted.delivered == 1);
  CHECK(f.counted.given_up == 1);  // the withdrawn one is neither
}

TEST_CASE("outbox: a later raise of the meter ends the episode of a raise given up", "[outbox]") {
  fixture f({100, 1});
  f.box.take({an(alert_kind::raised, 1), an(alert_kind::raised, 5), an(alert_kind::reminder, 6)});
  refuse_first(f.box, "bad token");
  f.box.complete_chunk();
  CHECK(f.raises_given_up == std::vector<given_up_raise>{{"home", minute, std::nullopt}});
  CHECK(deliver_all(f.box) == std::vector<std::string>{"raised home 5", "reminder home 6"});
}

TEST_CASE("outbox: the retry wait doubles per failure within a quarter either way", "[outbox]") {
  fixture f({100, 10}, {30, milliseconds{1000}});
  f.box.take({an(alert_kind::raised, 1)});
  f.box.begin_chunk();
  REQUIRE(f.box.next() != nullptr);
  int jittered = 0;
  for (int n = 1; n <= 8; ++n) {
    const auto retry = f.box.write_failed(busy);
    REQUIRE(retry);
    CHECK(retry->number == n);
    const double doubled = 1000 * std::pow(2.0, n - 1);
    CHECK(retry->wait.count() >= static_cast<std::int64_t>(doubled * 0.75));
    CHECK(retry->wait.count() <= static_cast<std::int64_t>(doubled * 1.25));
    if (retry->wait.count() != static_cast<std::int64_t>(doubled)) ++jittered;
  }
  CHECK(jittered > 0);  // sinks failing together do not retry together
}

TEST_CASE("outbox: the retry wait is at least the Retry-After asked for", "[outbox]") {
  fixture f({100, 10}, {3, milliseconds{1000}});
  f.box.take({an(alert_kind::raised, 1)});
  write_chunk(f.box);
  const auto retry = f.box.flush_failed(delivery_error("429 too many requests", true, milliseconds{90'000}));
  REQUIRE(retry);
  CHECK(retry->wait == milliseconds{90'000});
}

TEST_CASE("outbox: the retry wait is at most ten minutes", "[outbox]") {
  constexpr milliseconds ten_minutes{600'000};
  fixture f({100, 10}, {30, milliseconds{60'000}});
  f.box.take({an(alert_kind::raised, 1)});
  f.box.begin_chunk();
  REQUIRE(f.box.next() != nullptr);
  SECTION("however many failures") {
    std::optional<outbox::retry> retry;
    for (int n = 1; n <= 6; ++n) retry = f.box.write_failed(busy);  // 60 s doubled 5 times: 32 min
    REQUIRE(retry);
    CHECK(retry->wait == ten_minutes);
  }
  SECTION("whatever the Retry-After") {
    const auto retry = f.box.write_failed(delivery_error("429 too many requests", true, milliseconds{3'600'000}));
    REQUIRE(retry);
    CHECK(retry->wait == ten_minutes);
  }
}
