#include "state/state_schema.h"

#include <charconv>

namespace weir {
namespace {

// "Point@2" -> ("Point", 2); false for an identity without a version.
bool SplitVersion(std::string_view identity, std::string_view* name, int* version) {
  auto at = identity.rfind('@');
  if (at == std::string_view::npos) return false;
  auto digits = identity.substr(at + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *version);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  *name = identity.substr(0, at);
  return true;
}

// The value codec of a map state's "<key>-><value>", or the whole identity.
std::string_view ValuePart(std::string_view identity, std::string_view* key) {
  auto arrow = identity.find("->");
  if (arrow == std::string_view::npos) {
    *key = {};
    return identity;
  }
  *key = identity.substr(0, arrow);
  return identity.substr(arrow + 2);
}

}  // namespace

SchemaMatch MatchSchema(std::string_view restored, const detail::StateSchema& declared,
                        int* old_version) {
  if (restored.empty()) return SchemaMatch::kUnrecorded;
  if (restored == declared.codec) return SchemaMatch::kSame;
  std::string_view restored_key, declared_key;
  std::string_view restored_value = ValuePart(restored, &restored_key);
  std::string_view declared_value = ValuePart(declared.codec, &declared_key);
  if (restored_key != declared_key || !declared.migrate) return SchemaMatch::kIncompatible;
  std::string_view old_name, new_name;
  int old_v = 0, new_v = 0;
  if (!SplitVersion(restored_value, &old_name, &old_v) ||
      !SplitVersion(declared_value, &new_name, &new_v) || old_name != new_name || old_v >= new_v) {
    return SchemaMatch::kIncompatible;
  }
  *old_version = old_v;
  return SchemaMatch::kMigrate;
}

Status IncompatibleState(std::string_view where, std::string_view state, detail::StateKind kind,
                         std::string_view restored, const detail::StateSchema& declared) {
  std::string k(detail::StateKindName(kind));
  return Status::FailedPrecondition(
      std::string(where) + ": state '" + std::string(state) + "': the checkpoint holds " + k +
      " state written by codec '" + std::string(restored) + "', and the job declares " + k +
      " state with codec '" + declared.codec +
      "'; restoring would decode one as the other. Keep the state's type, give the changed "
      "state a new name, or give its type a codec that reads the old version "
      "(kName, kVersion and DecodeVersion, see weir/codec.h)");
}

bool MigrateStoredList(std::string_view bytes, const detail::StateSchema& schema,
                       int old_version, std::string* out) {
  BufferReader r(bytes);
  BufferWriter w(out);
  std::string element;
  while (!r.empty()) {
    std::string_view old;
    if (!r.GetLengthPrefixed(&old) || !schema.migrate(old_version, old, &element)) return false;
    w.PutLengthPrefixed(element);
  }
  return true;
}

bool MigrateCanonicalValue(detail::StateKind kind, std::string_view bytes,
                           const detail::StateSchema& schema, int old_version, std::string* out) {
  out->clear();
  switch (kind) {
    case detail::StateKind::kValue:
    case detail::StateKind::kReducing:
      return schema.migrate(old_version, bytes, out);
    case detail::StateKind::kList: {
      BufferReader r(bytes);
      uint64_t n;
      if (!r.GetVarint64(&n)) return false;
      BufferWriter(out).PutVarint64(n);
      return MigrateStoredList(r.rest(), schema, old_version, out);
    }
    case detail::StateKind::kMap: {
      BufferReader r(bytes);
      uint64_t n;
      if (!r.GetVarint64(&n)) return false;
      BufferWriter w(out);
      w.PutVarint64(n);
      std::string value;
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view key, old;
        if (!r.GetLengthPrefixed(&key) || !r.GetLengthPrefixed(&old) ||
            !schema.migrate(old_version, old, &value)) {
          return false;
        }
        w.PutLengthPrefixed(key);
        w.PutLengthPrefixed(value);
      }
      return r.empty();
    }
  }
  return false;
}

}  // namespace weir
