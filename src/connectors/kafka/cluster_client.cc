#include "connectors/kafka/cluster_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <thread>

namespace weir::kafka {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Where(const BrokerAddress& b) {
  return fmt::format("broker {} ({}:{})", b.node_id, b.host, b.port);
}

// A status worth another attempt: the connection, not the request, failed.
bool IsTransient(const Status& s) {
  return s.code() == StatusCode::kIOError || s.code() == StatusCode::kTimedOut;
}

}  // namespace

Result<std::vector<HostPort>> ParseBootstrapServers(std::string_view servers) {
  std::vector<HostPort> out;
  size_t start = 0;
  while (start <= servers.size()) {
    size_t comma = servers.find(',', start);
    std::string_view item = Trim(servers.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    start = comma == std::string_view::npos ? servers.size() + 1 : comma + 1;
    if (item.empty()) continue;
    if (auto scheme = item.find("://"); scheme != std::string_view::npos) {
      item.remove_prefix(scheme + 3);
    }
    size_t colon = item.rfind(':');
    int port = 0;
    std::string_view port_text = colon == std::string_view::npos ? "" : item.substr(colon + 1);
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (colon == std::string_view::npos || ec != std::errc() ||
        end != port_text.data() + port_text.size() || port <= 0 || port > 65535) {
      return Status::InvalidArgument(
          fmt::format("bootstrap.servers '{}': '{}' is not host:port", servers, item));
    }
    std::string_view host = item.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) {
      return Status::InvalidArgument(
          fmt::format("bootstrap.servers '{}': '{}' has no host", servers, item));
    }
    out.push_back(HostPort{std::string(host), port});
  }
  if (out.empty()) {
    return Status::InvalidArgument(
        "bootstrap.servers is empty: name at least one broker as "
        "host:port");
  }
  return out;
}

ClusterClient::ClusterClient(ClusterClientOptions options) : options_(std::move(options)) {}

ClusterClient::~ClusterClient() = default;

Deadline ClusterClient::NewDeadline() const {
  return std::chrono::steady_clock::now() + options_.request_timeout;
}

bool ClusterClient::Expired(Deadline deadline) const {
  return std::chrono::steady_clock::now() >= deadline || options_.cancellation.stop_requested();
}

void ClusterClient::Backoff(int attempt, Deadline deadline) const {
  auto pause = std::chrono::milliseconds(std::min(1000, 50 << std::min(attempt, 5)));
  auto until = std::min(deadline, std::chrono::steady_clock::now() + pause);
  // In steps: a cancellation ends the pause.
  while (std::chrono::steady_clock::now() < until && !options_.cancellation.stop_requested()) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        until - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
  }
}

Result<BrokerConnection*> ClusterClient::Connect(const std::string& host, int port,
                                                 Deadline deadline) {
  std::string key = fmt::format("{}:{}", host, port);
  auto it = connections_.find(key);
  if (it != connections_.end() && !it->second->broken()) return it->second.get();
  auto conn = BrokerConnection::Open(host, port, options_.client_id, deadline, options_.cancellation);
  if (!conn.ok()) return conn.status();
  auto& slot = connections_[key];
  slot = std::move(*conn);
  return slot.get();
}

Result<BrokerConnection*> ClusterClient::AnyBroker(Deadline deadline) {
  for (auto& [key, conn] : connections_) {
    if (!conn->broken()) return conn.get();
  }
  auto servers = ParseBootstrapServers(options_.bootstrap_servers);
  if (!servers.ok()) return servers.status();
  Status last;
  for (int attempt = 0;; ++attempt) {
    for (const HostPort& hp : *servers) {
      auto conn = Connect(hp.host, hp.port, deadline);
      if (conn.ok()) return conn;
      last = conn.status();
      if (!IsTransient(last)) return last;
    }
    if (Expired(deadline)) break;
    Backoff(attempt, deadline);
  }
  return Status::IOError(
      fmt::format("no broker of bootstrap.servers '{}' answered within {} ms; the last error: {}",
                  options_.bootstrap_servers, options_.request_timeout.count(), last.message()));
}

Result<std::pair<int16_t, std::string>> ClusterClient::Call(
    BrokerConnection* conn, ApiKey key, const std::function<std::string(int16_t)>& encode,
    Deadline deadline) {
  auto version = conn->PickVersion(key);
  if (!version.ok()) return version.status();
  auto body = conn->Call(key, *version, encode(*version), deadline);
  if (!body.ok()) return body.status();
  return std::make_pair(*version, std::move(*body));
}

