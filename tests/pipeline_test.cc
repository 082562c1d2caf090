// End-to-end jobs through the public API, run in-process: operators, chaining, exchange,
// keyed state against a model, timers, and failure propagation.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include "base/clock.h"
#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir {
namespace {

using testing::Lines;
using testing::ListFilesRecursive;
using testing::ReadFile;
using testing::TempDir;

// All lines of a sink's output: the file, or every file of its directory.
std::vector<std::string> OutputLines(const std::string& path) {
  std::vector<std::string> lines;
  auto files = ListFilesRecursive(path);
  if (files.empty()) return Lines(ReadFile(path));
  for (const auto& f : files) {
    if (f.find(".pending") != std::string::npos) continue;
    auto l = Lines(ReadFile(path + "/" + f));
    lines.insert(lines.end(), l.begin(), l.end());
  }
  return lines;
}

Configuration QuietConfig() {
  Configuration c;
  c.Set("restart-strategy.type", "none");
  return c;
}

class RunningSum final : public KeyedProcessFunction<int, int64_t, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    sum_ = ctx.GetState(ValueStateDescriptor<int64_t>("sum"));
  }
  void ProcessElement(const int64_t& v, Context&, Collector<std::string>& out) override {
    int64_t s = sum_.ValueOr(0) + v;
    sum_.Update(s);
    out.Collect(std::to_string(s));
  }

 private:
  ValueState<int64_t> sum_;
};

TEST(PipelineTest, SeedJobWritesTheExactFile) {
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.FromSequence(0, 5000)
      .Map([](int64_t i) -> int64_t { return i < 5000 ? 0 : 1000; })
      .KeyBy([](int64_t) { return 0; })
      .Process(RunningSum())
      .WriteAsText(dir.Join("sums.txt"), WriteMode::kOverwrite);
  JobResult r = env.Execute("seed");
  ASSERT_TRUE(r.ok()) << r.error();
  std::string expected;
  for (int i = 0; i < 5000; ++i) expected += "0\n";
  expected += "1000\n";
  EXPECT_EQ(ReadFile(dir.Join("sums.txt")), expected);
  EXPECT_EQ(r.metrics.status, JobStatus::kFinished);
  ASSERT_EQ(r.metrics.operators.size(), 4u);
  for (const auto& op : r.metrics.operators) EXPECT_EQ(op.records, 5001u) << op.name;
}

// (key, count, sum) per record through filter, map, key-by, keyed process and a sink, checked
// against a sequential model. Parallel subtasks interleave, so lines are compared per key.
class MultiOperatorTest : public ::testing::TestWithParam<int> {};

class CountSum final : public KeyedProcessFunction<int64_t, std::pair<int64_t, int64_t>,
                                                   std::tuple<int64_t, int64_t, int64_t>> {
 public:
  void Open(RuntimeContext& ctx) override {
    count_ = ctx.GetState(ValueStateDescriptor<int64_t>("count"));
    sum_ = ctx.GetReducingState(ReducingStateDescriptor<int64_t>(
        "sum", [](const int64_t& a, const int64_t& b) { return a + b; }));
  }
  void ProcessElement(const std::pair<int64_t, int64_t>& r, Context& ctx,
                      Collector<std::tuple<int64_t, int64_t, int64_t>>& out) override {
    EXPECT_EQ(ctx.current_key(), r.first);
    count_.Update(count_.ValueOr(0) + 1);
    sum_.Add(r.second);
    out.Collect({r.first, *count_.Value(), *sum_.Get()});
  }

 private:
  ValueState<int64_t> count_;
  ReducingState<int64_t> sum_;
};

