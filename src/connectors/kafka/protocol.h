// The few Kafka protocol messages weir speaks itself, as plain encode and decode functions.
//
// librdkafka produces the records; it has no public call for what a restore needs: the
// producer id and epoch of a transaction, finishing a transaction a dead process prepared
// (EndTxn with that id and epoch), listing the transactions a sink left open, or reading a
// broker's configuration. ClusterClient (cluster_client.h) sends these messages; this file
// only turns them into bytes and back, so it is tested without a broker.
//
// Encodings follow Kafka's message definitions (clients/src/main/resources/common/message/
// *.json in the Apache Kafka sources): big-endian integers; in "flexible" versions compact
// strings and arrays (unsigned varint length + 1) and tagged fields (none are written, any are
// skipped). Each request below supports the versions its comment names; the client picks the
// highest one the broker supports (ApiVersions).
//
// Thread-safety: stateless functions; WireWriter/WireReader are single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weir/status.h"

namespace weir::kafka {

enum class ApiKey : int16_t {
  kMetadata = 3,
  kFindCoordinator = 10,
  kEndTxn = 26,
  kApiVersions = 18,
  kDescribeConfigs = 32,
  kDescribeTransactions = 65,
  kListTransactions = 66,
};

std::string_view ApiKeyName(ApiKey key);

// Kafka's error codes that weir acts on (the rest are reported by number and name).
namespace error_code {
inline constexpr int16_t kNone = 0;
inline constexpr int16_t kUnknownTopicOrPartition = 3;
inline constexpr int16_t kLeaderNotAvailable = 5;
inline constexpr int16_t kRequestTimedOut = 7;
inline constexpr int16_t kNetworkException = 13;
inline constexpr int16_t kCoordinatorLoadInProgress = 14;
inline constexpr int16_t kCoordinatorNotAvailable = 15;
inline constexpr int16_t kNotCoordinator = 16;
inline constexpr int16_t kInvalidTopic = 17;
inline constexpr int16_t kUnsupportedVersion = 35;
inline constexpr int16_t kInvalidProducerEpoch = 47;
inline constexpr int16_t kInvalidTxnState = 48;
inline constexpr int16_t kInvalidProducerIdMapping = 49;
inline constexpr int16_t kConcurrentTransactions = 51;
inline constexpr int16_t kProducerFenced = 90;
inline constexpr int16_t kTransactionalIdNotFound = 105;
}  // namespace error_code

// "CONCURRENT_TRANSACTIONS (51)", or "error 123" for a code this table does not name.
std::string ErrorCodeName(int16_t code);
// Errors a client retries after a pause (the coordinator moves or is busy).
bool IsRetriableError(int16_t code);

// Appends the fields of a request body.
class WireWriter {
 public:
  WireWriter(std::string* out, bool flexible) : out_(out), flexible_(flexible) {}

  void Int8(int8_t v) { out_->push_back(static_cast<char>(v)); }
  void Int16(int16_t v) { Big(static_cast<uint16_t>(v), 2); }
  void Int32(int32_t v) { Big(static_cast<uint32_t>(v), 4); }
  void Int64(int64_t v) { Big(static_cast<uint64_t>(v), 8); }
  void Bool(bool v) { Int8(v ? 1 : 0); }
  void UnsignedVarint(uint32_t v);
  void String(std::string_view s);  // STRING, or COMPACT_STRING in flexible versions
  void NullString();
  void ArrayLength(size_t n);  // ARRAY, or COMPACT_ARRAY in flexible versions
  void NullArray();
  void TaggedFields();  // an empty tagged-field section; nothing in older versions

 private:
  void Big(uint64_t v, int bytes);
  std::string* out_;
  bool flexible_;
};

// Reads the fields of a response body. A read past the end, or a malformed length, makes
// ok() false for good (and reads return zero values), so a decoder checks once at the end.
class WireReader {
 public:
  WireReader(std::string_view in, bool flexible) : in_(in), flexible_(flexible) {}

  int8_t Int8();
  int16_t Int16();
  int32_t Int32();
  int64_t Int64();
  bool Bool() { return Int8() != 0; }
  uint32_t UnsignedVarint();
  std::string String();  // a null string reads as ""
  std::optional<std::string> NullableString();
  int32_t ArrayLength();  // -1 for a null array; 0 after an error
  void TaggedFields();    // skips them; nothing in older versions
  void Skip(size_t n);

  bool ok() const { return ok_; }
  bool empty() const { return in_.empty(); }
  size_t remaining() const { return in_.size(); }

