#include "connectors/kafka/protocol.h"

#include <fmt/format.h>

#include <algorithm>

namespace weir::kafka {

std::string_view ApiKeyName(ApiKey key) {
  switch (key) {
    case ApiKey::kMetadata:
      return "Metadata";
    case ApiKey::kFindCoordinator:
      return "FindCoordinator";
    case ApiKey::kEndTxn:
      return "EndTxn";
    case ApiKey::kApiVersions:
      return "ApiVersions";
    case ApiKey::kDescribeConfigs:
      return "DescribeConfigs";
    case ApiKey::kDescribeTransactions:
      return "DescribeTransactions";
    case ApiKey::kListTransactions:
      return "ListTransactions";
  }
  return "Unknown";
}

std::string ErrorCodeName(int16_t code) {
  static const std::map<int16_t, std::string_view> kNames = {
      {-1, "UNKNOWN_SERVER_ERROR"},
      {0, "NONE"},
      {3, "UNKNOWN_TOPIC_OR_PARTITION"},
      {5, "LEADER_NOT_AVAILABLE"},
      {7, "REQUEST_TIMED_OUT"},
      {8, "BROKER_NOT_AVAILABLE"},
      {10, "MESSAGE_TOO_LARGE"},
      {13, "NETWORK_EXCEPTION"},
      {14, "COORDINATOR_LOAD_IN_PROGRESS"},
      {15, "COORDINATOR_NOT_AVAILABLE"},
      {16, "NOT_COORDINATOR"},
      {17, "INVALID_TOPIC_EXCEPTION"},
      {29, "TOPIC_AUTHORIZATION_FAILED"},
      {31, "CLUSTER_AUTHORIZATION_FAILED"},
      {35, "UNSUPPORTED_VERSION"},
      {42, "INVALID_REQUEST"},
      {47, "INVALID_PRODUCER_EPOCH"},
      {48, "INVALID_TXN_STATE"},
      {49, "INVALID_PRODUCER_ID_MAPPING"},
      {50, "INVALID_TRANSACTION_TIMEOUT"},
      {51, "CONCURRENT_TRANSACTIONS"},
      {52, "TRANSACTION_COORDINATOR_FENCED"},
      {53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"},
      {59, "UNKNOWN_PRODUCER_ID"},
      {90, "PRODUCER_FENCED"},
      {91, "RESOURCE_NOT_FOUND"},
      {105, "TRANSACTIONAL_ID_NOT_FOUND"},
      {120, "TRANSACTION_ABORTABLE"},
      {128, "INVALID_REGULAR_EXPRESSION"},
  };
  auto it = kNames.find(code);
  return it == kNames.end() ? fmt::format("error {}", code)
                            : fmt::format("{} ({})", it->second, code);
}

bool IsRetriableError(int16_t code) {
  using namespace error_code;
  return code == kCoordinatorLoadInProgress || code == kCoordinatorNotAvailable ||
         code == kNotCoordinator || code == kConcurrentTransactions || code == kRequestTimedOut ||
         code == kNetworkException || code == kLeaderNotAvailable;
}

// --- WireWriter / WireReader -------------------------------------------------------------------

void WireWriter::Big(uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out_->push_back(static_cast<char>(v >> (8 * i)));
}

void WireWriter::UnsignedVarint(uint32_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void WireWriter::String(std::string_view s) {
  if (flexible_) {
    UnsignedVarint(static_cast<uint32_t>(s.size() + 1));
  } else {
    Int16(static_cast<int16_t>(s.size()));
  }
  out_->append(s);
}

void WireWriter::NullString() {
  if (flexible_) {
    UnsignedVarint(0);
  } else {
    Int16(-1);
  }
}

void WireWriter::ArrayLength(size_t n) {
  if (flexible_) {
    UnsignedVarint(static_cast<uint32_t>(n + 1));
  } else {
    Int32(static_cast<int32_t>(n));
  }
}

void WireWriter::NullArray() {
  if (flexible_) {
    UnsignedVarint(0);
  } else {
    Int32(-1);
  }
}

void WireWriter::TaggedFields() {
  if (flexible_) UnsignedVarint(0);
}

bool WireReader::Take(size_t n, std::string_view* out) {
  if (!ok_ || in_.size() < n) {
    ok_ = false;
    return false;
  }
  *out = in_.substr(0, n);
  in_.remove_prefix(n);
  return true;
}

namespace {
uint64_t BigEndian(std::string_view b) {
  uint64_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}
}  // namespace

int8_t WireReader::Int8() {
  std::string_view b;
  return Take(1, &b) ? static_cast<int8_t>(b[0]) : 0;
}
int16_t WireReader::Int16() {
  std::string_view b;
  return Take(2, &b) ? static_cast<int16_t>(BigEndian(b)) : 0;
}
int32_t WireReader::Int32() {
  std::string_view b;
  return Take(4, &b) ? static_cast<int32_t>(BigEndian(b)) : 0;
}
int64_t WireReader::Int64() {
  std::string_view b;
  return Take(8, &b) ? static_cast<int64_t>(BigEndian(b)) : 0;
}

uint32_t WireReader::UnsignedVarint() {
  uint32_t v = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    std::string_view b;
    if (!Take(1, &b)) return 0;
    uint32_t byte = static_cast<unsigned char>(b[0]);
    v |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
  ok_ = false;  // more than 5 bytes: not a 32-bit varint
  return 0;
}

std::optional<std::string> WireReader::NullableString() {
  int64_t n;
  if (flexible_) {
    n = static_cast<int64_t>(UnsignedVarint()) - 1;
  } else {
    n = Int16();
  }
  if (!ok_ || n < 0) return std::nullopt;
  std::string_view b;
  if (!Take(static_cast<size_t>(n), &b)) return std::nullopt;
  return std::string(b);
}

std::string WireReader::String() { return NullableString().value_or(""); }

int32_t WireReader::ArrayLength() {
  int64_t n = flexible_ ? static_cast<int64_t>(UnsignedVarint()) - 1 : Int32();
  if (!ok_) return 0;
  // Every element takes at least a byte: a longer count is malformed, not a huge allocation.
  if (n > static_cast<int64_t>(in_.size())) {
    ok_ = false;
    return 0;
  }
  return static_cast<int32_t>(std::max<int64_t>(n, -1));
}

void WireReader::TaggedFields() {
  if (!flexible_) return;
  uint32_t count = UnsignedVarint();
  for (uint32_t i = 0; i < count && ok_; ++i) {
    (void)UnsignedVarint();  // tag
    Skip(UnsignedVarint());  // size, then the data
  }
}

void WireReader::Skip(size_t n) {
  std::string_view b;
  (void)Take(n, &b);
}

// --- framing -----------------------------------------------------------------------------------

std::string FrameRequest(ApiKey key, int16_t version, bool flexible, int32_t correlation_id,
                         std::string_view client_id, std::string_view body) {
  std::string header;
  WireWriter h(&header, /*flexible=*/false);  // client_id is a plain nullable string in v1 and v2
  h.Int16(static_cast<int16_t>(key));
  h.Int16(version);
  h.Int32(correlation_id);
  h.String(client_id);
  if (flexible) h.UnsignedVarint(0);  // header v2: tagged fields
  std::string out;
  WireWriter w(&out, false);
  w.Int32(static_cast<int32_t>(header.size() + body.size()));
  out += header;
  out += body;
  return out;
}

bool IsFlexible(ApiKey key, int16_t version) {
  switch (key) {
    case ApiKey::kMetadata:
      return version >= 9;
    case ApiKey::kFindCoordinator:
    case ApiKey::kEndTxn:
    case ApiKey::kApiVersions:
      return version >= 3;
    case ApiKey::kDescribeConfigs:
      return version >= 4;
    case ApiKey::kDescribeTransactions:
    case ApiKey::kListTransactions:
      return true;
  }
  return false;
}

VersionRange SupportedVersions(ApiKey key) {
  switch (key) {
    case ApiKey::kMetadata:
      return {4, 8};
    case ApiKey::kFindCoordinator:
      return {1, 6};
    case ApiKey::kEndTxn:
      return {0, 4};
    case ApiKey::kApiVersions:
      return {0, 0};
    case ApiKey::kDescribeConfigs:
      return {1, 4};
    case ApiKey::kDescribeTransactions:
      return {0, 0};
    case ApiKey::kListTransactions:
      return {0, 2};
  }
  return {};
}

namespace {

Status Malformed(ApiKey key, int16_t version) {
  return Status::Corruption(
      fmt::format("malformed {} response (version {})", ApiKeyName(key), version));
}

}  // namespace

// --- ApiVersions -------------------------------------------------------------------------------

std::string EncodeApiVersionsRequest() { return {}; }

Result<ApiVersionsResponse> DecodeApiVersionsResponse(std::string_view body) {
  WireReader r(body, false);
  ApiVersionsResponse resp;
  resp.error_code = r.Int16();
  int32_t n = r.ArrayLength();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    int16_t key = r.Int16();
    VersionRange v;
    v.min = r.Int16();
    v.max = r.Int16();
    resp.apis[key] = v;
  }
  if (!r.ok()) return Malformed(ApiKey::kApiVersions, 0);
  return resp;
}

// --- Metadata ----------------------------------------------------------------------------------

std::string EncodeMetadataRequest(int16_t version, const std::vector<std::string>& topics,
                                  bool allow_auto_topic_creation) {
  std::string out;
  WireWriter w(&out, false);
  w.ArrayLength(topics.size());  // empty: no topics (v1+), only the brokers
  for (const auto& t : topics) w.String(t);
  w.Bool(allow_auto_topic_creation);
  if (version >= 8) {
    w.Bool(false);  // include_cluster_authorized_operations
    w.Bool(false);  // include_topic_authorized_operations
  }
  return out;
}

Result<MetadataResponse> DecodeMetadataResponse(int16_t version, std::string_view body) {
  WireReader r(body, false);
  MetadataResponse resp;
  (void)r.Int32();  // throttle_time_ms
  int32_t brokers = r.ArrayLength();
  for (int32_t i = 0; i < brokers && r.ok(); ++i) {
    BrokerAddress b;
    b.node_id = r.Int32();
    b.host = r.String();
    b.port = r.Int32();
    (void)r.NullableString();  // rack
    resp.brokers.push_back(std::move(b));
  }
  (void)r.NullableString();  // cluster_id
  resp.controller_id = r.Int32();
  int32_t topics = r.ArrayLength();
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    TopicMetadata t;
    t.error_code = r.Int16();
    t.name = r.String();
    (void)r.Bool();  // is_internal
    int32_t partitions = r.ArrayLength();
    t.partitions = std::max(partitions, 0);
    for (int32_t p = 0; p < partitions && r.ok(); ++p) {
      (void)r.Int16();                                    // error_code
      (void)r.Int32();                                    // partition_index
      (void)r.Int32();                                    // leader_id
      if (version >= 7) (void)r.Int32();                  // leader_epoch
      for (int k = 0; k < (version >= 5 ? 3 : 2); ++k) {  // replicas, isr, offline replicas
        int32_t nodes = r.ArrayLength();
        r.Skip(4 * static_cast<size_t>(std::max(nodes, 0)));
      }
    }
    if (version >= 8) (void)r.Int32();  // topic_authorized_operations
    resp.topics.push_back(std::move(t));
  }
  if (version >= 8) (void)r.Int32();  // cluster_authorized_operations
  if (!r.ok()) return Malformed(ApiKey::kMetadata, version);
  return resp;
}

// --- FindCoordinator ---------------------------------------------------------------------------

std::string EncodeFindCoordinatorRequest(int16_t version, std::string_view key, int8_t key_type) {
  std::string out;
  WireWriter w(&out, IsFlexible(ApiKey::kFindCoordinator, version));
  if (version <= 3) {
    w.String(key);
    w.Int8(key_type);
  } else {
    w.Int8(key_type);
    w.ArrayLength(1);
    w.String(key);
  }
  w.TaggedFields();
  return out;
}

Result<FindCoordinatorResponse> DecodeFindCoordinatorResponse(int16_t version,
                                                              std::string_view body) {
  WireReader r(body, IsFlexible(ApiKey::kFindCoordinator, version));
  FindCoordinatorResponse resp;
  (void)r.Int32();  // throttle_time_ms
  if (version <= 3) {
    resp.error_code = r.Int16();
    resp.error_message = r.String();
    resp.coordinator.node_id = r.Int32();
    resp.coordinator.host = r.String();
    resp.coordinator.port = r.Int32();
  } else {
    int32_t n = r.ArrayLength();
    if (n != 1) return Malformed(ApiKey::kFindCoordinator, version);
    (void)r.String();  // key
    resp.coordinator.node_id = r.Int32();
    resp.coordinator.host = r.String();
    resp.coordinator.port = r.Int32();
    resp.error_code = r.Int16();
    resp.error_message = r.String();
    r.TaggedFields();
  }
  r.TaggedFields();
  if (!r.ok()) return Malformed(ApiKey::kFindCoordinator, version);
  return resp;
}

// --- DescribeConfigs ---------------------------------------------------------------------------

std::string EncodeDescribeConfigsRequest(int16_t version, int8_t resource_type,
                                         std::string_view resource_name,
                                         const std::vector<std::string>& keys) {
  std::string out;
  WireWriter w(&out, IsFlexible(ApiKey::kDescribeConfigs, version));
  w.ArrayLength(1);
  w.Int8(resource_type);
  w.String(resource_name);
  w.ArrayLength(keys.size());
  for (const auto& k : keys) w.String(k);
  w.TaggedFields();
  w.Bool(false);                    // include_synonyms
  if (version >= 3) w.Bool(false);  // include_documentation
  w.TaggedFields();
  return out;
}

Result<DescribeConfigsResponse> DecodeDescribeConfigsResponse(int16_t version,
                                                              std::string_view body) {
  WireReader r(body, IsFlexible(ApiKey::kDescribeConfigs, version));
  DescribeConfigsResponse resp;
  (void)r.Int32();  // throttle_time_ms
  int32_t results = r.ArrayLength();
  if (results != 1) return Malformed(ApiKey::kDescribeConfigs, version);
  resp.error_code = r.Int16();
  resp.error_message = r.String();
  (void)r.Int8();    // resource_type
  (void)r.String();  // resource_name
  int32_t configs = r.ArrayLength();
  for (int32_t i = 0; i < configs && r.ok(); ++i) {
    std::string name = r.String();
    std::optional<std::string> value = r.NullableString();
    (void)r.Bool();  // read_only
    (void)r.Int8();  // config_source
    (void)r.Bool();  // is_sensitive
    int32_t synonyms = r.ArrayLength();
    for (int32_t s = 0; s < synonyms && r.ok(); ++s) {
      (void)r.String();
      (void)r.NullableString();
      (void)r.Int8();
      r.TaggedFields();
    }
    if (version >= 3) {
      (void)r.Int8();            // config_type
      (void)r.NullableString();  // documentation
    }
    r.TaggedFields();
    resp.configs[std::move(name)] = std::move(value);
  }
  r.TaggedFields();
  r.TaggedFields();
  if (!r.ok()) return Malformed(ApiKey::kDescribeConfigs, version);
  return resp;
}

// --- DescribeTransactions ----------------------------------------------------------------------

std::string EncodeDescribeTransactionsRequest(const std::vector<std::string>& transactional_ids) {
  std::string out;
  WireWriter w(&out, true);
  w.ArrayLength(transactional_ids.size());
  for (const auto& id : transactional_ids) w.String(id);
  w.TaggedFields();
  return out;
}

Result<std::vector<TransactionDescription>> DecodeDescribeTransactionsResponse(
    std::string_view body) {
  WireReader r(body, true);
  std::vector<TransactionDescription> out;
  (void)r.Int32();  // throttle_time_ms
  int32_t n = r.ArrayLength();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    TransactionDescription d;
    d.error_code = r.Int16();
    d.transactional_id = r.String();
    d.state = r.String();
    d.timeout_ms = r.Int32();
    d.start_time_ms = r.Int64();
    d.producer_id = r.Int64();
    d.producer_epoch = r.Int16();
    int32_t topics = r.ArrayLength();
    for (int32_t t = 0; t < topics && r.ok(); ++t) {
      std::string topic = r.String();
      int32_t partitions = r.ArrayLength();
      auto& list = d.partitions[topic];
      for (int32_t p = 0; p < partitions && r.ok(); ++p) list.push_back(r.Int32());
      r.TaggedFields();
    }
    r.TaggedFields();
    out.push_back(std::move(d));
  }
  r.TaggedFields();
  if (!r.ok()) return Malformed(ApiKey::kDescribeTransactions, 0);
  return out;
}

