// The options of a job's REST API (Flink's RestOptions): whether it runs, where it listens,
// and how large a request body may be. Declared once here (see ConfigOption in
// weir/configuration.h); read by RestEndpoint.
#pragma once

#include <chrono>
#include <vector>

#include "weir/configuration.h"

namespace weir::rest_options {

inline constexpr auto kEnabled =
    ConfigOption<bool>("rest.enabled", "true",
                       "Serve the job's REST API (and its metrics for Prometheus) while it runs.");

inline constexpr auto kAddress =
    ConfigOption<std::string>(
        "rest.address", "127.0.0.1",
        "Address the REST API listens on. The default, loopback, keeps it to this machine: the "
        "API has no authentication, so give another address only on a network you trust.")
        .WithFallbackKeys("rest.bind-address");

inline constexpr auto kPort =
    ConfigOption<int64_t>("rest.port", "8081", "Port of the REST API when rest.bind-port is unset.")
        .WithRange(0, 65535);

inline constexpr auto kBindPort = ConfigOption<std::string>(
    "rest.bind-port", "",
    "Ports to try, in order, the first free one taken: a port, a range such as 8081-8181, or a "
    "list of both (8081,8090-8099). Default: rest.port if it is set, else 8081-8181, so several "
    "jobs share a machine. The log and `weir list` say which port a job took.");

inline constexpr auto kMaxContentLength =
    ConfigOption<MemorySize>("rest.server.max-content-length", "1 mb",
                             "Largest request body the REST API accepts; a larger one gets 413.");

inline constexpr auto kBusyConnectionTimeout = ConfigOption<std::chrono::milliseconds>(
    "rest.server.busy-connection-timeout", "10 s",
    "While every REST server thread is busy, connections a thread has served this long are "
    "closed, so that clients sending requests or reading answers slowly cannot hold the API. "
    "A request takes milliseconds.");

inline std::vector<const ConfigOptionInfo*> All() {
  return {&kEnabled.info(),   &kAddress.info(),          &kPort.info(),
          &kBindPort.info(),  &kMaxContentLength.info(), &kBusyConnectionTimeout.info()};
}

}  // namespace weir::rest_options
