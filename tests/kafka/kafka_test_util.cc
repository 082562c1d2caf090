#include "kafka_test_util.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include "base/random.h"
#include "testing/test_util.h"

namespace weir::testing {
namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using RdKafka = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

// The first failure among a producer's deliveries: rd_kafka_flush returns once every message
// is delivered or has failed, and does not say which.
struct DeliveryErrors {
  std::string first;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* errors = static_cast<DeliveryErrors*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || !errors->first.empty()) return;
  errors->first = std::string("a record to partition ") + std::to_string(m->partition) +
                  " was not delivered: " + rd_kafka_err2str(m->err);
}

// `delivery` (producers): where their deliveries' first failure goes.
RdKafka NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& props,
                  std::string* error, DeliveryErrors* delivery = nullptr) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (delivery != nullptr) {
    rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
    rd_kafka_conf_set_opaque(conf, delivery);
  }
  char err[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      *error = k + ": " + err;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    *error = err;
    rd_kafka_conf_destroy(conf);
  }
  return RdKafka(rk);
}

}  // namespace

KafkaBroker::KafkaBroker(std::string dir, int port, std::vector<std::string> env)
    : dir_(std::move(dir)), port_(port), env_(std::move(env)) {}

KafkaBroker& KafkaBroker::Shared() {
  static KafkaBroker* broker = [] {
    auto* b = new KafkaBroker(
        Env("WEIR_KAFKA_DIR", WEIR_KAFKA_TEST_DIR),
        std::atoi(Env("WEIR_KAFKA_PORT", std::to_string(WEIR_KAFKA_TEST_PORT)).c_str()));
    std::string error = b->Start();
    if (!error.empty()) ADD_FAILURE() << "starting the shared test broker failed:\n" << error;
    return b;
  }();
  return *broker;
}

std::string KafkaBroker::Run(const std::string& command, int timeout_ms) {
  std::vector<std::string> env = env_;
  env.push_back("WEIR_KAFKA_DIR=" + dir_);
  env.push_back("WEIR_KAFKA_PORT=" + std::to_string(port_));
  ChildProcess p({"/bin/bash", std::string(WEIR_SOURCE_DIR) + "/scripts/kafka.sh", command}, "",
                 env);
  ProcessResult r = p.Wait(timeout_ms);
  if (r.exit_code == 0) return "";
  return "scripts/kafka.sh " + command + " exited " + std::to_string(r.exit_code) + ":\n" +
         r.output;
}

std::string KafkaBroker::Start() { return Run("start", 300'000); }
std::string KafkaBroker::Stop() { return Run("stop", 120'000); }
std::string KafkaBroker::Pause() { return Run("pause", 120'000); }
std::string KafkaBroker::Resume() { return Run("resume", 300'000); }

std::string UniqueName(const std::string& base) { return base + "-" + RandomHex(8); }

std::string CreateTopic(const std::string& bootstrap, const std::string& topic, int partitions) {
  return CreateTopicWithConfig(bootstrap, topic, partitions, {});
}

// Runs one admin request: `send(rk, queue)` sends it, `errors_of(event)` reads its result's
// errors. "" on success, else what failed.
std::string RunAdminRequest(const std::string& bootstrap, const std::string& name,
                            const std::function<void(rd_kafka_t*, rd_kafka_queue_t*)>& send,
                            const std::function<std::string(rd_kafka_event_t*)>& errors_of) {
  std::string error;
  RdKafka rk = NewClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}}, &error);
  if (!rk) return error;
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
  send(rk.get(), q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 60'000);
  std::string result;
  if (ev == nullptr) {
    result = name + " timed out";
  } else if (rd_kafka_event_error(ev)) {
    result = rd_kafka_event_error_string(ev);
  } else {
    result = errors_of(ev);
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  return result;
}

// The error of a topic in an admin result, if one has one.
std::string TopicResultsError(const rd_kafka_topic_result_t** topics, size_t n) {
  std::string result;
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_topic_result_error(topics[i])) result = rd_kafka_topic_result_error_string(topics[i]);
  }
  return result;
}

// Waits until the broker's metadata lists `partitions` partitions of `topic`, each with a
// leader: an admin request returns once the controller took it, and a client asking the
// broker a moment later may still be told the old count (its records to a new partition then
// fail as unknown).
std::string WaitForPartitions(const std::string& bootstrap, const std::string& topic,
                              int partitions) {
  std::string error;
  RdKafka rk = NewClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}}, &error);
  if (!rk) return error;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string seen = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, rkt, &md, 5'000);
    bool ready = false;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && !md->topics[0].err) {
      const rd_kafka_metadata_topic_t& t = md->topics[0];
      ready = t.partition_cnt == partitions;
      for (int i = 0; ready && i < t.partition_cnt; ++i) ready = t.partitions[i].leader >= 0;
      seen = std::to_string(t.partition_cnt) + " partition(s)";
    } else if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      seen = rd_kafka_err2str(err);
    }
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    if (ready) {
      rd_kafka_topic_destroy(rkt);
      return "";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  rd_kafka_topic_destroy(rkt);
  return "topic " + topic + " did not show " + std::to_string(partitions) +
         " partitions with leaders within 30 s (last seen: " + seen + ")";
}

namespace {
// The CreateTopics request alone.
std::string RequestTopic(const std::string& bootstrap, const std::string& topic, int partitions,
                         const std::map<std::string, std::string>& config) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
  if (nt == nullptr) return err;
  std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)> hold(
      nt, &rd_kafka_NewTopic_destroy);
  for (const auto& [k, v] : config) {
    if (rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return "topic config " + k + "=" + v + " not accepted";
    }
  }
  return RunAdminRequest(
      bootstrap, "CreateTopics",
      [&](rd_kafka_t* rk, rd_kafka_queue_t* q) { rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q); },
      [](rd_kafka_event_t* ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t** topics =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        return TopicResultsError(topics, n);
      });
}
}  // namespace

