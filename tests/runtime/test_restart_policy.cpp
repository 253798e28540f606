// How a failing stage is restarted: the backoff and when it gives up.
#include "stage.hpp"

#include <catch2/catch.hpp>

using namespace stream_smarts::runtime;
using std::chrono::milliseconds;

TEST_CASE("restart_policy: max_restarts restarts in a row, doubling from restart_backoff up to 10 s") {
  restart_policy policy(5, milliseconds{2000});
  for (const long wait : {2000, 4000, 8000, 10000, 10000}) CHECK(policy.failed() == milliseconds{wait});
  CHECK_FALSE(policy.failed());  // the failure after the fifth restart
  policy.succeeded();
  CHECK(policy.failed() == milliseconds{2000});  // a success starts the count again
}

TEST_CASE("restart_policy: a restart_backoff above 10 s is kept, not cut, and 0 restarts gives up at once") {
  restart_policy slow(2, milliseconds{30000});
  CHECK(slow.failed() == milliseconds{30000});
  CHECK(slow.failed() == milliseconds{30000});
  CHECK_FALSE(slow.failed());
  restart_policy never(0, milliseconds{200});
  CHECK_FALSE(never.failed());
}
