// BrokerConnection: one blocking TCP connection to a Kafka broker, for weir's own requests
// (protocol.h). PLAINTEXT listeners only: no TLS, no SASL.
//
// Each call sends one request and waits for its response, up to a deadline; any I/O error or
// a timeout leaves the connection unusable (broken()), and the caller connects again.
//
// Thread-safety: not thread-safe; ClusterClient serializes its calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "connectors/kafka/protocol.h"
#include "weir/status.h"

namespace weir::kafka {

using Deadline = std::chrono::steady_clock::time_point;

class BrokerConnection {
 public:
  // Connects and asks the broker which API versions it supports (ApiVersions). Once stop is
  // requested on `cancellation`, a wait for the broker ends (Aborted) and the connection breaks.
  static Result<std::unique_ptr<BrokerConnection>> Open(const std::string& host, int port,
                                                        std::string client_id, Deadline deadline,
                                                        std::stop_token cancellation = {});
  ~BrokerConnection();
  BrokerConnection(const BrokerConnection&) = delete;
  BrokerConnection& operator=(const BrokerConnection&) = delete;

  // The version of `key` to use: the highest both weir and the broker support.
  Result<int16_t> PickVersion(ApiKey key) const;

  // Sends a request and returns the body of its response (the header checked and removed).
  Result<std::string> Call(ApiKey key, int16_t version, std::string_view body, Deadline deadline);

  bool broken() const { return fd_ < 0; }
  const std::string& address() const { return address_; }

 private:
  BrokerConnection(int fd, std::string address, std::string client_id,
                   std::stop_token cancellation);
  Status SendAll(std::string_view bytes, Deadline deadline);
  Status ReceiveExactly(size_t n, std::string* out, Deadline deadline);
  Status WaitFor(short events, Deadline deadline);
  Status Fail(Status s);

  int fd_;
  std::string address_;  // host:port, for messages
  std::string client_id_;
  std::stop_token cancellation_;
  int32_t next_correlation_id_ = 1;
  std::map<int16_t, VersionRange> api_versions_;
};

}  // namespace weir::kafka
