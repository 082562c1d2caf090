// The configuration weir's librdkafka clients share: a map of librdkafka properties
// (bootstrap.servers and any other, passed through as the user wrote them), checked by
// librdkafka itself, turned into an rd_kafka_conf_t whose log lines and errors go to weir's
// log. The Kafka sink uses it for its producers, the Kafka source for its consumers.
//
// Thread-safety: functions of immutable inputs; the log callback is thread-safe.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "weir/status.h"

namespace weir::kafka {

using Properties = std::map<std::string, std::string>;

struct RdKafkaConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using RdKafkaConf = std::unique_ptr<rd_kafka_conf_t, RdKafkaConfDeleter>;

// A librdkafka configuration of `properties`, with weir's log callback. A property librdkafka
// does not know or whose value it refuses is an InvalidArgument naming it.
Result<RdKafkaConf> NewRdKafkaConf(const Properties& properties);

std::optional<std::string> FindProperty(const Properties& properties, std::string_view key);
// A property that is a number of milliseconds, or `fallback` if it is not set.
Result<std::chrono::milliseconds> DurationProperty(const Properties& properties,
                                                   std::string_view key,
                                                   std::chrono::milliseconds fallback);

// librdkafka's name and text of an error: "Local: Message timed out (_MSG_TIMED_OUT)".
std::string RdKafkaErrorText(rd_kafka_resp_err_t err);

// "1.5 min", "900 s", "250 ms": durations in messages.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace weir::kafka
