// A keyed job for end-to-end tests: records 0..n-1 become (key = i % keys, value = 1 + i % 7)
// and go, keyed, to a running count and sum per key written as "key,count,sum" lines. Values
// are never zero, so a record lost or counted twice changes every later line of its key; the
// source runs at parallelism 1 by default, so each output file's content is determined.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/sequence_source.h"
#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir::testing {

using KeyValue = std::pair<int32_t, int64_t>;

class CountSum final : public KeyedProcessFunction<int32_t, KeyValue, std::string> {
 public:
  void Open(RuntimeContext& ctx) override {
    count_ = ctx.GetState(ValueStateDescriptor<int64_t>("count"));
    sum_ = ctx.GetState(ValueStateDescriptor<int64_t>("sum"));
  }
  void ProcessElement(const KeyValue& r, Context& ctx, Collector<std::string>& out) override {
    int64_t c = count_.ValueOr(0) + 1;
    int64_t s = sum_.ValueOr(0) + r.second;
    count_.Update(c);
    sum_.Update(s);
    out.Collect(std::to_string(ctx.current_key()) + "," + std::to_string(c) + "," +
                std::to_string(s));
  }

 private:
  ValueState<int64_t> count_;
  ValueState<int64_t> sum_;
};

struct JobSpec {
  int64_t records = 50'000;
  int keys = 50;
  int source_parallelism = 1;
  int keyed_parallelism = 2;
  std::string output;
  // Called for every record in the source task (failure injection, slowing down).
  std::function<void(int64_t)> on_record;
  // Called at every start of the source's enumerator, fresh or restored (failure injection);
  // when set, the sequence comes through FromSource.
  std::function<void()> on_enumerator_start;
};

// The sequence source, calling `hook` each time its enumerator is made.
class HookedSequenceSource final : public Source<int64_t, SequenceSplit, std::vector<SequenceSplit>> {
 public:
  HookedSequenceSource(int64_t from, int64_t to, std::function<void()> hook)
      : inner_(from, to), hook_(std::move(hook)) {}

  std::unique_ptr<SequenceSource::Enumerator> CreateEnumerator(
      SplitEnumeratorContext<SequenceSplit>& context) const override {
    hook_();
    return inner_.CreateEnumerator(context);
  }
  std::unique_ptr<SequenceSource::Enumerator> RestoreEnumerator(
      SplitEnumeratorContext<SequenceSplit>& context,
      std::vector<SequenceSplit> state) const override {
    hook_();
    return inner_.RestoreEnumerator(context, std::move(state));
  }
  std::unique_ptr<SourceReader<int64_t, SequenceSplit>> CreateReader(
      SourceReaderContext& context) const override {
    return inner_.CreateReader(context);
  }
  std::string split_state_name() const override { return inner_.split_state_name(); }

 private:
  SequenceSource inner_;
  std::function<void()> hook_;
};

// Source (p=1 by default, so each keyed subtask sees its keys in sequence order) -> map to
// (key, value) -> keyed running count and sum -> text sink.
void BuildCountJob(StreamExecutionEnvironment& env, const JobSpec& spec) {
  auto hook = spec.on_record;
  int keys = spec.keys;
  auto source = spec.on_enumerator_start
                    ? env.FromSource(HookedSequenceSource(0, spec.records - 1, spec.on_enumerator_start),
                                     WatermarkStrategy<int64_t>::NoWatermarks(), "Sequence Source")
                    : env.FromSequence(0, spec.records - 1);
  source.SetParallelism(spec.source_parallelism)
      .Map([hook, keys](int64_t i) {
        if (hook) hook(i);
        return KeyValue(static_cast<int32_t>(i % keys), 1 + i % 7);
      })
      .SetParallelism(spec.source_parallelism)
      .Uid("to-key-value")
      .KeyBy([](const KeyValue& r) { return r.first; })
      .Process(CountSum())
      .SetParallelism(spec.keyed_parallelism)
      .Uid("count-sum")
      .WriteAsText(spec.output, WriteMode::kOverwrite)
      .SetParallelism(spec.keyed_parallelism)
      .Uid("sink");
}

// Checks that the lines hold, for every key, counts 1..c exactly once with the running sum of
// the key's values in sequence order. With `complete`, c covers all the key's records.
void ExpectExactCountSums(const std::map<std::string, std::string>& files, const JobSpec& spec,
                          bool complete = true) {
  std::map<int32_t, std::map<int64_t, int64_t>> seen;
  for (const auto& [name, text] : files) {
    for (const auto& line : Lines(text)) {
      int k;
      long c, s;
      ASSERT_EQ(std::sscanf(line.c_str(), "%d,%ld,%ld", &k, &c, &s), 3) << name << ": " << line;
      ASSERT_TRUE(seen[k].emplace(c, s).second) << "line counted twice: " << line;
    }
  }
  std::map<int32_t, std::vector<int64_t>> sums;
  for (int64_t i = 0; i < spec.records; ++i) {
    auto& v = sums[static_cast<int32_t>(i % spec.keys)];
    v.push_back((v.empty() ? 0 : v.back()) + 1 + i % 7);
  }
  for (const auto& [k, expected] : sums) {
    const auto& got = seen[k];
    if (complete) {
      ASSERT_EQ(got.size(), expected.size()) << "key " << k;
    }
    int64_t c = 1;
    for (const auto& [count, sum] : got) {
      ASSERT_EQ(count, c++) << "key " << k << ": a count is missing";
      ASSERT_EQ(sum, expected[static_cast<size_t>(count - 1)]) << "key " << k << " count " << count;
    }
  }
}

// An on_record hook that throws once, at record `at` (the restart must not fail again).
std::function<void(int64_t)> FailOnceAt(int64_t at) {
  auto failed = std::make_shared<std::atomic<bool>>(false);
  return [failed, at](int64_t i) {
    if (i == at && !failed->exchange(true)) throw std::runtime_error("once");
  };
}

// Slows the source down (at least 5 ms per 1,000 records, whatever the backend), so a job
// spans several checkpoints.
void Throttle(int64_t i) {
  if (i % 200 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// Waits, polling the client, until `pred(metrics)` holds or the job ends.
bool WaitFor(JobClient& client, const std::function<bool(const JobMetrics&)>& pred) {
  for (int i = 0; i < 20'000; ++i) {
    JobMetrics m = client.metrics();
    if (pred(m)) return true;
    if (m.status == JobStatus::kFinished || m.status == JobStatus::kFailed ||
        m.status == JobStatus::kCanceled) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// Runs the job once without failures and returns its output files.
std::map<std::string, std::string> ReferenceOutput(JobSpec spec) {
  TempDir dir;
  spec.output = dir.Join("reference");
  spec.on_record = nullptr;
  Configuration c;
  c.Set("restart-strategy.type", "none");
  StreamExecutionEnvironment env(c);
  BuildCountJob(env, spec);
  JobResult r = env.Execute("reference");
  EXPECT_TRUE(r.ok()) << r.error();
  return OutputFiles(spec.output);
}

}  // namespace weir::testing
