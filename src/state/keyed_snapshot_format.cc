#include "state/keyed_snapshot_format.h"

#include <cstring>

#include "base/hash.h"
#include "weir/detail/hash.h"

namespace weir {

Status CheckKeyGroupOfKey(std::string_view key, int key_group, int max_parallelism,
                          std::string_view file, std::string_view what) {
  const int hashed = detail::KeyGroupForHash(Hash64(key), max_parallelism);
  if (hashed == key_group) return Status::OK();
  return Status::Corruption("keyed state file '" + std::string(file) + "': " + std::string(what) +
                            " is stored in key group " + std::to_string(key_group) +
                            " but its key hashes to " + std::to_string(hashed) +
                            ": the checkpoint was taken with another pipeline.max-parallelism "
                            "(which cannot change), the keys' encoding changed since, or the "
                            "file is damaged");
}
namespace {

constexpr std::string_view kMagic = "WEIRKSS1";
constexpr uint64_t kVersion = kKeyedSnapshotVersion;

}  // namespace

std::string_view detail::StateKindName(StateKind kind) {
  switch (kind) {
    case StateKind::kValue:
      return "value";
    case StateKind::kList:
      return "list";
    case StateKind::kMap:
      return "map";
    case StateKind::kReducing:
      return "reducing";
  }
  return "unknown";
}

KeyedSnapshotWriter::KeyedSnapshotWriter(std::string* out, const std::vector<StateMeta>& states,
                                         KeyGroupRange range, std::string_view key_codec,
                                         const Checksum* written)
    : out_(out), w_(out), range_(range), next_group_(range.start), written_(written) {
  w_.PutBytes(kMagic);
  w_.PutVarint64(kVersion);
  w_.PutLengthPrefixed(key_codec);
  w_.PutVarint64(states.size());
  for (const StateMeta& s : states) {
    w_.PutLengthPrefixed(s.name);
    w_.PutU8(static_cast<uint8_t>(s.kind));
    w_.PutLengthPrefixed(s.codec);
  }
  w_.PutVarint64(static_cast<uint64_t>(range.start));
  w_.PutVarint64(static_cast<uint64_t>(range.size()));
  offsets_.reserve(static_cast<size_t>(range.size()));
}

void KeyedSnapshotWriter::BeginKeyGroup(int key_group) {
  (void)key_group;  // groups are positional; the argument documents the caller's intent
  offsets_.push_back(flushed_ + out_->size());
  ++next_group_;
}

void KeyedSnapshotWriter::BeginState(size_t count) { w_.PutVarint64(count); }

void KeyedSnapshotWriter::AddEntry(std::string_view key, std::string_view value) {
  w_.PutLengthPrefixed(key);
  w_.PutLengthPrefixed(value);
}

void KeyedSnapshotWriter::AddEncodedState(size_t count, std::string_view entries) {
  w_.PutVarint64(count);
  w_.PutBytes(entries);
}

void KeyedSnapshotWriter::BeginTimers(size_t count) { w_.PutVarint64(count); }

void KeyedSnapshotWriter::AddTimer(TimeDomain domain, int64_t timestamp, std::string_view key) {
  w_.PutU8(static_cast<uint8_t>(domain));
  w_.PutFixed64(static_cast<uint64_t>(timestamp));
  w_.PutLengthPrefixed(key);
}

void KeyedSnapshotWriter::Finish() {
  uint64_t footer = flushed_ + out_->size();
  for (uint64_t off : offsets_) w_.PutFixed64(off);
  w_.PutFixed64(footer);
  // A copy of the file's checksum, so the file's own goes on from the flushed bytes.
  Checksum all = written_ != nullptr ? *written_ : checksum_;
  all.Update(*out_);
  w_.PutFixed64(all.Digest());
  w_.PutBytes(kMagic);
}

void KeyedSnapshotWriter::MarkFlushed(std::string_view also_written) {
  if (written_ == nullptr) {
    checksum_.Update(*out_);
    checksum_.Update(also_written);
  }
  flushed_ += out_->size() + also_written.size();
  out_->clear();
}

Status KeyedSnapshotReader::Malformed(std::string_view what) const {
  return Status::Corruption("keyed state file '" + name_ + "': " + std::string(what));
}

Result<KeyedSnapshotReader> KeyedSnapshotReader::Open(std::string data, std::string name) {
  KeyedSnapshotReader r;
  r.data_ = std::make_shared<const std::string>(std::move(data));
  r.name_ = std::move(name);
  const std::string& d = *r.data_;
  constexpr size_t kTrailer = 8 + 8 + kMagic.size();
  if (d.size() < kMagic.size() + kTrailer || d.compare(0, kMagic.size(), kMagic) != 0 ||
      d.compare(d.size() - kMagic.size(), kMagic.size(), kMagic) != 0) {
    return r.Malformed("not a weir keyed state file (bad magic or truncated)");
  }
  uint64_t footer, checksum;
  std::memcpy(&footer, d.data() + d.size() - kTrailer, 8);
  std::memcpy(&checksum, d.data() + d.size() - kTrailer + 8, 8);
  if (Checksum::Of(std::string_view(d.data(), d.size() - 8 - kMagic.size())) != checksum) {
    return r.Malformed("checksum mismatch");
  }
  BufferReader in(std::string_view(d).substr(kMagic.size()));
  uint64_t version, num_states, start, count;
  if (!in.GetVarint64(&version)) return r.Malformed("truncated header");
  if (version < 1 || version > kVersion) {
    return r.Malformed("format version " + std::to_string(version) + " is not supported");
  }
  r.version_ = version;
  if (version >= 2) {
    std::string_view key_codec;
    if (!in.GetLengthPrefixed(&key_codec)) return r.Malformed("truncated header");
    r.key_codec_.assign(key_codec);
  }
  if (!in.GetVarint64(&num_states) || num_states > in.remaining()) {
    return r.Malformed("bad state count");
  }
  for (uint64_t i = 0; i < num_states; ++i) {
    std::string_view sname, codec;
    uint8_t kind;
    if (!in.GetLengthPrefixed(&sname) || !in.GetU8(&kind) || kind < 1 || kind > 4 ||
        (version >= 2 && !in.GetLengthPrefixed(&codec))) {
      return r.Malformed("bad state description");
    }
    r.states_.push_back(
        StateMeta{std::string(sname), static_cast<detail::StateKind>(kind), std::string(codec)});
  }
  if (!in.GetVarint64(&start) || !in.GetVarint64(&count) || start > 32768 || count > 32768) {
    return r.Malformed("bad key-group range");
  }
  r.range_ = KeyGroupRange{static_cast<int>(start), static_cast<int>(start + count) - 1};
  // footer comes from the file: compared without a sum that a huge one could wrap around.
  if (footer > d.size() || d.size() - footer != count * 8 + kTrailer) {
    return r.Malformed("bad footer");
  }
  r.footer_offset_ = footer;
  r.offsets_.resize(count);
  if (count > 0) std::memcpy(r.offsets_.data(), d.data() + footer, count * 8);
  for (size_t i = 0; i < count; ++i) {
    uint64_t next = i + 1 < count ? r.offsets_[i + 1] : footer;
    if (r.offsets_[i] > next) return r.Malformed("key-group offsets out of order");
  }
  return r;
}

Result<std::vector<uint64_t>> KeyedSnapshotReader::CountEntries(KeyGroupRange wanted) const {
  std::vector<uint64_t> counts(states_.size(), 0);
  Status s = ForEach(
      wanted,
      [&](size_t state, int, std::string_view, std::string_view) {
        ++counts[state];
        return Status::OK();
      },
      [](int, TimeDomain, int64_t, std::string_view) { return Status::OK(); });
  if (!s.ok()) return s;
  return counts;
}

Status KeyedSnapshotReader::ForEach(KeyGroupRange wanted, const EntryFn& on_entry,
                                    const TimerFn& on_timer) const {
  KeyGroupRange r = range_.Intersect(wanted);
  for (int kg = r.start; kg <= r.end; ++kg) {
    size_t i = static_cast<size_t>(kg - range_.start);
    uint64_t begin = offsets_[i];
    uint64_t end = i + 1 < offsets_.size() ? offsets_[i + 1] : footer_offset_;
    BufferReader in(std::string_view(*data_).substr(begin, end - begin));
    for (size_t s = 0; s < states_.size(); ++s) {
      uint64_t n;
      if (!in.GetVarint64(&n)) return Malformed("truncated key group " + std::to_string(kg));
      for (uint64_t e = 0; e < n; ++e) {
        std::string_view key, value;
        if (!in.GetLengthPrefixed(&key) || !in.GetLengthPrefixed(&value)) {
          return Malformed("truncated entry in key group " + std::to_string(kg));
        }
        WEIR_RETURN_IF_ERROR(on_entry(s, kg, key, value));
      }
    }
    uint64_t timers;
    if (!in.GetVarint64(&timers))
      return Malformed("truncated timers of group " + std::to_string(kg));
    for (uint64_t t = 0; t < timers; ++t) {
      uint8_t domain = 0;  // before version 3 every timer was a processing-time one
      uint64_t ts;
      std::string_view key;
      if ((version_ >= 3 && !in.GetU8(&domain)) || !in.GetFixed64(&ts) ||
          !in.GetLengthPrefixed(&key)) {
        return Malformed("truncated timer in key group " + std::to_string(kg));
      }
      if (domain > 1) return Malformed("bad timer domain in key group " + std::to_string(kg));
      WEIR_RETURN_IF_ERROR(
          on_timer(kg, static_cast<TimeDomain>(domain), static_cast<int64_t>(ts), key));
    }
    if (!in.empty()) return Malformed("trailing bytes in key group " + std::to_string(kg));
  }
  return Status::OK();
}

}  // namespace weir
