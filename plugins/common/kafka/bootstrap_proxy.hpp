// Forwards TCP connections from a fixed loopback port to the embedded
// cluster's bootstrap address. librdkafka's mock cluster only listens on
// ephemeral ports; clients need a port they can be told in advance. Only the
// bootstrap connection goes through here: the cluster's metadata then names
// its broker's own address, which clients use directly.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace stream_smarts::kafka {

class bootstrap_proxy {
public:
  /// Listens on 127.0.0.1:port; throws std::runtime_error (port in use...).
  bootstrap_proxy(int port, std::string target_host, int target_port);
  ~bootstrap_proxy();
  bootstrap_proxy(const bootstrap_proxy&) = delete;
  bootstrap_proxy& operator=(const bootstrap_proxy&) = delete;

private:
  void serve();

  int listener_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: writing to it ends serve()
  std::string target_host_;
  int target_port_;
  std::thread thread_;
};

} // namespace stream_smarts::kafka
