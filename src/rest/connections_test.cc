// Which of the process's sockets are the connections a listener accepted: its local port and
// address, not the port alone.
#include "rest/connections.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace weir {
namespace {

class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

sockaddr_storage Address(const char* host, int port) {
  sockaddr_storage a{};
  if (std::string(host).find(':') == std::string::npos) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host, &in->sin_addr);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET6, host, &in6->sin6_addr);
  }
  return a;
}

socklen_t LengthOf(const sockaddr_storage& a) {
  return a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

// A socket listening on host:port (0: any free port); fd -1 if it cannot bind.
Socket Listen(const char* host, int port) {
  sockaddr_storage a = Address(host, port);
  Socket s(::socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (a.ss_family == AF_INET6) {
    int only = 1;
    ::setsockopt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only));
  }
  if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&a), LengthOf(a)) != 0 ||
      ::listen(s.fd(), 4) != 0) {
    return Socket();
  }
  return s;
}

Socket Connect(const char* host, int port) {
  sockaddr_storage a = Address(host, port);
  Socket s(::socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(s.fd(), reinterpret_cast<sockaddr*>(&a), LengthOf(a)), 0) << host;
  return s;
}

std::vector<std::string> PeersOf(const sockaddr_storage& listener) {
  std::vector<std::string> peers;
  ForEachConnectionTo(listener, [&](const Connection& c) { peers.push_back(c.peer); });
  return peers;
}

TEST(ConnectionsTest, TwoListenersOnOnePortOfTwoAddressesEachSeeTheirOwn) {
  Socket v4 = Listen("127.0.0.1", 0);
  ASSERT_GE(v4.fd(), 0);
  const int port = PortOf(*BoundAddress(v4.fd()));
  Socket v6 = Listen("::1", port);
  if (v6.fd() < 0) GTEST_SKIP() << "cannot listen on [::1]:" << port;
  Socket c4 = Connect("127.0.0.1", port);
  Socket c6 = Connect("::1", port);
  Socket a4(::accept(v4.fd(), nullptr, nullptr));
  Socket a6(::accept(v6.fd(), nullptr, nullptr));
  ASSERT_GE(a4.fd(), 0);
  ASSERT_GE(a6.fd(), 0);

  std::vector<std::string> on_v4 = PeersOf(*BoundAddress(v4.fd()));
  ASSERT_EQ(on_v4.size(), 1u);
  EXPECT_EQ(on_v4[0].rfind("127.0.0.1:", 0), 0u) << on_v4[0];
  std::vector<std::string> on_v6 = PeersOf(*BoundAddress(v6.fd()));
  ASSERT_EQ(on_v6.size(), 1u);
  EXPECT_EQ(on_v6[0].rfind("[::1]:", 0), 0u) << on_v6[0];

  // Shutting down one listener's connections leaves the other's open.
  ShutDownConnectionsTo(*BoundAddress(v4.fd()));
  char byte;
  EXPECT_EQ(::recv(c4.fd(), &byte, 1, 0), 0) << "the client of 127.0.0.1 sees the end";
  EXPECT_EQ(::send(c6.fd(), "x", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(::recv(a6.fd(), &byte, 1, 0), 1) << "the connection to [::1] still works";
}

TEST(ConnectionsTest, AListenerOnEveryAddressSeesConnectionsToAnyOfThem) {
  Socket any = Listen("0.0.0.0", 0);
  ASSERT_GE(any.fd(), 0);
  const sockaddr_storage listener = *BoundAddress(any.fd());
  Socket c = Connect("127.0.0.1", PortOf(listener));
  Socket a(::accept(any.fd(), nullptr, nullptr));
  ASSERT_GE(a.fd(), 0);
  EXPECT_EQ(PeersOf(listener).size(), 1u);
  // Not its clients' own sockets, nor connections on another port.
  Socket other = Listen("127.0.0.1", 0);
  ASSERT_GE(other.fd(), 0);
  EXPECT_TRUE(PeersOf(*BoundAddress(other.fd())).empty());
}

}  // namespace
}  // namespace weir
