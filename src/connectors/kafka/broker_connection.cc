#include "connectors/kafka/broker_connection.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace weir::kafka {
namespace {

// No response weir asks for comes near this; a larger size is a corrupt or foreign stream.
constexpr int32_t kMaxResponseBytes = 64 << 20;

// The longest a wait for a broker goes without looking at the cancellation.
constexpr int kPollStepMs = 200;

int RemainingMs(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, std::numeric_limits<int>::max()));
}

std::string ErrnoText(int err) { return std::strerror(err); }

}  // namespace

BrokerConnection::BrokerConnection(int fd, std::string address, std::string client_id,
                                   std::stop_token cancellation)
    : fd_(fd),
      address_(std::move(address)),
      client_id_(std::move(client_id)),
      cancellation_(std::move(cancellation)) {}

BrokerConnection::~BrokerConnection() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<BrokerConnection>> BrokerConnection::Open(const std::string& host, int port,
                                                                 std::string client_id,
                                                                 Deadline deadline,
                                                                 std::stop_token cancellation) {
  std::string address = host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                            : fmt::format("{}:{}", host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    return Status::IOError(
        fmt::format("cannot resolve broker '{}': {}", address, ::gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  Status last = Status::IOError(fmt::format("cannot connect to broker {}", address));
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = Status::IOError(fmt::format("socket for {}: {}", address, ErrnoText(errno)));
      continue;
    }
    int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::unique_ptr<BrokerConnection> conn(
        new BrokerConnection(fd, address, client_id, cancellation));
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = Status::IOError(
          fmt::format("cannot connect to broker {}: {}", address, ErrnoText(errno)));
      continue;
    }
    Status s = conn->WaitFor(POLLOUT, deadline);
    if (s.ok()) {
      int err = 0;
      socklen_t len = sizeof err;
      (void)::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        s = Status::IOError(
            fmt::format("cannot connect to broker {}: {}", address, ErrnoText(err)));
      }
    }
    if (!s.ok()) {
      last = s;
      continue;
    }
    auto body = conn->Call(ApiKey::kApiVersions, 0, EncodeApiVersionsRequest(), deadline);
    if (!body.ok()) return body.status();
    auto versions = DecodeApiVersionsResponse(*body);
    if (!versions.ok()) return versions.status().WithContext("broker " + address);
    if (versions->error_code != error_code::kNone) {
      return Status::IOError(fmt::format("broker {} answered ApiVersions with {}", address,
                                         ErrorCodeName(versions->error_code)));
    }
    conn->api_versions_ = std::move(versions->apis);
    return conn;
  }
  return last;
}

Result<int16_t> BrokerConnection::PickVersion(ApiKey key) const {
  VersionRange ours = SupportedVersions(key);
  auto it = api_versions_.find(static_cast<int16_t>(key));
  if (it != api_versions_.end()) {
    int16_t v = std::min(ours.max, it->second.max);
    if (v >= ours.min && v >= it->second.min) return v;
  }
  std::string theirs =
      it == api_versions_.end() ? "none" : fmt::format("{}-{}", it->second.min, it->second.max);
  return Status::FailedPrecondition(fmt::format(
      "the broker at {} does not support a version of the Kafka {} request weir speaks (weir: "
      "{}-{}, broker: {}); weir's Kafka connector needs Apache Kafka 3.0 or newer",
      address_, ApiKeyName(key), ours.min, ours.max, theirs));
}

Status BrokerConnection::Fail(Status s) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return s;
}

Status BrokerConnection::WaitFor(short events, Deadline deadline) {
  for (;;) {
    if (cancellation_.stop_requested()) {
      return Fail(Status::Aborted(
          fmt::format("the job was cancelled while it waited for broker {}", address_)));
    }
    pollfd p{fd_, events, 0};
    const int left = RemainingMs(deadline);
    int rc = ::poll(&p, 1, std::min(left, kPollStepMs));
    if (rc > 0) return Status::OK();
    if (rc == 0 && left <= kPollStepMs) {
      return Fail(Status::TimedOut(fmt::format("broker {} did not answer in time", address_)));
    }
    if (rc == 0) continue;
    if (errno != EINTR) {
      return Fail(Status::IOError(fmt::format("poll on {}: {}", address_, ErrnoText(errno))));
    }
  }
}

Status BrokerConnection::SendAll(std::string_view bytes, Deadline deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      WEIR_RETURN_IF_ERROR(WaitFor(POLLOUT, deadline));
      continue;
    }
    return Fail(Status::IOError(
        fmt::format("sending to broker {}: {}", address_, ErrnoText(n < 0 ? errno : EPIPE))));
  }
  return Status::OK();
}

Status BrokerConnection::ReceiveExactly(size_t n, std::string* out, Deadline deadline) {
  out->resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd_, out->data() + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) {
      return Fail(Status::IOError(fmt::format("broker {} closed the connection", address_)));
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      WEIR_RETURN_IF_ERROR(WaitFor(POLLIN, deadline));
      continue;
    }
    return Fail(
        Status::IOError(fmt::format("receiving from broker {}: {}", address_, ErrnoText(errno))));
  }
  return Status::OK();
}

Result<std::string> BrokerConnection::Call(ApiKey key, int16_t version, std::string_view body,
                                           Deadline deadline) {
  if (fd_ < 0) return Status::IOError(fmt::format("connection to broker {} is closed", address_));
  const bool flexible = IsFlexible(key, version);
  const int32_t correlation_id = next_correlation_id_++;
  WEIR_RETURN_IF_ERROR(
      SendAll(FrameRequest(key, version, flexible, correlation_id, client_id_, body), deadline));
  std::string size_bytes;
  WEIR_RETURN_IF_ERROR(ReceiveExactly(4, &size_bytes, deadline));
  WireReader size_reader(size_bytes, false);
  int32_t size = size_reader.Int32();
  if (size < 4 || size > kMaxResponseBytes) {
    return Fail(Status::Corruption(
        fmt::format("broker {} sent a response of {} bytes to {}: not a Kafka response", address_,
                    size, ApiKeyName(key))));
  }
  std::string response;
  WEIR_RETURN_IF_ERROR(ReceiveExactly(static_cast<size_t>(size), &response, deadline));
  // Response header v0 (correlation id), or v1 (and tagged fields) for flexible versions;
  // ApiVersions always answers with v0 so that any client can read it.
  WireReader r(response, flexible && key != ApiKey::kApiVersions);
  int32_t got_id = r.Int32();
  r.TaggedFields();
  if (!r.ok() || got_id != correlation_id) {
    return Fail(
        Status::Corruption(fmt::format("broker {} answered {} with correlation id {}, expected {}",
                                       address_, ApiKeyName(key), got_id, correlation_id)));
  }
  size_t header = response.size() - r.remaining();
  return response.substr(header);
}

}  // namespace weir::kafka