 private:
  bool Take(size_t n, std::string_view* out);
  std::string_view in_;
  bool flexible_;
  bool ok_ = true;
};

// A request as it goes on the wire: size, header (v1, or v2 for a flexible request), body.
std::string FrameRequest(ApiKey key, int16_t version, bool flexible, int32_t correlation_id,
                         std::string_view client_id, std::string_view body);

// Whether a version of an API uses the flexible encoding (and the v1 response header).
bool IsFlexible(ApiKey key, int16_t version);

// The versions of each API this file encodes and decodes.
struct VersionRange {
  int16_t min = 0;
  int16_t max = -1;
};
VersionRange SupportedVersions(ApiKey key);

// --- ApiVersions (v0): which versions of which APIs a broker supports ----------------------
struct ApiVersionsResponse {
  int16_t error_code = 0;
  std::map<int16_t, VersionRange> apis;
};
std::string EncodeApiVersionsRequest();
Result<ApiVersionsResponse> DecodeApiVersionsResponse(std::string_view body);

// --- Metadata (v4-v8): the brokers, and whether topics exist --------------------------------
struct BrokerAddress {
  int32_t node_id = -1;
  std::string host;
  int32_t port = 0;
};
struct TopicMetadata {
  std::string name;
  int16_t error_code = 0;
  int32_t partitions = 0;
};
struct MetadataResponse {
  std::vector<BrokerAddress> brokers;
  int32_t controller_id = -1;
  std::vector<TopicMetadata> topics;
};
std::string EncodeMetadataRequest(int16_t version, const std::vector<std::string>& topics,
                                  bool allow_auto_topic_creation);
Result<MetadataResponse> DecodeMetadataResponse(int16_t version, std::string_view body);

// --- FindCoordinator (v1-v6), key type TRANSACTION: the broker that coordinates an id -------
inline constexpr int8_t kCoordinatorTypeTransaction = 1;
struct FindCoordinatorResponse {
  int16_t error_code = 0;
  std::string error_message;
  BrokerAddress coordinator;
};
std::string EncodeFindCoordinatorRequest(int16_t version, std::string_view key, int8_t key_type);
Result<FindCoordinatorResponse> DecodeFindCoordinatorResponse(int16_t version,
                                                              std::string_view body);

// --- DescribeConfigs (v1-v4), resource type BROKER ------------------------------------------
inline constexpr int8_t kResourceTypeBroker = 4;
struct DescribeConfigsResponse {
  int16_t error_code = 0;
  std::string error_message;
  std::map<std::string, std::optional<std::string>> configs;  // name -> value (null: sensitive)
};
std::string EncodeDescribeConfigsRequest(int16_t version, int8_t resource_type,
                                         std::string_view resource_name,
                                         const std::vector<std::string>& keys);
Result<DescribeConfigsResponse> DecodeDescribeConfigsResponse(int16_t version,
                                                              std::string_view body);

// --- DescribeTransactions (v0): state, producer id and epoch of transactional ids -----------
struct TransactionDescription {
  int16_t error_code = 0;
  std::string transactional_id;
  std::string state;  // Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, ...
  int32_t timeout_ms = 0;
  int64_t start_time_ms = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::map<std::string, std::vector<int32_t>> partitions;  // topic -> partitions in the txn
};
std::string EncodeDescribeTransactionsRequest(const std::vector<std::string>& transactional_ids);
Result<std::vector<TransactionDescription>> DecodeDescribeTransactionsResponse(
    std::string_view body);

// --- ListTransactions (v0-v2): the transactional ids a broker coordinates --------------------
struct TransactionListing {
  std::string transactional_id;
  int64_t producer_id = -1;
  std::string state;
};
struct ListTransactionsResponse {
  int16_t error_code = 0;
  std::vector<TransactionListing> transactions;
};
// `pattern` (a regular expression on the id, v2+) may be empty: no filter.
std::string EncodeListTransactionsRequest(int16_t version, const std::vector<std::string>& states,
                                          std::string_view pattern);
Result<ListTransactionsResponse> DecodeListTransactionsResponse(std::string_view body);

// --- EndTxn (v0-v4): commit or abort a transaction as its producer (id, epoch) --------------
// v5 is left out on purpose: it asks the coordinator for transactions "v2" (an epoch bump on
// every commit), which the transactions librdkafka 2.0 opens do not use.
std::string EncodeEndTxnRequest(int16_t version, std::string_view transactional_id,
                                int64_t producer_id, int16_t producer_epoch, bool commit);
Result<int16_t> DecodeEndTxnResponse(int16_t version, std::string_view body);  // the error code

}  // namespace weir::kafka