std::string CreateTopicWithConfig(const std::string& bootstrap, const std::string& topic,
                                  int partitions,
                                  const std::map<std::string, std::string>& config) {
  std::string created = RequestTopic(bootstrap, topic, partitions, config);
  return created.empty() ? WaitForPartitions(bootstrap, topic, partitions) : created;
}

std::string CreateTopicWithoutWaiting(const std::string& bootstrap, const std::string& topic,
                                      int partitions) {
  return RequestTopic(bootstrap, topic, partitions, {});
}

std::string AddPartitions(const std::string& bootstrap, const std::string& topic,
                          int total_partitions) {
  char err[512];
  rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(
      topic.c_str(), static_cast<size_t>(total_partitions), err, sizeof err);
  if (np == nullptr) return err;
  std::unique_ptr<rd_kafka_NewPartitions_t, decltype(&rd_kafka_NewPartitions_destroy)> hold(
      np, &rd_kafka_NewPartitions_destroy);
  std::string added = RunAdminRequest(
      bootstrap, "CreatePartitions",
      [&](rd_kafka_t* rk, rd_kafka_queue_t* q) {
        rd_kafka_CreatePartitions(rk, &np, 1, nullptr, q);
      },
      [](rd_kafka_event_t* ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t** topics = rd_kafka_CreatePartitions_result_topics(
            rd_kafka_event_CreatePartitions_result(ev), &n);
        return TopicResultsError(topics, n);
      });
  return added.empty() ? WaitForPartitions(bootstrap, topic, total_partitions) : added;
}

std::map<int32_t, int64_t> CommittedOffsets(const std::string& bootstrap, const std::string& group,
                                            const std::string& topic, int partitions) {
  std::string error;
  RdKafka rk =
      NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"group.id", group}}, &error);
  std::map<int32_t, int64_t> out;
  if (!rk) {
    ADD_FAILURE() << error;
    return out;
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  rd_kafka_resp_err_t err = rd_kafka_committed(rk.get(), list, 30'000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ADD_FAILURE() << "committed offsets of group " << group << ": " << rd_kafka_err2str(err);
  } else {
    for (int i = 0; i < list->cnt; ++i) {
      if (list->elems[i].offset >= 0) out[list->elems[i].partition] = list->elems[i].offset;
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  return out;
}

std::string CommitOffset(const std::string& bootstrap, const std::string& group,
                         const std::string& topic, int64_t offset) {
  std::string error;
  RdKafka rk =
      NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"group.id", group}}, &error);
  if (!rk) return error;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = offset;
  rd_kafka_resp_err_t err = rd_kafka_commit(rk.get(), list, /*async=*/0);
  rd_kafka_topic_partition_list_destroy(list);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR ? "" : rd_kafka_err2str(err);
}

std::string DeleteRecordsBefore(const std::string& bootstrap, const std::string& topic,
                                int64_t offset) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = offset;
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(list);
  rd_kafka_topic_partition_list_destroy(list);
  std::unique_ptr<rd_kafka_DeleteRecords_t, decltype(&rd_kafka_DeleteRecords_destroy)> hold(
      del, &rd_kafka_DeleteRecords_destroy);
  return RunAdminRequest(
      bootstrap, "DeleteRecords",
      [&](rd_kafka_t* rk, rd_kafka_queue_t* q) { rd_kafka_DeleteRecords(rk, &del, 1, nullptr, q); },
      [](rd_kafka_event_t* ev) {
        std::string result;
        const rd_kafka_topic_partition_list_t* offsets =
            rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
        for (int i = 0; offsets != nullptr && i < offsets->cnt; ++i) {
          if (offsets->elems[i].err) result = rd_kafka_err2str(offsets->elems[i].err);
        }
        return result;
      });
}

