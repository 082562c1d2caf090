#include "state/heap_incremental_format.h"

#include <algorithm>
#include <cstring>

#include "base/checksum.h"
#include "base/hash.h"

namespace weir {
namespace {

constexpr std::string_view kKeyMagic = "WEIRHKY1";
constexpr std::string_view kValueMagic = "WEIRHVL1";
constexpr uint64_t kVersion = 1;
// Bytes encoded before they go to the file: small enough to stay in the caches while they are
// checksummed and copied out, large enough to make few writes.
constexpr size_t kPieceBytes = 1 << 20;
constexpr size_t kIdsPerPiece = 16384;

using detail::SnapshotSection;

// The checksum so far and the magic: what ends both files.
Status AppendTrailer(std::string_view magic, StateFileWriter* file) {
  std::string trailer;
  BufferWriter w(&trailer);
  w.PutFixed64(file->checksum().Digest());
  w.PutBytes(magic);
  return file->Append(trailer);
}

// Checks magic at both ends and the embedded checksum; returns the bytes between the leading
// magic and the trailer.
Result<std::string_view> Body(const std::string& d, std::string_view magic,
                              const std::string& name, std::string_view what) {
  constexpr size_t kTrailer = 8 + 8;
  if (d.size() < 2 * magic.size() + 8 || d.compare(0, magic.size(), magic) != 0 ||
      d.compare(d.size() - magic.size(), magic.size(), magic) != 0) {
    return Status::Corruption(std::string(what) + " '" + name +
                              "': not a weir heap checkpoint file (bad magic or truncated)");
  }
  uint64_t checksum;
  std::memcpy(&checksum, d.data() + d.size() - kTrailer, 8);
  if (Checksum::Of(std::string_view(d.data(), d.size() - kTrailer)) != checksum) {
    return Status::Corruption(std::string(what) + " '" + name + "': checksum mismatch");
  }
  return std::string_view(d).substr(magic.size(), d.size() - magic.size() - kTrailer);
}

}  // namespace

Status WriteHeapKeyFile(const KeyTable::Frozen& keys, StateFileWriter* file) {
  using Key = KeyTable::Key;
  constexpr size_t kChunk = detail::CowVector<Key>::kChunkSize;
  // An id's entry with an inline key: key group + 1 (below 65536: at most 3 varint bytes),
  // the length (1 byte) and room for all kInline bytes, which are copied whatever the length.
  constexpr size_t kInlineEntry = 3 + 1 + Key::kInline;
  SnapshotSection piece;
  piece.Reserve(kPieceBytes + kChunk * kInlineEntry);
  {
    char* p = piece.Extend(kKeyMagic.size() + 2 * SnapshotSection::kMaxVarint);
    p = SnapshotSection::PutBytes(p, kKeyMagic);
    p = SnapshotSection::PutVarint(p, kVersion);
    piece.Commit(SnapshotSection::PutVarint(p, keys.size()));
  }
  for (size_t c = 0; c * kChunk < keys.size(); ++c) {
    // A chunk of ids in one loop, with room for all of them reserved up front.
    std::span<const Key> chunk = keys.chunk(c);
    char* p = piece.Extend(chunk.size() * kInlineEntry);
    for (size_t i = 0; i < chunk.size(); ++i) {
      const Key& k = chunk[i];
      if (!k.live()) {
        *p++ = 0;
        continue;
      }
      p = SnapshotSection::PutVarint(p, static_cast<uint64_t>(k.key_group()) + 1);
      if (k.is_inline()) [[likely]] {
        *p++ = static_cast<char>(k.inline_size());
        std::memcpy(p, k.inline_bytes(), Key::kInline);
        p += k.inline_size();
      } else {
        // A long key: what came before it goes out first if the piece is full, so a chunk
        // of long keys does not pile up in memory.
        std::string_view bytes = k.bytes();
        piece.Commit(p, 0);
        if (piece.bytes().size() >= kPieceBytes) {
          WEIR_RETURN_IF_ERROR(file->Append(piece.bytes()));
          piece.Clear();
        }
        p = piece.Extend(SnapshotSection::kMaxVarint + bytes.size() +
                         (chunk.size() - i - 1) * kInlineEntry);
        p = SnapshotSection::PutBytes(SnapshotSection::PutVarint(p, bytes.size()), bytes);
      }
    }
    piece.Commit(p, 0);
    if (piece.bytes().size() >= kPieceBytes) {
      WEIR_RETURN_IF_ERROR(file->Append(piece.bytes()));
      piece.Clear();
    }
  }
  WEIR_RETURN_IF_ERROR(file->Append(piece.bytes()));
  return AppendTrailer(kKeyMagic, file);
}

Status WriteHeapValueFile(const HeapValueFileHeader& header,
                          const std::vector<HeapValueColumn>& columns,
                          const std::vector<TimerEntry>& timers, int max_parallelism,
                          StateFileWriter* file) {
  std::string head;
  BufferWriter w(&head);
  w.PutBytes(kValueMagic);
  w.PutVarint64(kVersion);
  w.PutVarint64(kKeyedSnapshotVersion);
  w.PutFixed64(header.key_file_checksum);
  w.PutVarint64(header.id_count);
  w.PutLengthPrefixed(header.key_codec);
  w.PutVarint64(static_cast<uint64_t>(header.range.start));
  w.PutVarint64(static_cast<uint64_t>(header.range.size()));
  w.PutVarint64(columns.size());
  for (const HeapValueColumn& c : columns) {
    w.PutLengthPrefixed(c.meta.name);
    w.PutU8(static_cast<uint8_t>(c.meta.kind));
    w.PutLengthPrefixed(c.meta.codec);
  }
  WEIR_RETURN_IF_ERROR(file->Append(head));

  SnapshotSection piece;
  piece.Reserve(kPieceBytes + kIdsPerPiece * 16);
  for (const HeapValueColumn& c : columns) {
    for (size_t begin = 0; begin < header.id_count; begin += kIdsPerPiece) {
      size_t end = std::min(header.id_count, begin + kIdsPerPiece);
      c.append(static_cast<detail::KeyId>(begin), static_cast<detail::KeyId>(end), &piece);
      if (piece.bytes().size() >= kPieceBytes) {
        WEIR_RETURN_IF_ERROR(file->Append(piece.bytes()));
        piece.Clear();
      }
    }
  }
  WEIR_RETURN_IF_ERROR(file->Append(piece.bytes()));

  std::string tail;
  BufferWriter t(&tail);
  std::vector<std::pair<int, const TimerEntry*>> kept;
  for (const TimerEntry& e : timers) {
    int kg = detail::KeyGroupForHash(Hash64(e.key), max_parallelism);
    if (header.range.Contains(kg)) kept.emplace_back(kg, &e);
  }
  t.PutVarint64(kept.size());
  for (const auto& [kg, e] : kept) {
    t.PutU8(static_cast<uint8_t>(e->domain));
    t.PutVarint64(static_cast<uint64_t>(kg));
    t.PutFixed64(static_cast<uint64_t>(e->timestamp));
    t.PutLengthPrefixed(e->key);
  }
  WEIR_RETURN_IF_ERROR(file->Append(tail));
  return AppendTrailer(kValueMagic, file);
}

Result<HeapIncrementalReader> HeapIncrementalReader::Open(std::string key_file,
                                                          std::string key_name,
                                                          uint64_t key_file_checksum,
                                                          std::string value_file,
                                                          std::string value_name) {
  HeapIncrementalReader r;
  r.key_data_ = std::make_shared<const std::string>(std::move(key_file));
  r.values_ = std::make_shared<const std::string>(std::move(value_file));
  r.value_name_ = std::move(value_name);
  auto key_error = [&](std::string_view what) {
    return Status::Corruption("heap key file '" + key_name + "': " + std::string(what));
  };
  auto value_error = [&](std::string_view what) {
    return Status::Corruption("heap value file '" + r.value_name_ + "': " + std::string(what));
  };

  // The keys.
  WEIR_ASSIGN_OR_RETURN(std::string_view key_body,
                        Body(*r.key_data_, kKeyMagic, key_name, "heap key file"));
  BufferReader keys(key_body);
  uint64_t version, id_count;
  if (!keys.GetVarint64(&version)) return key_error("truncated header");
  if (version != kVersion) {
    return key_error("format version " + std::to_string(version) + " is not supported");
  }
  if (!keys.GetVarint64(&id_count) || id_count > keys.remaining()) {
    return key_error("bad key count");
  }
  r.keys_.resize(id_count);
  for (uint64_t id = 0; id < id_count; ++id) {
    uint64_t tag;
    if (!keys.GetVarint64(&tag)) return key_error("truncated at key id " + std::to_string(id));
    if (tag == 0) continue;
    if (tag > 65536 || !keys.GetLengthPrefixed(&r.keys_[id].bytes)) {
      return key_error("bad key at id " + std::to_string(id));
    }
    r.keys_[id].key_group = static_cast<int>(tag - 1);
  }
  if (!keys.empty()) return key_error("trailing bytes after the keys");

  // The value file's header.
  WEIR_ASSIGN_OR_RETURN(std::string_view value_body,
                        Body(*r.values_, kValueMagic, r.value_name_, "heap value file"));
  BufferReader in(value_body);
  uint64_t content_version, key_checksum, value_ids, num_states, start, count;
  std::string_view key_codec;
  if (!in.GetVarint64(&version) || !in.GetVarint64(&content_version) ||
      !in.GetFixed64(&key_checksum) || !in.GetVarint64(&value_ids) ||
      !in.GetLengthPrefixed(&key_codec)) {
    return value_error("truncated header");
  }
  if (version != kVersion || content_version < 1 || content_version > kKeyedSnapshotVersion) {
    return value_error("format version " + std::to_string(version) + "." +
                       std::to_string(content_version) + " is not supported");
  }
  if (key_checksum != key_file_checksum || value_ids != id_count) {
    return value_error("written against another key file than '" + key_name + "'");
  }
  r.key_codec_.assign(key_codec);
  if (!in.GetVarint64(&start) || !in.GetVarint64(&count) || start > 32768 || count < 1 ||
      count > 32768) {
    return value_error("bad key-group range");
  }
  r.range_ = KeyGroupRange{static_cast<int>(start), static_cast<int>(start + count) - 1};
  for (uint64_t id = 0; id < id_count; ++id) {
    const Key& k = r.keys_[id];
    if (k.key_group >= 0 && !r.range_.Contains(k.key_group)) {
      return key_error("key id " + std::to_string(id) + " is in key group " +
                       std::to_string(k.key_group) + ", outside the file's key groups " +
                       r.range_.ToString());
    }
  }
  if (!in.GetVarint64(&num_states) || num_states > in.remaining()) {
    return value_error("bad state count");
  }
  for (uint64_t i = 0; i < num_states; ++i) {
    std::string_view name, codec;
    uint8_t kind;
    if (!in.GetLengthPrefixed(&name) || !in.GetU8(&kind) || kind < 1 || kind > 4 ||
        !in.GetLengthPrefixed(&codec)) {
      return value_error("bad state description");
    }
    r.states_.push_back(
        StateMeta{std::string(name), static_cast<detail::StateKind>(kind), std::string(codec)});
  }

  // Every value, checked once here so that ForEach may trust the layout.
  const size_t body_start = static_cast<size_t>(value_body.data() - r.values_->data());
  auto offset = [&] { return body_start + (value_body.size() - in.remaining()); };
  for (uint64_t s = 0; s < num_states; ++s) {
    r.state_offsets_.push_back(offset());
    for (uint64_t id = 0; id < id_count; ++id) {
      uint64_t n;
      std::string_view value;
      if (!in.GetVarint64(&n) || (n > 0 && !in.GetBytes(n - 1, &value))) {
        return value_error("truncated in state '" + r.states_[s].name + "'");
      }
      if (n > 0 && r.keys_[id].key_group < 0) {
        return value_error("state '" + r.states_[s].name + "' has a value for key id " +
                           std::to_string(id) + ", which holds no key");
      }
    }
  }
  r.timers_offset_ = offset();
  uint64_t timers;
  if (!in.GetVarint64(&timers) || timers > in.remaining()) return value_error("bad timer count");
  for (uint64_t t = 0; t < timers; ++t) {
    uint8_t domain;
    uint64_t kg, ts;
    std::string_view key;
    if (!in.GetU8(&domain) || !in.GetVarint64(&kg) || !in.GetFixed64(&ts) ||
        !in.GetLengthPrefixed(&key)) {
      return value_error("truncated timer");
    }
    if (domain > 1) return value_error("bad timer domain");
    if (kg > 65535 || !r.range_.Contains(static_cast<int>(kg))) {
      return value_error("a timer in key group " + std::to_string(kg) +
                         ", outside the file's key groups " + r.range_.ToString());
    }
  }
  if (!in.empty()) return value_error("trailing bytes after the timers");
  r.footer_offset_ = offset();
  return r;
}

Result<std::vector<uint64_t>> HeapIncrementalReader::CountEntries(KeyGroupRange wanted) const {
  std::vector<uint64_t> counts(states_.size(), 0);
  WEIR_RETURN_IF_ERROR(ForEach(
      wanted,
      [&](size_t state, int, std::string_view, std::string_view) {
        ++counts[state];
        return Status::OK();
      },
      [](int, TimeDomain, int64_t, std::string_view) { return Status::OK(); }));
  return counts;
}

size_t HeapIncrementalReader::CountKeys(KeyGroupRange wanted) const {
  return static_cast<size_t>(std::count_if(keys_.begin(), keys_.end(), [&](const Key& k) {
    return k.key_group >= 0 && wanted.Contains(k.key_group);
  }));
}

Status HeapIncrementalReader::ForEach(KeyGroupRange wanted,
                                      const KeyedSnapshotReader::EntryFn& on_entry,
                                      const KeyedSnapshotReader::TimerFn& on_timer) const {
  // Open checked every length and count: what follows cannot run past the file.
  for (size_t s = 0; s < states_.size(); ++s) {
    size_t end = s + 1 < states_.size() ? state_offsets_[s + 1] : timers_offset_;
    BufferReader in(std::string_view(*values_).substr(state_offsets_[s], end - state_offsets_[s]));
    for (size_t id = 0; id < keys_.size(); ++id) {
      uint64_t n = 0;
      std::string_view value;
      in.GetVarint64(&n);
      if (n == 0) continue;
      in.GetBytes(n - 1, &value);
      const Key& k = keys_[id];
      if (wanted.Contains(k.key_group)) {
        WEIR_RETURN_IF_ERROR(on_entry(s, k.key_group, k.bytes, value));
      }
    }
  }
  BufferReader in(
      std::string_view(*values_).substr(timers_offset_, footer_offset_ - timers_offset_));
  uint64_t timers = 0;
  in.GetVarint64(&timers);
  for (uint64_t t = 0; t < timers; ++t) {
    uint8_t domain = 0;
    uint64_t kg = 0, ts = 0;
    std::string_view key;
    in.GetU8(&domain);
    in.GetVarint64(&kg);
    in.GetFixed64(&ts);
    in.GetLengthPrefixed(&key);
    if (wanted.Contains(static_cast<int>(kg))) {
      WEIR_RETURN_IF_ERROR(on_timer(static_cast<int>(kg), static_cast<TimeDomain>(domain),
                                    static_cast<int64_t>(ts), key));
    }
  }
  return Status::OK();
}

Result<HeapIncrementalReader> OpenHeapIncremental(const KeyedStateHandle& handle,
                                                  const SnapshotLocation& location) {
  const std::vector<StateFile>& files = handle.native_files;
  if (files.size() != 2 || !files[0].local_name.starts_with("keys-") ||
      files[1].local_name != "values") {
    return Status::Corruption("a heap incremental state handle lists " +
                              std::to_string(files.size()) +
                              " files; it must list a key file and a value file");
  }
  WEIR_ASSIGN_OR_RETURN(std::string keys, location.ReadVerified(files[0]));
  WEIR_ASSIGN_OR_RETURN(std::string values, location.ReadVerified(files[1]));
  WEIR_ASSIGN_OR_RETURN(
      auto reader,
      HeapIncrementalReader::Open(std::move(keys), location.Absolute(files[0]),
                                  files[0].checksum, std::move(values),
                                  location.Absolute(files[1])));
  if (reader.key_groups() != handle.key_groups) {
    return Status::Corruption("heap value file '" + location.Absolute(files[1]) +
                              "' holds key groups " + reader.key_groups().ToString() +
                              ", its handle " + handle.key_groups.ToString());
  }
  return reader;
}

}  // namespace weir