Result<MetadataResponse> ClusterClient::Metadata(const std::vector<std::string>& topics) {
  std::lock_guard<std::mutex> lock(mu_);
  Deadline deadline = NewDeadline();
  Status last;
  for (int attempt = 0; !Expired(deadline) || attempt == 0; ++attempt) {
    auto conn = AnyBroker(deadline);
    if (!conn.ok()) return conn.status();
    auto r = Call(
        *conn, ApiKey::kMetadata,
        [&](int16_t v) {
          return EncodeMetadataRequest(v, topics, /*allow_auto_topic_creation=*/false);
        },
        deadline);
    if (r.ok()) {
      auto m = DecodeMetadataResponse(r->first, r->second);
      if (!m.ok()) return m.status().WithContext("broker " + (*conn)->address());
      return m;
    }
    last = r.status();
    if (!IsTransient(last)) return last;
    Backoff(attempt, deadline);
  }
  return last;
}

Result<std::map<std::string, std::optional<std::string>>> ClusterClient::BrokerConfigs(
    const BrokerAddress& broker, const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  Deadline deadline = NewDeadline();
  Status last;
  for (int attempt = 0; !Expired(deadline) || attempt == 0; ++attempt) {
    // A broker's own configuration is described by that broker.
    auto conn = Connect(broker.host, broker.port, deadline);
    if (conn.ok()) {
      auto r = Call(
          *conn, ApiKey::kDescribeConfigs,
          [&](int16_t v) {
            return EncodeDescribeConfigsRequest(v, kResourceTypeBroker,
                                                std::to_string(broker.node_id), keys);
          },
          deadline);
      if (r.ok()) {
        auto d = DecodeDescribeConfigsResponse(r->first, r->second);
        if (!d.ok()) return d.status().WithContext(Where(broker));
        if (d->error_code != error_code::kNone) {
          return Status::IOError(fmt::format("describing the configuration of {}: {} {}",
                                             Where(broker), ErrorCodeName(d->error_code),
                                             d->error_message));
        }
        return std::move(d->configs);
      }
      last = r.status();
    } else {
      last = conn.status();
    }
    if (!IsTransient(last)) return last;
    Backoff(attempt, deadline);
  }
  return last.WithContext("describing the configuration of " + Where(broker));
}

Result<BrokerConnection*> ClusterClient::Coordinator(const std::string& transactional_id,
                                                     Deadline deadline) {
  auto cached = coordinators_.find(transactional_id);
  if (cached != coordinators_.end()) {
    auto conn = Connect(cached->second.host, cached->second.port, deadline);
    if (conn.ok()) return conn;
    coordinators_.erase(cached);
  }
  Status last;
  for (int attempt = 0; !Expired(deadline) || attempt == 0; ++attempt) {
    auto any = AnyBroker(deadline);
    if (!any.ok()) return any.status();
    auto r = Call(
        *any, ApiKey::kFindCoordinator,
        [&](int16_t v) {
          return EncodeFindCoordinatorRequest(v, transactional_id, kCoordinatorTypeTransaction);
        },
        deadline);
    if (r.ok()) {
      auto found = DecodeFindCoordinatorResponse(r->first, r->second);
      if (!found.ok()) return found.status();
      if (found->error_code == error_code::kNone) {
        auto conn = Connect(found->coordinator.host, found->coordinator.port, deadline);
        if (conn.ok()) {
          coordinators_[transactional_id] = found->coordinator;
          return conn;
        }
        last = conn.status();
      } else if (IsRetriableError(found->error_code)) {
        last = Status::IOError(fmt::format("finding the coordinator of transactional id '{}': {}",
                                           transactional_id, ErrorCodeName(found->error_code)));
      } else {
        return Status::IOError(
            fmt::format("finding the coordinator of transactional id '{}': {} {}", transactional_id,
                        ErrorCodeName(found->error_code), found->error_message));
      }
    } else {
      last = r.status();
      if (!IsTransient(last)) return last;
    }
    Backoff(attempt, deadline);
  }
  return last;
}

