#include "connectors/kafka/client_config.h"

#include <fmt/format.h>

#include <charconv>

#include "base/logging.h"

namespace weir::kafka {
namespace {

// librdkafka's syslog levels: errors and warnings are worth a warning (what fails a job comes
// back as a Status too), notices and informational lines are debug output.
void LogLine(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  const char* name = rk != nullptr ? rd_kafka_name(rk) : "rdkafka";
  if (level <= 4) {
    spdlog::warn("librdkafka {} {}: {}", name, facility, message);
  } else {
    spdlog::debug("librdkafka {} {}: {}", name, facility, message);
  }
}

}  // namespace

Result<RdKafkaConf> NewRdKafkaConf(const Properties& properties) {
  RdKafkaConf conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [key, value] : properties) {
    rd_kafka_conf_res_t r =
        rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof err);
    if (r != RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument(
          fmt::format("Kafka property '{}' = '{}': {}", key, value, err));
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), &LogLine);
  return conf;
}

std::optional<std::string> FindProperty(const Properties& properties, std::string_view key) {
  auto it = properties.find(std::string(key));
  if (it == properties.end()) return std::nullopt;
  return it->second;
}

Result<std::chrono::milliseconds> DurationProperty(const Properties& properties,
                                                   std::string_view key,
                                                   std::chrono::milliseconds fallback) {
  auto value = FindProperty(properties, key);
  if (!value) return fallback;
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), ms);
  if (ec != std::errc() || end != value->data() + value->size() || ms < 0) {
    return Status::InvalidArgument(
        fmt::format("Kafka property '{}' = '{}' is not a number of milliseconds", key, *value));
  }
  return std::chrono::milliseconds(ms);
}

std::string RdKafkaErrorText(rd_kafka_resp_err_t err) {
  return fmt::format("{} ({})", rd_kafka_err2str(err), rd_kafka_err2name(err));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms % 3'600'000 == 0 && ms >= 3'600'000) return fmt::format("{} h", ms / 3'600'000);
  if (ms % 60'000 == 0 && ms >= 60'000) return fmt::format("{} min", ms / 60'000);
  if (ms % 1000 == 0 && ms >= 1000) return fmt::format("{} s", ms / 1000);
  return fmt::format("{} ms", ms);
}

}  // namespace weir::kafka
