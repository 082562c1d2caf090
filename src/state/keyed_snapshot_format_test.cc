// The canonical keyed snapshot format: round trips, reading a subset of key groups, and
// detection of every kind of damage.
#include "state/keyed_snapshot_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <tuple>

#include "base/hash.h"

namespace weir {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct Entry {
  size_t state;
  int key_group;
  std::string key;
  std::string value;
  friend bool operator==(const Entry&, const Entry&) = default;
  friend bool operator<(const Entry& a, const Entry& b) {
    return std::tie(a.key_group, a.state, a.key) < std::tie(b.key_group, b.state, b.key);
  }
};

struct Timer {
  int key_group;
  TimeDomain domain;
  int64_t timestamp;
  std::string key;
  friend bool operator==(const Timer&, const Timer&) = default;
};

const std::vector<StateMeta> kStates = {{"sum", detail::StateKind::kValue},
                                        {"events", detail::StateKind::kList},
                                        {"by-type", detail::StateKind::kMap}};

// A file over key groups [10, 13]: group 10 has entries in every state and timers, 11 is
// empty, 12 has one entry, 13 only timers.
std::string SampleFile(std::vector<Entry>* entries = nullptr,
                       std::vector<Timer>* timers = nullptr) {
  std::vector<Entry> e = {
      {0, 10, "k1", "v1"},  {0, 10, "k2", std::string("\0\1\2", 3)}, {1, 10, "k1", "list"},
      {2, 10, "k3", "map"}, {1, 12, "k9", std::string(300, 'z')},
  };
  std::vector<Timer> t = {{10, TimeDomain::kProcessingTime, 1000, "k1"},
                          {10, TimeDomain::kEventTime, -5, "k2"},
                          {13, TimeDomain::kEventTime, 77, "k13"}};
  std::string out;
  KeyedSnapshotWriter w(&out, kStates, KeyGroupRange{10, 13});
  for (int kg = 10; kg <= 13; ++kg) {
    w.BeginKeyGroup(kg);
    for (size_t s = 0; s < kStates.size(); ++s) {
      std::vector<const Entry*> mine;
      for (const Entry& x : e) {
        if (x.key_group == kg && x.state == s) mine.push_back(&x);
      }
      w.BeginState(mine.size());
      for (const Entry* x : mine) w.AddEntry(x->key, x->value);
    }
    std::vector<const Timer*> mine;
    for (const Timer& x : t) {
      if (x.key_group == kg) mine.push_back(&x);
    }
    w.BeginTimers(mine.size());
    for (const Timer* x : mine) w.AddTimer(x->domain, x->timestamp, x->key);
  }
  w.Finish();
  if (entries) *entries = e;
  if (timers) *timers = t;
  return out;
}

Status ReadAll(const KeyedSnapshotReader& r, KeyGroupRange wanted, std::vector<Entry>* entries,
               std::vector<Timer>* timers) {
  return r.ForEach(
      wanted,
      [&](size_t s, int kg, std::string_view k, std::string_view v) {
        entries->push_back(Entry{s, kg, std::string(k), std::string(v)});
        return Status::OK();
      },
      [&](int kg, TimeDomain domain, int64_t ts, std::string_view k) {
        timers->push_back(Timer{kg, domain, ts, std::string(k)});
        return Status::OK();
      });
}

// Rewrites the embedded checksum so a deliberately altered file passes the checksum test and
// reaches the structural checks.
void FixChecksum(std::string* data) {
  uint64_t sum = Hash64(std::string_view(*data).substr(0, data->size() - 16));
  std::memcpy(data->data() + data->size() - 16, &sum, 8);
}

TEST(KeyedSnapshotFormatTest, RoundTripsStatesEntriesAndTimers) {
  std::vector<Entry> want_entries;
  std::vector<Timer> want_timers;
  auto r = KeyedSnapshotReader::Open(SampleFile(&want_entries, &want_timers), "f.keyed");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->states().size(), 3u);
  for (size_t i = 0; i < kStates.size(); ++i) {
    EXPECT_EQ(r->states()[i].name, kStates[i].name);
    EXPECT_EQ(r->states()[i].kind, kStates[i].kind);
  }
  EXPECT_EQ(r->key_groups(), (KeyGroupRange{10, 13}));
  std::vector<Entry> entries;
  std::vector<Timer> timers;
  ASSERT_TRUE(ReadAll(*r, KeyGroupRange{0, 127}, &entries, &timers).ok());
  EXPECT_EQ(entries, want_entries) << "in key-group, state, write order";
  EXPECT_EQ(timers, want_timers);
}

