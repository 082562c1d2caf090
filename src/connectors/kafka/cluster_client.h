// ClusterClient: the Kafka requests weir sends itself (protocol.h), to a cluster reached
// through its bootstrap servers: which brokers there are and whether topics exist, a broker's
// configuration, and the transaction requests that librdkafka 2.0 has no call for
// (DescribeTransactions, ListTransactions, EndTxn as a given producer id and epoch). The
// exactly-once Kafka sink uses it to check its settings at start and to finish, at recovery,
// the transactions a process that died had prepared; a Kafka source can use it beside the sink.
//
// Every operation retries what Kafka says is worth retrying (a coordinator that moved or is
// loading, a lost connection) until `request_timeout` has passed, then fails with the last
// error, naming the broker. PLAINTEXT listeners only.
//
// Thread-safety: thread-safe; operations run one at a time.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/kafka/broker_connection.h"
#include "connectors/kafka/protocol.h"
#include "weir/status.h"

namespace weir::kafka {

struct HostPort {
  std::string host;
  int port = 0;
};

// "host:port,host:port" (a "PLAINTEXT://" in front of each is allowed; IPv6 as [::1]:9092).
Result<std::vector<HostPort>> ParseBootstrapServers(std::string_view servers);

struct ClusterClientOptions {
  std::string bootstrap_servers;
  std::string client_id = "weir";
  std::chrono::milliseconds request_timeout{30'000};  // per operation, retries included
  // Once stop is requested, an operation tries no more, and a request waiting for its answer
  // ends.
  std::stop_token cancellation;
};

class ClusterClient {
 public:
  explicit ClusterClient(ClusterClientOptions options);
  ~ClusterClient();

  // The brokers, and the given topics (never created by this request).
  Result<MetadataResponse> Metadata(const std::vector<std::string>& topics);
  // A broker's values of the given configuration keys.
  Result<std::map<std::string, std::optional<std::string>>> BrokerConfigs(
      const BrokerAddress& broker, const std::vector<std::string>& keys);
  // The transaction a transactional id holds now. error_code is TRANSACTIONAL_ID_NOT_FOUND
  // for an id the coordinator does not know (never used, or expired); other errors fail.
  Result<TransactionDescription> DescribeTransaction(const std::string& transactional_id);
  // Every transactional id the cluster's coordinators know whose id matches `pattern` (a
  // regular expression the brokers apply from Kafka 4.1; older ones list all ids, and the
  // caller filters). Asks every broker.
  Result<std::vector<TransactionListing>> ListTransactions(std::string_view pattern);
  // EndTxn as producer (id, epoch) of the transactional id, at its coordinator. Returns the
  // coordinator's answer once it is not one to retry (NONE, PRODUCER_FENCED, ...).
  Result<int16_t> EndTransaction(const std::string& transactional_id, int64_t producer_id,
                                 int16_t producer_epoch, bool commit);

  const std::string& bootstrap_servers() const { return options_.bootstrap_servers; }

 private:
  Deadline NewDeadline() const;
  Result<BrokerConnection*> Connect(const std::string& host, int port, Deadline deadline);
  // Any broker of the bootstrap list (the first that answers), then the ones metadata named.
  Result<BrokerConnection*> AnyBroker(Deadline deadline);
  Result<BrokerConnection*> Coordinator(const std::string& transactional_id, Deadline deadline);
  // One request on `conn`, at the highest version both sides speak; returns (version, body).
  Result<std::pair<int16_t, std::string>> Call(BrokerConnection* conn, ApiKey key,
                                               const std::function<std::string(int16_t)>& encode,
                                               Deadline deadline);
  void Backoff(int attempt, Deadline deadline) const;
  // `deadline` passed, or the cancellation was requested.
  bool Expired(Deadline deadline) const;

  ClusterClientOptions options_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<BrokerConnection>> connections_;  // by host:port
  std::map<std::string, BrokerAddress> coordinators_;  // transactional id -> coordinator
};

}  // namespace weir::kafka
