#include "rest/connections.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tcp.h>  // tcp_info with tcpi_bytes_received
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <system_error>

namespace weir {
namespace {

// "127.0.0.1:40312", "[::1]:40312".
std::string Describe(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, host,
                sizeof(host));
    return std::string(host) + ":" + std::to_string(PortOf(address));
  }
  ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, host,
              sizeof(host));
  return "[" + std::string(host) + "]:" + std::to_string(PortOf(address));
}

// Whether `local`, a connection's local address, is one `listener` accepts on.
bool AcceptedOn(const sockaddr_storage& local, const sockaddr_storage& listener) {
  if (local.ss_family != listener.ss_family || PortOf(local) != PortOf(listener)) return false;
  if (listener.ss_family == AF_INET) {
    const in_addr& l = reinterpret_cast<const sockaddr_in*>(&listener)->sin_addr;
    const in_addr& c = reinterpret_cast<const sockaddr_in*>(&local)->sin_addr;
    return l.s_addr == htonl(INADDR_ANY) || l.s_addr == c.s_addr;
  }
  const auto& l = *reinterpret_cast<const sockaddr_in6*>(&listener);
  const auto& c = *reinterpret_cast<const sockaddr_in6*>(&local);
  // A link-local address is one per interface: the scope tells them apart.
  return IN6_IS_ADDR_UNSPECIFIED(&l.sin6_addr) ||
         (IN6_ARE_ADDR_EQUAL(&l.sin6_addr, &c.sin6_addr) && l.sin6_scope_id == c.sin6_scope_id);
}

// Whether fewer bytes are waiting to be read than the socket received. Taken as unread if
// either count cannot be had.
bool ReadFrom(int fd) {
  int unread = 0;
  tcp_info info{};
  socklen_t length = sizeof(info);
  if (::ioctl(fd, FIONREAD, &unread) != 0 ||
      ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
      length < offsetof(tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received)) {
    return false;
  }
  return info.tcpi_bytes_received > static_cast<uint64_t>(unread);
}

}  // namespace

int PortOf(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return -1;
}

std::optional<sockaddr_storage> BoundAddress(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      PortOf(address) < 0) {
    return std::nullopt;
  }
  return address;
}

void ForEachConnectionTo(const sockaddr_storage& listener,
                         const std::function<void(const Connection&)>& visit) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    const std::string name = entry.path().filename().string();
    int listed = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), listed).ec != std::errc()) {
      continue;
    }
    const int fd = ::fcntl(listed, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) continue;
    struct stat st {};
    int type = 0;
    socklen_t type_length = sizeof(type);
    sockaddr_storage local{};
    socklen_t local_length = sizeof(local);
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    if (::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
        ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) == 0 &&
        type == SOCK_STREAM &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) == 0 &&
        AcceptedOn(local, listener) &&
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) == 0) {
      visit(Connection{fd, st.st_ino, Describe(peer), ReadFrom(fd)});
    }
    ::close(fd);
  }
}

void ShutDownConnectionsTo(const sockaddr_storage& listener) {
  ForEachConnectionTo(listener, [](const Connection& c) { ::shutdown(c.fd, SHUT_RDWR); });
}

}  // namespace weir