// A file written in pieces, as snapshots write large ones: per group, the first state's
// entries straight to the file, and a flush after every other group. With
// `use_file_checksum`, the writer takes its checksum from the one the "file" keeps.
std::string WriteInPieces(bool use_file_checksum) {
  std::string file, buf;
  Checksum written;
  KeyedSnapshotWriter w(&buf, kStates, KeyGroupRange{0, 3}, "codec",
                        use_file_checksum ? &written : nullptr);
  auto flush = [&](std::string_view also_written) {
    for (std::string_view piece : {std::string_view(buf), also_written}) {
      file += piece;
      written.Update(piece);
    }
    w.MarkFlushed(also_written);
  };
  for (int kg = 0; kg <= 3; ++kg) {
    w.BeginKeyGroup(kg);
    w.BeginState(2);
    flush("\x02k1\x02v1\x02k2\x03v22");
    w.BeginState(1);
    w.AddEntry("k" + std::to_string(kg), std::string(200, 'x'));
    w.AddEncodedState(0, "");
    w.BeginTimers(1);
    w.AddTimer(TimeDomain::kEventTime, kg, "t");
    if (kg % 2 == 1) flush({});
  }
  w.Finish();
  return file + buf;
}

TEST(KeyedSnapshotFormatTest, TheFilesOwnChecksumServesAsTheEmbeddedOne) {
  std::string own = WriteInPieces(/*use_file_checksum=*/false);
  EXPECT_EQ(WriteInPieces(/*use_file_checksum=*/true), own);
  auto r = KeyedSnapshotReader::Open(own, "pieces.keyed");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<Entry> entries;
  std::vector<Timer> timers;
  ASSERT_TRUE(ReadAll(*r, KeyGroupRange{0, 3}, &entries, &timers).ok());
  ASSERT_EQ(entries.size(), 12u);
  EXPECT_EQ(entries[1], (Entry{0, 0, "k2", "v22"}));
  EXPECT_EQ(entries[11], (Entry{1, 3, "k3", std::string(200, 'x')}));
  EXPECT_EQ(timers.size(), 4u);
}

TEST(KeyedSnapshotFormatTest, ReadsOnlyTheWantedKeyGroups) {
  auto r = KeyedSnapshotReader::Open(SampleFile(), "f.keyed");
  ASSERT_TRUE(r.ok());
  std::vector<Entry> entries;
  std::vector<Timer> timers;
  ASSERT_TRUE(ReadAll(*r, KeyGroupRange{11, 12}, &entries, &timers).ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].key, "k9");
  EXPECT_EQ(entries[0].key_group, 12);
  EXPECT_TRUE(timers.empty());

  entries.clear();
  ASSERT_TRUE(ReadAll(*r, KeyGroupRange{13, 40}, &entries, &timers).ok());
  EXPECT_TRUE(entries.empty());
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].key, "k13");

  entries.clear();
  timers.clear();
  ASSERT_TRUE(ReadAll(*r, KeyGroupRange{20, 30}, &entries, &timers).ok());
  ASSERT_TRUE(ReadAll(*r, KeyGroupRange{0, 9}, &entries, &timers).ok());
  ASSERT_TRUE(ReadAll(*r, KeyGroupRange{}, &entries, &timers).ok());
  EXPECT_TRUE(entries.empty());
  EXPECT_TRUE(timers.empty());
}