TEST_P(MultiOperatorTest, KeyedCountsAndSumsMatchAModel) {
  const int parallelism = GetParam();
  const int64_t n = 40'000;
  const int64_t keys = 97;
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.SetParallelism(parallelism);
  env.FromSequence(1, n)
      .Filter([](int64_t i) { return i % 3 != 0; })
      .Map([keys](int64_t i) { return std::pair<int64_t, int64_t>(i % keys, i); })
      .KeyBy([](const std::pair<int64_t, int64_t>& r) { return r.first; })
      .Process(CountSum())
      .Map([](const std::tuple<int64_t, int64_t, int64_t>& t) {
        return std::to_string(std::get<0>(t)) + "," + std::to_string(std::get<1>(t)) + "," +
               std::to_string(std::get<2>(t));
      })
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("multi-operator");
  ASSERT_TRUE(r.ok()) << r.error();

  // Per key: counts 1..c each appear once, and the increments between consecutive sums are
  // exactly the key's values (in some order: parallel sources interleave). A record lost or
  // counted twice breaks this.
  std::map<int64_t, std::multiset<int64_t>> values;
  for (int64_t i = 1; i <= n; ++i) {
    if (i % 3 != 0) values[i % keys].insert(i);
  }
  std::map<int64_t, std::map<int64_t, int64_t>> seen;  // key -> count -> sum
  auto lines = OutputLines(dir.Join("out"));
  for (const auto& line : lines) {
    int64_t k, c, s;
    ASSERT_EQ(std::sscanf(line.c_str(), "%ld,%ld,%ld", &k, &c, &s), 3) << line;
    ASSERT_TRUE(seen[k].emplace(c, s).second) << "duplicate: " << line;
  }
  ASSERT_EQ(seen.size(), values.size());
  size_t total = 0;
  for (const auto& [k, vs] : values) {
    ASSERT_EQ(seen[k].size(), vs.size()) << "key " << k;
    std::multiset<int64_t> increments;
    int64_t previous = 0;
    for (const auto& [count, sum] : seen[k]) {
      increments.insert(sum - previous);
      previous = sum;
    }
    EXPECT_EQ(increments, vs) << "key " << k;
    total += vs.size();
  }
  EXPECT_EQ(lines.size(), total);
  if (parallelism > 1) {
    EXPECT_EQ(ListFilesRecursive(dir.Join("out")).size(), static_cast<size_t>(parallelism));
  }
}

INSTANTIATE_TEST_SUITE_P(Parallelism, MultiOperatorTest, ::testing::Values(1, 4));

// Keys that are pairs of integers, in runs of one key of random lengths, with event time (the
// keyed operator's path that looks a batch's keys up first): each record must see its own
// key's state, whether the key is new in the batch, repeats the last record's or comes back.
using PairKey = std::pair<int64_t, int32_t>;
class CountPerPairKey final : public KeyedProcessFunction<PairKey, PairKey, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    count_ = ctx.GetState(ValueStateDescriptor<int64_t>("count"));
  }
  void ProcessElement(const PairKey& r, Context& ctx, Collector<std::string>& out) override {
    if (ctx.current_key() != r) throw std::logic_error("the current key is not the record's");
    count_.Update(count_.ValueOr(0) + 1);
    out.Collect(std::to_string(r.first) + "," + std::to_string(r.second) + "," +
                std::to_string(*count_.Value()));
  }

 private:
  ValueState<int64_t> count_;
};

class PairKeyRunsTest : public ::testing::TestWithParam<int> {};

TEST_P(PairKeyRunsTest, EachRecordSeesItsOwnKeysCount) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 random(seed);
  std::vector<PairKey> keys;  // runs of 1 to 40 records of one of 12 keys
  while (keys.size() < 30'000) {
    const PairKey key(static_cast<int64_t>(random() % 4) << 40, static_cast<int32_t>(random() % 3));
    keys.insert(keys.end(), 1 + random() % 40, key);
  }
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.SetParallelism(GetParam());
  env.FromSequence(0, static_cast<int64_t>(keys.size()) - 1)
      .SetParallelism(1)  // the runs stay in order to each keyed subtask
      .AssignTimestampsAndWatermarks(WatermarkStrategy<int64_t>::ForMonotonousTimestamps()
                                         .WithTimestampAssigner([](const int64_t& i, int64_t) { return i; }))
      .SetParallelism(1)
      .Map([keys](int64_t i) { return keys[static_cast<size_t>(i)]; })
      .SetParallelism(1)
      .KeyBy([](const PairKey& k) { return k; })
      .Process(CountPerPairKey())
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("pair keys in runs");
  ASSERT_TRUE(r.ok()) << r.error() << " (seed " << seed << ")";

  // A key's lines, in the order its records came, count 1, 2, 3, ...
  std::map<PairKey, int64_t> expected;
  for (const PairKey& k : keys) ++expected[k];
  std::map<PairKey, int64_t> last;
  const auto lines = OutputLines(dir.Join("out"));
  ASSERT_EQ(lines.size(), keys.size()) << "seed " << seed;
  for (const auto& line : lines) {
    int64_t first, count;
    int32_t second;
    ASSERT_EQ(std::sscanf(line.c_str(), "%ld,%d,%ld", &first, &second, &count), 3) << line;
    int64_t& seen = last[PairKey(first, second)];
    ASSERT_EQ(count, seen + 1) << line << " (seed " << seed << ")";
    seen = count;
  }
  EXPECT_EQ(last, expected) << "seed " << seed;
}