// --- ListTransactions --------------------------------------------------------------------------

std::string EncodeListTransactionsRequest(int16_t version, const std::vector<std::string>& states,
                                          std::string_view pattern) {
  std::string out;
  WireWriter w(&out, true);
  w.ArrayLength(states.size());
  for (const auto& s : states) w.String(s);
  w.ArrayLength(0);               // producer_id_filters
  if (version >= 1) w.Int64(-1);  // duration_filter: any age
  if (version >= 2) {
    if (pattern.empty()) {
      w.NullString();
    } else {
      w.String(pattern);
    }
  }
  w.TaggedFields();
  return out;
}

Result<ListTransactionsResponse> DecodeListTransactionsResponse(std::string_view body) {
  WireReader r(body, true);
  ListTransactionsResponse resp;
  (void)r.Int32();  // throttle_time_ms
  resp.error_code = r.Int16();
  int32_t unknown = r.ArrayLength();
  for (int32_t i = 0; i < unknown && r.ok(); ++i) (void)r.String();
  int32_t n = r.ArrayLength();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    TransactionListing t;
    t.transactional_id = r.String();
    t.producer_id = r.Int64();
    t.state = r.String();
    r.TaggedFields();
    resp.transactions.push_back(std::move(t));
  }
  r.TaggedFields();
  if (!r.ok()) return Malformed(ApiKey::kListTransactions, 0);
  return resp;
}

// --- EndTxn ------------------------------------------------------------------------------------

std::string EncodeEndTxnRequest(int16_t version, std::string_view transactional_id,
                                int64_t producer_id, int16_t producer_epoch, bool commit) {
  std::string out;
  WireWriter w(&out, IsFlexible(ApiKey::kEndTxn, version));
  w.String(transactional_id);
  w.Int64(producer_id);
  w.Int16(producer_epoch);
  w.Bool(commit);
  w.TaggedFields();
  return out;
}

Result<int16_t> DecodeEndTxnResponse(int16_t version, std::string_view body) {
  WireReader r(body, IsFlexible(ApiKey::kEndTxn, version));
  (void)r.Int32();  // throttle_time_ms
  int16_t error = r.Int16();
  r.TaggedFields();
  if (!r.ok()) return Malformed(ApiKey::kEndTxn, version);
  return error;
}

}  // namespace weir::kafka