TEST(KeyedSnapshotFormatTest, EmptyFileWithNoStatesOrGroups) {
  std::string out;
  KeyedSnapshotWriter w(&out, {}, KeyGroupRange{});
  w.Finish();
  auto r = KeyedSnapshotReader::Open(out, "empty.keyed");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->states().empty());
  EXPECT_TRUE(r->key_groups().empty());
  std::vector<Entry> entries;
  std::vector<Timer> timers;
  EXPECT_TRUE(ReadAll(*r, KeyGroupRange{0, 127}, &entries, &timers).ok());
}

TEST(KeyedSnapshotFormatTest, CallbackErrorsStopTheScan) {
  auto r = KeyedSnapshotReader::Open(SampleFile(), "f.keyed");
  ASSERT_TRUE(r.ok());
  int calls = 0;
  Status s = r->ForEach(
      KeyGroupRange{0, 127},
      [&](size_t, int, std::string_view, std::string_view) {
        ++calls;
        return Status::Aborted("stop");
      },
      [](int, TimeDomain, int64_t, std::string_view) { return Status::OK(); });
  EXPECT_EQ(s, Status::Aborted("stop"));
  EXPECT_EQ(calls, 1);
  Status t = r->ForEach(
      KeyGroupRange{0, 127},
      [](size_t, int, std::string_view, std::string_view) { return Status::OK(); },
      [](int, TimeDomain, int64_t, std::string_view) { return Status::Internal("timer"); });
  EXPECT_EQ(t, Status::Internal("timer"));
}

TEST(KeyedSnapshotFormatTest, EverySingleFlippedByteIsDetected) {
  const std::string good = SampleFile();
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      auto r = KeyedSnapshotReader::Open(bad, "chk-3/op-0.keyed");
      ASSERT_FALSE(r.ok()) << "flip at byte " << i << " of " << good.size() << " not detected";
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
      EXPECT_THAT(r.status().message(), HasSubstr("keyed state file 'chk-3/op-0.keyed'"));
    }
  }
}

TEST(KeyedSnapshotFormatTest, FlippedByteInTheBodyIsAChecksumMismatch) {
  std::string bad = SampleFile();
  bad[20] = static_cast<char>(bad[20] ^ 0x10);
  auto r = KeyedSnapshotReader::Open(bad, "f.keyed");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("checksum mismatch"));
}

TEST(KeyedSnapshotFormatTest, EveryTruncationIsDetected) {
  const std::string good = SampleFile();
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = KeyedSnapshotReader::Open(good.substr(0, n), "f.keyed");
    ASSERT_FALSE(r.ok()) << "truncation to " << n << " bytes not detected";
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  auto longer = KeyedSnapshotReader::Open(good + "WEIRKSS1", "f.keyed");
  EXPECT_FALSE(longer.ok()) << "appended bytes not detected";
}

TEST(KeyedSnapshotFormatTest, BadMagicIsReportedAsNotAStateFile) {
  std::string bad = SampleFile();
  bad[0] = 'X';
  auto r = KeyedSnapshotReader::Open(bad, "f.keyed");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr("not a weir keyed state file"), HasSubstr("bad magic")));
  auto text = KeyedSnapshotReader::Open("just some text that is long enough to check", "t");
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("bad magic"));
}

TEST(KeyedSnapshotFormatTest, UnsupportedVersionIsNamed) {
  std::string data = SampleFile();
  ASSERT_EQ(data[8], '\x05');  // the varint version right after the magic
  data[8] = '\x06';
  FixChecksum(&data);
  auto r = KeyedSnapshotReader::Open(data, "f.keyed");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("format version 6 is not supported"));
}