INSTANTIATE_TEST_SUITE_P(Parallelism, PairKeyRunsTest, ::testing::Values(1, 2));

// Random operations on every kind of keyed state, per key, against a std::map model. The
// function emits a digest of its state after each record; the test recomputes the digests.
struct Op {
  int32_t key;
  int32_t kind;  // 0 value set, 1 value clear, 2 list add, 3 list clear, 4 map put, 5 map remove
  int32_t arg;
};

}  // namespace

template <>
struct Codec<Op> : FieldsCodec<Op, &Op::key, &Op::kind, &Op::arg> {};

namespace {

struct ModelState {
  std::optional<int32_t> value;
  std::vector<int32_t> list;
  std::map<int32_t, int32_t> map;
  int64_t reduced = 0;
};

std::string Digest(int32_t key, const ModelState& s) {
  std::string d = std::to_string(key) + "|" + (s.value ? std::to_string(*s.value) : "-") + "|";
  for (int32_t v : s.list) d += std::to_string(v) + ",";
  d += "|";
  for (const auto& [k, v] : s.map) d += std::to_string(k) + ":" + std::to_string(v) + ",";
  return d + "|" + std::to_string(s.reduced);
}

class StateOps final : public KeyedProcessFunction<int32_t, Op, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    value_ = ctx.GetState(ValueStateDescriptor<int32_t>("value"));
    list_ = ctx.GetListState(ListStateDescriptor<int32_t>("list"));
    map_ = ctx.GetMapState(MapStateDescriptor<int32_t, int32_t>("map"));
    reduced_ = ctx.GetReducingState(ReducingStateDescriptor<int64_t>(
        "reduced",
        [](const int64_t& a, const int64_t& b) { return (a * 31 + b) % 1'000'000'007; }));
  }
  void ProcessElement(const Op& op, Context& ctx, Collector<std::string>& out) override {
    switch (op.kind) {
      case 0:
        value_.Update(op.arg);
        break;
      case 1:
        value_.Clear();
        break;
      case 2:
        list_.Add(op.arg);
        break;
      case 3:
        list_.Clear();
        break;
      case 4:
        map_.Put(op.arg % 5, op.arg);
        break;
      case 5:
        map_.Remove(op.arg % 5);
        break;
    }
    reduced_.Add(op.arg % 1000);
    ModelState s;
    s.value = value_.Value();
    s.list = list_.Get();
    for (const auto& [k, v] : map_.Entries()) s.map[k] = v;
    s.reduced = reduced_.Get().value_or(0);
    out.Collect(Digest(ctx.current_key(), s));
  }

 private:
  ValueState<int32_t> value_;
  ListState<int32_t> list_;
  MapState<int32_t, int32_t> map_;
  ReducingState<int64_t> reduced_;
};

// Past 65,536 keys a subtask's heap index outgrows the caches and the keyed operator hashes
// each batch first and prefetches the index ahead of the records: the keys, their order and
// their state must come out exactly as a record at a time, also while snapshots run.
TEST(PipelineTest, ManyKeysInRandomOrderKeepEveryKeysState) {
  const int64_t keys = 150'000, rounds = 3;
  const uint64_t seed = testing::TestSeed();
  std::vector<int64_t> perm(keys);
  for (int64_t k = 0; k < keys; ++k) perm[k] = k * 7919;  // keys spread over the key groups
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(seed));
  TempDir dir;
  Configuration c = QuietConfig();
  c.Set("execution.checkpointing.interval", "20 ms");
  c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
  StreamExecutionEnvironment env(c);
  env.SetParallelism(1);
  env.FromSequence(0, keys * rounds - 1)
      .Map([&perm, keys](int64_t i) {
        return std::pair<int64_t, int64_t>(perm[static_cast<size_t>(i % keys)], i);
      })
      .KeyBy([](const std::pair<int64_t, int64_t>& r) { return r.first; })
      .Process(CountSum())
      .Filter([rounds](const std::tuple<int64_t, int64_t, int64_t>& t) {
        return std::get<1>(t) == rounds;
      })
      .Map([](const std::tuple<int64_t, int64_t, int64_t>& t) {
        return std::to_string(std::get<0>(t)) + "," + std::to_string(std::get<2>(t));
      })
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("many-keys");
  ASSERT_TRUE(r.ok()) << r.error();

  std::map<int64_t, int64_t> want;  // key -> sum of its records' positions
  for (int64_t i = 0; i < keys * rounds; ++i) want[perm[static_cast<size_t>(i % keys)]] += i;
  std::map<int64_t, int64_t> got;
  for (const auto& line : OutputLines(dir.Join("out"))) {
    int64_t k, sum;
    ASSERT_EQ(std::sscanf(line.c_str(), "%ld,%ld", &k, &sum), 2) << line;
    ASSERT_TRUE(got.emplace(k, sum).second) << "duplicate: " << line << " (seed " << seed << ")";
  }
  EXPECT_EQ(got, want) << "seed " << seed;
}

// Every keyed state backend: the heap one, and RocksDB.
class StateBackendPipelineTest : public ::testing::TestWithParam<std::string> {
 protected:
  // With `checkpoints`, RocksDB takes incremental checkpoints often, so snapshots run while
  // state changes.
  Configuration BackendConfig(const TempDir& dir, bool checkpoints) {
    Configuration c = QuietConfig();
    c.Set("state.backend.type", GetParam());
    c.Set("state.backend.rocksdb.localdir", dir.Join("rocksdb"));
    if (checkpoints && GetParam() == "rocksdb") {
      c.Set("execution.checkpointing.interval", "10 ms");
      c.Set("execution.checkpointing.incremental", "true");
      c.Set("execution.checkpointing.dir", dir.Join("checkpoints"));
    }
    return c;
  }
};

TEST_P(StateBackendPipelineTest, EveryStateKindMatchesAModelAcrossManyKeys) {
  std::mt19937_64 rng(testing::TestSeed());
  std::vector<Op> ops;
  for (int i = 0; i < 20'000; ++i) {
    ops.push_back(Op{static_cast<int32_t>(rng() % 500), static_cast<int32_t>(rng() % 6),
                     static_cast<int32_t>(rng() % 100'000)});
  }
  std::map<int32_t, ModelState> model;
  std::multiset<std::string> expected;
  // ReducingState: the first Add stores the value, later ones fold it in.
  std::map<int32_t, bool> has_reduced;
  for (const Op& op : ops) {
    ModelState& s = model[op.key];
    switch (op.kind) {
      case 0:
        s.value = op.arg;
        break;
      case 1:
        s.value.reset();
        break;
      case 2:
        s.list.push_back(op.arg);
        break;
      case 3:
        s.list.clear();
        break;
      case 4:
        s.map[op.arg % 5] = op.arg;
        break;
      case 5:
        s.map.erase(op.arg % 5);
        break;
    }
    s.reduced =
        has_reduced[op.key] ? (s.reduced * 31 + op.arg % 1000) % 1'000'000'007 : op.arg % 1000;
    has_reduced[op.key] = true;
    expected.insert(Digest(op.key, s));
  }

  TempDir dir;
  StreamExecutionEnvironment env(BackendConfig(dir, /*checkpoints=*/true));
  env.SetParallelism(4);
  env.FromCollection(ops)
      .KeyBy([](const Op& op) { return op.key; })
      .Process(StateOps())
      .WriteAsText(dir.Join("digests"), WriteMode::kOverwrite);
  JobResult r = env.Execute("state-model");
  ASSERT_TRUE(r.ok()) << r.error();
  auto lines = OutputLines(dir.Join("digests"));
  std::multiset<std::string> got(lines.begin(), lines.end());
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
  // The state backends' working directories are gone with the job.
  EXPECT_TRUE(ListFilesRecursive(dir.Join("rocksdb")).empty());
}

// Sums per key, each line naming the key the context reports: the keyed operator looks a key
// up once per run of equal keys, so runs of every length, within a batch and across batches,
// must keep each key's state apart.
template <typename K>
class KeyedRunningSum final : public KeyedProcessFunction<K, std::pair<K, int64_t>, std::string> {
 public:
  using Context = typename KeyedProcessFunction<K, std::pair<K, int64_t>, std::string>::Context;
  void Open(RuntimeContext& ctx) override {
    sum_ = ctx.GetState(ValueStateDescriptor<int64_t>("sum"));
  }
  void ProcessElement(const std::pair<K, int64_t>& r, Context& ctx,
                      Collector<std::string>& out) override {
    const int64_t sum = sum_.ValueOr(0) + r.second;
    sum_.Update(sum);
    std::ostringstream line;
    line << ctx.current_key() << ":" << sum;
    out.Collect(line.str());
  }

 private:
  ValueState<int64_t> sum_;
};

template <typename K>
void ExpectRunsOfKeysKeepTheirState(const Configuration& config, const std::string& out,
                                    K (*key_of)(int)) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  std::vector<std::pair<K, int64_t>> records;
  while (records.size() < 20'000) {
    // Runs of 1 to 3000 records (batches hold 1024), of one of 7 keys, often the same again.
    const int key = static_cast<int>(rng() % 7);
    const size_t run = 1 + (rng() % 4 == 0 ? rng() % 3000 : rng() % 5);
    for (size_t i = 0; i < run; ++i) {
      records.emplace_back(key_of(key), static_cast<int64_t>(rng() % 1000));
    }
  }
  std::vector<std::string> expected;
  std::map<K, int64_t> sums;
  for (const auto& [key, v] : records) {
    std::ostringstream line;
    line << key << ":" << (sums[key] += v);
    expected.push_back(line.str());
  }
  StreamExecutionEnvironment env(config);
  env.SetParallelism(1);
  env.FromCollection(records)
      .KeyBy([](const std::pair<K, int64_t>& r) { return r.first; })
      .Process(KeyedRunningSum<K>())
      .WriteAsText(out, WriteMode::kOverwrite);
  JobResult r = env.Execute("runs-of-keys");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(OutputLines(out), expected) << "seed " << seed;
}

TEST_P(StateBackendPipelineTest, RunsOfOneKeyKeepEachKeysState) {
  TempDir dir;
  const Configuration config = BackendConfig(dir, /*checkpoints=*/true);
  ExpectRunsOfKeysKeepTheirState<int64_t>(config, dir.Join("ints"),
                                          [](int k) { return int64_t{k} * 1'000'003; });
  ExpectRunsOfKeysKeepTheirState<std::string>(config, dir.Join("strings"), [](int k) {
    return k == 0 ? std::string() : "key-" + std::string(static_cast<size_t>(k) * 5, 'x');
  });
}

TEST(PipelineTest, FlatMapRebalanceAndParallelSinksKeepEveryRecord) {
  TempDir dir;
  std::vector<std::string> sentences;
  for (int i = 0; i < 2000; ++i) {
    sentences.push_back("w" + std::to_string(i) + " x" + std::to_string(i) + " y" +
                        std::to_string(i));
  }
  StreamExecutionEnvironment env(QuietConfig());
  env.SetParallelism(3);
  env.FromCollection(sentences)
      .FlatMap([](const std::string& s, Collector<std::string>& out) {
        std::istringstream in(s);
        for (std::string w; in >> w;) out.Collect(w);
      })
      .Rebalance()
      .Map([](const std::string& w) { return w + "!"; })
      .WriteAsText(dir.Join("words"), WriteMode::kOverwrite);
  JobResult r = env.Execute("words");
  ASSERT_TRUE(r.ok()) << r.error();
  auto lines = OutputLines(dir.Join("words"));
  std::set<std::string> got(lines.begin(), lines.end());
  EXPECT_EQ(lines.size(), 6000u);
  EXPECT_EQ(got.size(), 6000u);
  EXPECT_TRUE(got.contains("x1999!"));
  // Rebalance spread the words over all three sink files.
  for (const auto& f : ListFilesRecursive(dir.Join("words"))) {
    EXPECT_GT(Lines(ReadFile(dir.Join("words") + "/" + f)).size(), 1000u) << f;
  }
}

// Counts its copies, to show which functions get their record moved in.
struct Tracked {
  static inline std::atomic<int> copies{0};
  std::string text;

  Tracked() = default;
  explicit Tracked(std::string t) : text(std::move(t)) {}
  Tracked(const Tracked& other) : text(other.text) { ++copies; }
  Tracked& operator=(const Tracked& other) {
    text = other.text;
    ++copies;
    return *this;
  }
  Tracked(Tracked&&) noexcept = default;
  Tracked& operator=(Tracked&&) noexcept = default;
};

TEST(PipelineTest, FunctionsTakingTheRecordByValueGetItMovedIn) {
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.SetParallelism(1);
  Tracked::copies = 0;
  auto tagged =
      env.FromSequence(0, 999)
          .Map([](int64_t i) { return Tracked("record " + std::to_string(i) + " and its text"); })
          .FlatMap([](Tracked t, Collector<Tracked>& out) {
            t.text += " (tagged)";
            out.Collect(std::move(t));
          });
  // Two consumers: the first gets a copy of each record, the last the record itself (by
  // rvalue reference).
  tagged.Map([](Tracked t) { return "a: " + std::move(t.text); })
      .WriteAsText(dir.Join("a"), WriteMode::kOverwrite);
  tagged.Map([](Tracked&& t) { return "b: " + std::move(t.text); })  // moved in, not moved again
      .WriteAsText(dir.Join("b"), WriteMode::kOverwrite);
  JobResult r = env.Execute("moves");
  ASSERT_TRUE(r.ok()) << r.error();
  for (const char* name : {"a", "b"}) {
    auto lines = Lines(ReadFile(dir.Join(name)));
    ASSERT_EQ(lines.size(), 1000u) << name;
    EXPECT_EQ(lines[999], std::string(name) + ": record 999 and its text (tagged)");
  }
  EXPECT_EQ(Tracked::copies.load(), 1000);  // the fan-out's, and no other
}

// What the two fan-out tests below write: "kept" has the records of 0..999 that end in 7,
// "all" every record.
void ExpectSevensKeptBesideAll(const TempDir& dir) {
  const auto kept = Lines(ReadFile(dir.Join("kept")));
  ASSERT_EQ(kept.size(), 100u);
  EXPECT_EQ(kept[0], "kept record 7");
  EXPECT_EQ(kept[99], "kept record 997");
  const auto all = Lines(ReadFile(dir.Join("all")));
  ASSERT_EQ(all.size(), 1000u);
  EXPECT_EQ(all[999], "record 999");
}

// A filter that shares its input with another consumer copies only the records it keeps, as
// Nexmark's queries of persons and auctions from one stream of events do.
TEST(PipelineTest, AFilterBesideAnotherConsumerCopiesOnlyWhatItKeeps) {
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.SetParallelism(1);
  auto records = env.FromSequence(0, 999).Map(
      [](int64_t i) { return Tracked("record " + std::to_string(i)); });
  Tracked::copies = 0;
  records.Filter([](const Tracked& t) { return t.text.ends_with("7"); })  // 1 in 10
      .Map([](Tracked t) { return "kept " + std::move(t.text); })
      .WriteAsText(dir.Join("kept"), WriteMode::kOverwrite);
  records.Map([](Tracked t) { return std::move(t.text); })
      .WriteAsText(dir.Join("all"), WriteMode::kOverwrite);
  JobResult r = env.Execute("filter beside another consumer");
  ASSERT_TRUE(r.ok()) << r.error();
  ExpectSevensKeptBesideAll(dir);
  EXPECT_EQ(Tracked::copies.load(), 100);  // the kept records' only
}

// The same for a flat_map whose function also takes the record by const reference: on a
// branch of the fan-out it gets it so, and copies only what it emits (as Nexmark's events of one
// kind do); where it is the record's last reader it gets it by rvalue reference.
TEST(PipelineTest, AFlatMapBesideAnotherConsumerCopiesOnlyWhatItEmits) {
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.SetParallelism(1);
  auto records = env.FromSequence(0, 999).Map(
      [](int64_t i) { return Tracked("record " + std::to_string(i)); });
  struct KeepSevens {
    void operator()(Tracked&& t, Collector<Tracked>& out) const {
      if (t.text.ends_with("7")) out.Collect(std::move(t));
    }
    void operator()(const Tracked& t, Collector<Tracked>& out) const {
      if (t.text.ends_with("7")) out.Collect(t);
    }
  };
  Tracked::copies = 0;
  records.FlatMap<Tracked>(KeepSevens{})
      .Map([](Tracked&& t) { return "kept " + std::move(t.text); })
      .WriteAsText(dir.Join("kept"), WriteMode::kOverwrite);
  records.Map([](Tracked&& t) { return std::move(t.text); })
      .WriteAsText(dir.Join("all"), WriteMode::kOverwrite);
  JobResult r = env.Execute("flat_map beside another consumer");
  ASSERT_TRUE(r.ok()) << r.error();
  ExpectSevensKeptBesideAll(dir);
  EXPECT_EQ(Tracked::copies.load(), 100);  // the emitted records' only
}

// The same with event time: the filter's copies keep their own timestamps, and the other
// consumer's records theirs, through a fan-out and a network edge each.
TEST(PipelineTest, AFilterBesideAnotherConsumerKeepsEachRecordsTimestamp) {
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.SetParallelism(1);
  auto records =
      env.FromSequence(0, 999)
          .AssignTimestampsAndWatermarks(
              WatermarkStrategy<int64_t>::ForMonotonousTimestamps().WithTimestampAssigner(
                  [](const int64_t& i, int64_t) { return 5000 + 10 * i; }))
          .Map([](int64_t i) { return Tracked(std::to_string(i)); });
  class WithTimestamp final : public ProcessFunction<Tracked, std::string> {
   public:
    explicit WithTimestamp(std::string prefix) : prefix_(std::move(prefix)) {}
    void ProcessElement(const Tracked& t, Context& ctx, Collector<std::string>& out) override {
      out.Collect(prefix_ + t.text + "@" + std::to_string(ctx.timestamp().value_or(-1)));
    }

   private:
    std::string prefix_;
  };
  Tracked::copies = 0;
  records.Filter([](const Tracked& t) { return t.text.ends_with("3"); })
      .Rebalance()
      .Process(WithTimestamp("kept "))
      .WriteAsText(dir.Join("kept"), WriteMode::kOverwrite);
  records.Rebalance()
      .Process(WithTimestamp(""))
      .WriteAsText(dir.Join("all"), WriteMode::kOverwrite);
  JobResult r = env.Execute("filter beside another consumer, with timestamps");
  ASSERT_TRUE(r.ok()) << r.error();
  const auto kept = Lines(ReadFile(dir.Join("kept")));
  ASSERT_EQ(kept.size(), 100u);
  for (size_t k = 0; k < kept.size(); ++k) {
    const int64_t i = 10 * static_cast<int64_t>(k) + 3;
    ASSERT_EQ(kept[k], "kept " + std::to_string(i) + "@" + std::to_string(5000 + 10 * i));
  }
  const auto all = Lines(ReadFile(dir.Join("all")));
  ASSERT_EQ(all.size(), 1000u);
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i], std::to_string(i) + "@" + std::to_string(5000 + 10 * i));
  }
  EXPECT_EQ(Tracked::copies.load(), 100);
}