std::string ProduceValues(const std::string& bootstrap, const std::string& topic,
                          const std::vector<std::string>& values,
                          int32_t (*partition_of)(size_t index)) {
  std::string error;
  DeliveryErrors delivery;
  RdKafka rk =
      NewClient(RD_KAFKA_PRODUCER,
                {{"bootstrap.servers", bootstrap}, {"enable.idempotence", "true"}}, &error,
                &delivery);
  if (!rk) return error;
  for (size_t i = 0; i < values.size(); ++i) {
    const int32_t partition = partition_of ? partition_of(i) : RD_KAFKA_PARTITION_UA;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(
                rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                RD_KAFKA_V_VALUE(const_cast<char*>(values[i].data()), values[i].size()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk.get(), 10);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return rd_kafka_err2str(err);
  }
  rd_kafka_resp_err_t err = rd_kafka_flush(rk.get(), 60'000);
  return err != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(err) : delivery.first;
}

std::string ProduceRecords(const std::string& bootstrap, const std::string& topic,
                           const std::vector<TestRecord>& records) {
  std::string error;
  DeliveryErrors delivery;
  RdKafka rk =
      NewClient(RD_KAFKA_PRODUCER,
                {{"bootstrap.servers", bootstrap}, {"enable.idempotence", "true"}}, &error,
                &delivery);
  if (!rk) return error;
  for (const TestRecord& r : records) {
    rd_kafka_resp_err_t err;
    for (;;) {
      rd_kafka_headers_t* headers = rd_kafka_headers_new(r.headers.size());
      for (const auto& [name, value] : r.headers) {
        rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                            static_cast<ssize_t>(value.size()));
      }
      err = rd_kafka_producev(
          rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(r.partition),
          RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
          RD_KAFKA_V_TIMESTAMP(r.timestamp_ms.value_or(0)), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;  // the message owns the headers now
      rd_kafka_headers_destroy(headers);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return rd_kafka_err2str(err);
      rd_kafka_poll(rk.get(), 10);
    }
  }
  rd_kafka_resp_err_t err = rd_kafka_flush(rk.get(), 60'000);
  return err != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(err) : delivery.first;
}

std::vector<ConsumedRecord> ReadTopic(const std::string& bootstrap, const std::string& topic,
                                      bool read_committed) {
  std::string error;
  RdKafka rk =
      NewClient(RD_KAFKA_CONSUMER,
                {{"bootstrap.servers", bootstrap},
                 {"group.id", UniqueName("weir-test-reader")},
                 {"enable.auto.commit", "false"},
                 {"enable.partition.eof", "true"},
                 {"allow.auto.create.topics", "false"},
                 {"isolation.level", read_committed ? "read_committed" : "read_uncommitted"}},
                &error);
  if (!rk) {
    ADD_FAILURE() << "creating a consumer: " << error;
    return {};
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, rkt, &md, 30'000);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1) {
    ADD_FAILURE() << "metadata of topic " << topic << ": " << rd_kafka_err2str(err);
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    return {};
  }
  int partitions = md->topics[0].err ? 0 : md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  if (partitions == 0) return {};
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  std::set<int32_t> at_end;
  std::vector<ConsumedRecord> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (static_cast<int>(at_end.size()) < partitions) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "reading topic " << topic << " did not reach its end within 60 s";
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
    } else if (m->err) {
      ADD_FAILURE() << "reading topic " << topic << ": " << rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      break;
    } else {
      at_end.erase(m->partition);  // more arrived after an end
      ConsumedRecord r;
      r.partition = m->partition;
      r.offset = m->offset;
      if (m->key) r.key.emplace(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) r.value.emplace(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          r.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
        }
      }
      out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk.get());
  std::stable_sort(out.begin(), out.end(), [](const ConsumedRecord& a, const ConsumedRecord& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return out;
}

std::vector<ConsumedRecord> ReadTopicAtLeast(const std::string& bootstrap, const std::string& topic,
                                             size_t count, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto records = ReadTopic(bootstrap, topic);
    if (records.size() >= count || std::chrono::steady_clock::now() >= deadline ||
        ::testing::Test::HasFailure()) {
      return records;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::map<int32_t, std::vector<std::string>> ValuesByPartition(
    const std::vector<ConsumedRecord>& records) {
  std::map<int32_t, std::vector<std::string>> out;
  for (const auto& r : records) out[r.partition].push_back(r.value.value_or("<null>"));
  return out;
}

}  // namespace weir::testing