// Versions 4 and 5 changed what window state means, not the bytes: version 3 and 4 files
// read as they did.
TEST(KeyedSnapshotFormatTest, VersionThreeAndFourFilesStillRead) {
  std::vector<Entry> entries_now;
  std::vector<Timer> timers_now;
  auto now = KeyedSnapshotReader::Open(SampleFile(), "f.keyed");
  ASSERT_TRUE(now.ok());
  ASSERT_TRUE(ReadAll(*now, KeyGroupRange{0, 127}, &entries_now, &timers_now).ok());
  EXPECT_FALSE(timers_now.empty());
  for (char version : {'\x03', '\x04'}) {
    SCOPED_TRACE("version " + std::to_string(version));
    std::string data = SampleFile();
    data[8] = version;
    FixChecksum(&data);
    auto r = KeyedSnapshotReader::Open(data, "f.keyed");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<Entry> entries;
    std::vector<Timer> timers;
    ASSERT_TRUE(ReadAll(*r, KeyGroupRange{0, 127}, &entries, &timers).ok());
    EXPECT_EQ(entries, entries_now);
    EXPECT_EQ(timers, timers_now);
  }
}

TEST(KeyedSnapshotFormatTest, CodecIdentitiesAreRecordedAndVersionOneFilesStillRead) {
  std::string out;
  KeyedSnapshotWriter w(&out, {{"sum", detail::StateKind::kValue, "i64"}}, KeyGroupRange{0, 0},
                        "string");
  w.BeginKeyGroup(0);
  w.BeginState(1);
  w.AddEntry("k", "v");
  w.BeginTimers(0);
  w.Finish();
  auto r = KeyedSnapshotReader::Open(out, "v2.keyed");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->key_codec(), "string");
  EXPECT_EQ(r->states()[0].codec, "i64");

  // The same file as weir wrote it before codecs were recorded: version 1, no identities.
  std::string v1 = "WEIRKSS1";
  BufferWriter b(&v1);
  b.PutVarint64(1);   // version
  b.PutVarint64(1);   // states
  b.PutLengthPrefixed("sum");
  b.PutU8(static_cast<uint8_t>(detail::StateKind::kValue));
  b.PutVarint64(0);   // first key group
  b.PutVarint64(1);   // key groups
  uint64_t group = v1.size();
  b.PutVarint64(1);
  b.PutLengthPrefixed("k");
  b.PutLengthPrefixed("v");
  b.PutVarint64(0);  // timers
  uint64_t footer = v1.size();
  b.PutFixed64(group);
  b.PutFixed64(footer);
  b.PutFixed64(Hash64(v1));
  b.PutBytes("WEIRKSS1");
  auto old = KeyedSnapshotReader::Open(v1, "v1.keyed");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->key_codec(), "");
  EXPECT_EQ(old->states()[0].name, "sum");
  EXPECT_EQ(old->states()[0].codec, "") << "not recorded: restored with a warning";
}

// Version 2 files (before event time) have no domain per timer: all are processing-time ones.
TEST(KeyedSnapshotFormatTest, VersionTwoTimersReadAsProcessingTime) {
  std::string v2 = "WEIRKSS1";
  BufferWriter b(&v2);
  b.PutVarint64(2);  // version
  b.PutLengthPrefixed("string");
  b.PutVarint64(0);  // states
  b.PutVarint64(5);  // first key group
  b.PutVarint64(1);  // key groups
  uint64_t group = v2.size();
  b.PutVarint64(2);  // timers
  b.PutFixed64(1000);
  b.PutLengthPrefixed("a");
  b.PutFixed64(2000);
  b.PutLengthPrefixed("b");
  uint64_t footer = v2.size();
  b.PutFixed64(group);
  b.PutFixed64(footer);
  b.PutFixed64(Hash64(v2));
  b.PutBytes("WEIRKSS1");
  auto r = KeyedSnapshotReader::Open(v2, "v2.keyed");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<Entry> entries;
  std::vector<Timer> timers;
  ASSERT_TRUE(ReadAll(*r, KeyGroupRange{0, 127}, &entries, &timers).ok());
  EXPECT_EQ(timers, (std::vector<Timer>{{5, TimeDomain::kProcessingTime, 1000, "a"},
                                        {5, TimeDomain::kProcessingTime, 2000, "b"}}));
}