// Generic functions: auto& binds the record as const (it cannot bind the rvalue a function of
// T&& gets), auto&& gets it moved in.
TEST(PipelineTest, MapTakesGenericFunctions) {
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.SetParallelism(1);
  env.FromSequence(1, 4)
      .Map([](auto& i) { return std::to_string(i * 10); })
      .Map([](auto&& s) { return std::move(s) + "!"; })
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("generic maps");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(Lines(ReadFile(dir.Join("out"))),
            (std::vector<std::string>{"10!", "20!", "30!", "40!"}));
}

TEST_P(StateBackendPipelineTest, ProcessingTimeTimersFirePerKeyOnceWithDeduplication) {
  ManualClock clock;
  TempDir dir;

  class TimerFn final : public KeyedProcessFunction<int, int64_t, std::string> {
   public:
    void ProcessElement(const int64_t& i, Context& ctx, Collector<std::string>& out) override {
      if (i < 100) {
        int64_t t = ctx.timer_service().CurrentProcessingTime() + 500;
        ctx.timer_service().RegisterProcessingTimeTimer(t);
        ctx.timer_service().RegisterProcessingTimeTimer(t);  // deduplicated
        if (ctx.current_key() == 3) ctx.timer_service().DeleteProcessingTimeTimer(t);
      }
    }
    void OnTimer(int64_t ts, Context& ctx, Collector<std::string>& out) override {
      const bool told = ctx.timestamp() == ts && ctx.time_domain() == TimeDomain::kProcessingTime;
      out.Collect("timer " + std::to_string(ctx.current_key()) + " " + std::to_string(ts) +
                  (told ? "" : " (the context did not say the timer's time and clock)"));
    }
  };

  StreamExecutionEnvironment env(BackendConfig(dir, /*checkpoints=*/false));
  env.SetClockForTesting(&clock);
  const int64_t start = clock.WallMillis();
  env.FromSequence(0, 50'000)
      .Map([&clock](int64_t i) {
        // Move processing time forward while records still flow, so timers are due before
        // the input ends (timers still pending at the end are not fired, as in Flink).
        if (i == 10'000) clock.AdvanceMillis(1000);
        return i;
      })
      .KeyBy([](int64_t i) { return static_cast<int>(i % 10); })
      .Process(TimerFn())
      .WriteAsText(dir.Join("timers"), WriteMode::kOverwrite);
  JobResult r = env.Execute("timers");
  ASSERT_TRUE(r.ok()) << r.error();
  auto lines = Lines(ReadFile(dir.Join("timers")));
  std::set<std::string> got(lines.begin(), lines.end());
  std::set<std::string> expected;
  for (int k = 0; k < 10; ++k) {
    if (k != 3) expected.insert("timer " + std::to_string(k) + " " + std::to_string(start + 500));
  }
  EXPECT_EQ(lines.size(), 9u);
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Backends, StateBackendPipelineTest,
                         ::testing::Values("hashmap", "rocksdb"),
                         [](const auto& info) { return info.param; });

TEST(PipelineTest, ExceptionInAMapFailsTheJobNamingOperatorAndSubtask) {
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.SetParallelism(2);
  env.FromSequence(0, 100'000)
      .Map([](int64_t i) {
        if (i == 77'777) throw std::runtime_error("boom at 77777");
        return i;
      })
      .Name("exploding-map")
      .KeyBy([](int64_t i) { return static_cast<int>(i % 5); })
      .Process(RunningSum())
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  auto start = std::chrono::steady_clock::now();
  JobResult r = env.Execute("failing");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.metrics.status, JobStatus::kFailed);
  EXPECT_EQ(r.status.code(), StatusCode::kUserFunction);
  EXPECT_NE(r.error().find("operator 'exploding-map' (subtask 1)"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("boom at 77777"), std::string::npos) << r.error();
}

TEST(PipelineTest, ExceptionInAProcessFunctionFailsTheJob) {
  class Throws final : public KeyedProcessFunction<int, int64_t, std::string> {
   public:
    void ProcessElement(const int64_t& i, Context&, Collector<std::string>&) override {
      if (i == 300) throw std::logic_error("bad record 300");
    }
  };
  TempDir dir;
  StreamExecutionEnvironment env(QuietConfig());
  env.FromSequence(0, 1000)
      .KeyBy([](int64_t) { return 1; })
      .Process(Throws())
      .Name("strict")
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("failing process");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("operator 'strict' (subtask 0) failed: bad record 300"),
            std::string::npos)
      << r.error();
}

TEST(PipelineTest, NoOverwriteRefusesAnExistingFile) {
  TempDir dir;
  testing::WriteFile(dir.Join("exists.txt"), "keep me\n");
  StreamExecutionEnvironment env(QuietConfig());
  env.FromSequence(0, 10).WriteAsText(dir.Join("exists.txt"));
  JobResult r = env.Execute("no-overwrite");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("exists"), std::string::npos) << r.error();
  EXPECT_EQ(ReadFile(dir.Join("exists.txt")), "keep me\n");
}

TEST(PipelineTest, BadJobsAreRejectedBeforeRunning) {
  {
    StreamExecutionEnvironment env(QuietConfig());
    env.FromSequence(0, 10).Map([](int64_t i) { return i; });
    JobResult r = env.Execute("no sink");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("no sink"), std::string::npos) << r.error();
  }
  {
    StreamExecutionEnvironment env(QuietConfig());
    env.FromSequence(10, 0).Print();
    JobResult r = env.Execute("backwards");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("'from' must not be greater than 'to'"), std::string::npos);
  }
  {
    Configuration c = QuietConfig();
    c.Set("execution.checkpointing.interval", "often", "-D");
    StreamExecutionEnvironment env(c);
    env.FromSequence(0, 10).Print();
    JobResult r = env.Execute("bad config");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("execution.checkpointing.interval = 'often' (from -D)"),
              std::string::npos)
        << r.error();
  }
}

}  // namespace
}  // namespace weir
