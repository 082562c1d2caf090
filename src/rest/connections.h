// The TCP connections this process accepted on a port. cpp-httplib keeps its accepted sockets
// to itself, so they are found among the process's open files: TCP sockets on that local port
// that have a peer.
#pragma once

#include <sys/types.h>

#include <functional>
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

// Calls `visit` for each connection to local port `port` open in this process.
void ForEachConnectionOn(int port, const std::function<void(const Connection&)>& visit);

// Shuts down every connection to `port`: a server thread reading from one (a client sending its
// request a byte at a time, each within the read timeout) wakes at once.
void ShutDownConnectionsOn(int port);

}  // namespace weir