TEST(KeyedSnapshotFormatTest, AnUnknownTimerDomainIsMalformed) {
  std::string out;
  KeyedSnapshotWriter w(&out, {}, KeyGroupRange{0, 0});
  w.BeginKeyGroup(0);
  w.BeginTimers(1);
  w.AddTimer(static_cast<TimeDomain>(7), 1, "k");
  w.Finish();
  auto r = KeyedSnapshotReader::Open(out, "bad.keyed");
  ASSERT_TRUE(r.ok());
  std::vector<Entry> entries;
  std::vector<Timer> timers;
  Status s = ReadAll(*r, KeyGroupRange{0, 0}, &entries, &timers);
  EXPECT_THAT(s.message(), HasSubstr("bad timer domain in key group 0"));
}

TEST(KeyedSnapshotFormatTest, StructuralDamageBehindAValidChecksumIsDetected) {
  const std::string good = SampleFile();
  // The kind byte of the first state: magic(8) version(1) key codec(1) count(1) len(1)
  // "sum"(3).
  {
    std::string bad = good;
    ASSERT_EQ(bad[15], static_cast<char>(detail::StateKind::kValue));
    bad[15] = 9;
    FixChecksum(&bad);
    auto r = KeyedSnapshotReader::Open(bad, "f.keyed");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr("bad state description"));
  }
  // The footer offset.
  {
    std::string bad = good;
    bad[bad.size() - 24] = static_cast<char>(bad[bad.size() - 24] + 1);
    FixChecksum(&bad);
    auto r = KeyedSnapshotReader::Open(bad, "f.keyed");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr("bad footer"));
  }
  // A header that claims more key groups than the file has room for, and a footer offset so
  // large that adding their offsets' size wraps around to the file's size: refused, not read
  // from far outside the file.
  {
    std::string bad;
    KeyedSnapshotWriter w(&bad, {}, KeyGroupRange{10, 10});
    w.BeginKeyGroup(10);
    w.BeginTimers(0);
    w.Finish();
    // magic(8) version(1) key codec(1) states(1) first group(1) count(1)
    ASSERT_EQ(bad[11], 10);
    ASSERT_EQ(bad[12], 1);
    bad[12] = 127;
    const uint64_t wrapped = bad.size() - (127 * 8 + 24);  // modulo 2^64
    std::memcpy(bad.data() + bad.size() - 24, &wrapped, 8);
    FixChecksum(&bad);
    auto r = KeyedSnapshotReader::Open(bad, "f.keyed");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr("bad footer"));
  }
  // Group offsets out of order: swap the offsets of groups 10 and 12.
  {
    std::string bad = good;
    size_t offsets = bad.size() - 24 - 4 * 8;
    std::string g10 = bad.substr(offsets, 8), g12 = bad.substr(offsets + 16, 8);
    bad.replace(offsets, 8, g12);
    bad.replace(offsets + 16, 8, g10);
    FixChecksum(&bad);
    auto r = KeyedSnapshotReader::Open(bad, "f.keyed");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr("out of order"));
  }
  // Any byte changed inside the group data, checksum fixed: the file opens, but reading it
  // must fail cleanly or return data; it must never crash.
  for (size_t i = 0; i < good.size() - 24 - 4 * 8; ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x41);
    FixChecksum(&bad);
    auto r = KeyedSnapshotReader::Open(bad, "f.keyed");
    if (!r.ok()) continue;
    std::vector<Entry> entries;
    std::vector<Timer> timers;
    Status s = ReadAll(*r, KeyGroupRange{0, 127}, &entries, &timers);
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
    }
  }
}

}  // namespace
}  // namespace weir
