// The TCP connections this process accepted on a listening socket. cpp-httplib keeps its
// accepted sockets to itself, so they are found among the process's open files: TCP sockets
// with a peer whose local address is the listener's. The port alone is not enough: two
// endpoints of one process may listen on 127.0.0.1:P and [::1]:P.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

namespace weir {

struct Connection {
  // A duplicate of the connection's descriptor, open only during the visit: a server thread may
  // close the original meanwhile and its number be reused by another file, but the duplicate
  // stays the socket that was checked.
  int fd;
  ino_t socket;      // the socket's inode: the same connection in every listing
  std::string peer;  // the client's address and port, for messages
  // Whether a server thread has read from it: false while it waits for a thread, its bytes
  // (all it sent) unread.
  bool read_from;
};

// The port of `address`, or -1 if it is not IPv4 or IPv6.
int PortOf(const sockaddr_storage& address);

// The address a socket is bound to (getsockname); nullopt if it has none that is IPv4 or IPv6.
std::optional<sockaddr_storage> BoundAddress(int fd);

// Calls `visit` for each connection open in this process that was accepted on a socket
// listening on `listener`: its local port is the listener's, and so is its local address,
// or its address family if the listener is bound to every address (0.0.0.0, ::).
void ForEachConnectionTo(const sockaddr_storage& listener,
                         const std::function<void(const Connection&)>& visit);

// Shuts down every connection to `listener`: a server thread reading from one (a client
// sending its request a byte at a time, each within the read timeout) wakes at once.
void ShutDownConnectionsTo(const sockaddr_storage& listener);

}  // namespace weir