Result<TransactionDescription> ClusterClient::DescribeTransaction(
    const std::string& transactional_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Deadline deadline = NewDeadline();
  Status last;
  for (int attempt = 0; !Expired(deadline) || attempt == 0; ++attempt) {
    auto conn = Coordinator(transactional_id, deadline);
    if (!conn.ok())
      return conn.status().WithContext("describing transaction '" + transactional_id + "'");
    auto r = Call(
        *conn, ApiKey::kDescribeTransactions,
        [&](int16_t) { return EncodeDescribeTransactionsRequest({transactional_id}); }, deadline);
    if (r.ok()) {
      auto d = DecodeDescribeTransactionsResponse(r->second);
      if (!d.ok()) return d.status().WithContext("broker " + (*conn)->address());
      if (d->size() != 1) {
        return Status::Corruption(
            fmt::format("broker {} described {} transactions for one transactional id",
                        (*conn)->address(), d->size()));
      }
      TransactionDescription& t = d->front();
      if (t.error_code == error_code::kNone ||
          t.error_code == error_code::kTransactionalIdNotFound) {
        return std::move(t);
      }
      last = Status::IOError(fmt::format("describing transaction '{}' at broker {}: {}",
                                         transactional_id, (*conn)->address(),
                                         ErrorCodeName(t.error_code)));
      if (!IsRetriableError(t.error_code)) return last;
      coordinators_.erase(transactional_id);
    } else {
      last = r.status().WithContext("describing transaction '" + transactional_id + "'");
      if (!IsTransient(r.status())) return last;
    }
    Backoff(attempt, deadline);
  }
  return last;
}

Result<std::vector<TransactionListing>> ClusterClient::ListTransactions(std::string_view pattern) {
  auto metadata = Metadata({});
  if (!metadata.ok()) return metadata.status().WithContext("listing transactions");
  std::lock_guard<std::mutex> lock(mu_);
  Deadline deadline = NewDeadline();
  std::vector<TransactionListing> all;
  for (const BrokerAddress& broker : metadata->brokers) {
    Status last;
    bool done = false;
    for (int attempt = 0; !done; ++attempt) {
      auto conn = Connect(broker.host, broker.port, deadline);
      if (conn.ok()) {
        auto r = Call(
            *conn, ApiKey::kListTransactions,
            [&](int16_t v) { return EncodeListTransactionsRequest(v, {}, pattern); }, deadline);
        if (r.ok()) {
          auto l = DecodeListTransactionsResponse(r->second);
          if (!l.ok()) return l.status().WithContext(Where(broker));
          if (l->error_code == error_code::kNone) {
            for (auto& t : l->transactions) all.push_back(std::move(t));
            done = true;
            continue;
          }
          last = Status::IOError(fmt::format("listing the transactions of {}: {}", Where(broker),
                                             ErrorCodeName(l->error_code)));
          if (!IsRetriableError(l->error_code)) return last;
        } else {
          last = r.status();
        }
      } else {
        last = conn.status();
      }
      if (!IsTransient(last)) return last;
      if (Expired(deadline)) {
        return last.WithContext("listing the transactions of " + Where(broker));
      }
      Backoff(attempt, deadline);
    }
  }
  return all;
}

Result<int16_t> ClusterClient::EndTransaction(const std::string& transactional_id,
                                              int64_t producer_id, int16_t producer_epoch,
                                              bool commit) {
  std::lock_guard<std::mutex> lock(mu_);
  Deadline deadline = NewDeadline();
  Status last;
  for (int attempt = 0; !Expired(deadline) || attempt == 0; ++attempt) {
    auto conn = Coordinator(transactional_id, deadline);
    if (!conn.ok()) return conn.status();
    auto r = Call(
        *conn, ApiKey::kEndTxn,
        [&](int16_t v) {
          return EncodeEndTxnRequest(v, transactional_id, producer_id, producer_epoch, commit);
        },
        deadline);
    if (r.ok()) {
      auto code = DecodeEndTxnResponse(r->first, r->second);
      if (!code.ok()) return code.status().WithContext("broker " + (*conn)->address());
      if (!IsRetriableError(*code)) return *code;
      // CONCURRENT_TRANSACTIONS: an earlier commit or abort is still writing its markers.
      last = Status::IOError(fmt::format("broker {} answered EndTxn with {}", (*conn)->address(),
                                         ErrorCodeName(*code)));
      if (*code == error_code::kNotCoordinator || *code == error_code::kCoordinatorNotAvailable) {
        coordinators_.erase(transactional_id);
      }
    } else {
      last = r.status();
      if (!IsTransient(last)) return last;
    }
    Backoff(attempt, deadline);
  }
  return last.WithContext(fmt::format("ending transaction '{}' within {} ms", transactional_id,
                                      options_.request_timeout.count()));
}

}  // namespace weir::kafka
