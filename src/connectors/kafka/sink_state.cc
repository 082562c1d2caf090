#include "connectors/kafka/sink_state.h"

#include <fmt/format.h>

#include <charconv>

#include "weir/codec.h"

namespace weir::kafka {
namespace {

constexpr uint8_t kFormatVersion = 1;

template <typename Int>
bool ParseNumber(std::string_view s, Int* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;  // one spelling per number
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string TransactionalId(std::string_view prefix, int subtask, uint64_t n) {
  return fmt::format("{}-{}-{}", prefix, subtask, n);
}

std::optional<TransactionalIdParts> ParseTransactionalId(std::string_view id,
                                                         std::string_view prefix) {
  if (id.size() <= prefix.size() + 1 || id.substr(0, prefix.size()) != prefix ||
      id[prefix.size()] != '-') {
    return std::nullopt;
  }
  std::string_view rest = id.substr(prefix.size() + 1);
  size_t dash = rest.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  TransactionalIdParts parts;
  parts.prefix = std::string(prefix);
  if (!ParseNumber(rest.substr(0, dash), &parts.subtask) ||
      !ParseNumber(rest.substr(dash + 1), &parts.n)) {
    return std::nullopt;
  }
  return parts;
}

std::string TransactionalIdPattern(std::string_view prefix) {
  std::string out = "^";
  for (char c : prefix) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out + "-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$";
}

std::string EncodePreparedTransaction(const PreparedTransaction& t) {
  std::string out;
  BufferWriter w(&out);
  w.PutU8(kFormatVersion);
  w.PutU8(static_cast<uint8_t>(t.kind));
  if (t.kind == PreparedTransaction::Kind::kFlush) {
    w.PutVarint64(t.period);
    return out;
  }
  w.PutLengthPrefixed(t.transactional_id);
  w.PutFixed64(static_cast<uint64_t>(t.producer_id));
  w.PutFixed16(static_cast<uint16_t>(t.producer_epoch));
  w.PutFixed64(static_cast<uint64_t>(t.checkpoint_id));
  return out;
}

Result<PreparedTransaction> DecodePreparedTransaction(std::string_view bytes) {
  BufferReader r(bytes);
  uint8_t version = 0, kind = 0;
  if (!r.GetU8(&version) || version != kFormatVersion || !r.GetU8(&kind)) {
    return Status::Corruption(fmt::format(
        "a Kafka sink transaction in the checkpoint has format version {}, this weir reads {}",
        version, kFormatVersion));
  }
  PreparedTransaction t;
  t.kind = static_cast<PreparedTransaction::Kind>(kind);
  if (t.kind == PreparedTransaction::Kind::kFlush) {
    if (!r.GetVarint64(&t.period) || !r.empty()) {
      return Status::Corruption("a Kafka sink transaction in the checkpoint does not decode");
    }
    return t;
  }
  std::string_view id;
  uint64_t pid = 0, checkpoint = 0;
  uint16_t epoch = 0;
  if (t.kind != PreparedTransaction::Kind::kTransaction || !r.GetLengthPrefixed(&id) ||
      !r.GetFixed64(&pid) || !r.GetFixed16(&epoch) || !r.GetFixed64(&checkpoint) || !r.empty() ||
      id.empty()) {
    return Status::Corruption("a Kafka sink transaction in the checkpoint does not decode");
  }
  t.transactional_id = std::string(id);
  t.producer_id = static_cast<int64_t>(pid);
  t.producer_epoch = static_cast<int16_t>(epoch);
  t.checkpoint_id = static_cast<int64_t>(checkpoint);
  return t;
}

std::string EncodeSubtaskState(const SubtaskState& s) {
  std::string out;
  BufferWriter w(&out);
  w.PutU8(kFormatVersion);
  w.PutLengthPrefixed(s.prefix);
  w.PutVarint64(static_cast<uint64_t>(s.subtask));
  w.PutVarint64(s.next);
  return out;
}

Result<SubtaskState> DecodeSubtaskState(std::string_view bytes) {
  BufferReader r(bytes);
  uint8_t version = 0;
  std::string_view prefix;
  uint64_t subtask = 0;
  SubtaskState s;
  if (!r.GetU8(&version) || version != kFormatVersion || !r.GetLengthPrefixed(&prefix) ||
      !r.GetVarint64(&subtask) || !r.GetVarint64(&s.next) || !r.empty() || subtask > 1 << 20) {
    return Status::Corruption("the Kafka sink's state in the checkpoint does not decode");
  }
  s.prefix = std::string(prefix);
  s.subtask = static_cast<int>(subtask);
  return s;
}

}  // namespace weir::kafka
