// The Nexmark queries on weir give the same result with checkpoints and a failure + restore,
// and after a restore at another parallelism, as in a plain run: the source resumes each split
// exactly after the events a checkpoint covers, and the queries' keyed state and event-time
// timers come back with it. On both state backends. (Equality with Flink: check_weir.sh.)
#include <gtest/gtest.h>
#include <weir/weir.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "nexmark_source.h"
#include "queries.h"
#include "job_test_util.h"
#include "testing/test_util.h"

namespace weir::nexmark {
namespace {

using testing::Backend;
using testing::ConfigFor;
using testing::HasCompletedCheckpoint;
using testing::kBackends;
using testing::OutputFiles;
using testing::TempDir;

constexpr int kSplits = 2;
constexpr int64_t kEvents = 60'000;  // 30 s of event time per split at 1,000 events/s

const Query& QueryNamed(std::string_view name) {
  for (const Query& q : AllQueries()) {
    if (q.name == name) return q;
  }
  throw std::invalid_argument("no query " + std::string(name));
}

// The query's result as check_weir.sh compares it: sorted lines; for q4 (an update per closed
// auction) the last line per category.
std::vector<std::string> Result(std::string_view query, const std::string& out) {
  std::vector<std::string> lines;
  for (const auto& [name, text] : OutputFiles(out)) {
    std::vector<std::string> file = testing::Lines(text);
    if (query == "q4") {
      std::map<std::string, std::string> last;
      for (const auto& l : file) last[l.substr(0, l.find(','))] = l;
      for (const auto& [category, l] : last) lines.push_back(l);
    } else {
      lines.insert(lines.end(), file.begin(), file.end());
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Runs `query` over kEvents events in kSplits splits, at `parallelism`, calling `hook` for
// each event (on its source subtask's thread) before the query sees it.
JobResult RunQuery(Configuration config, std::string_view query, int parallelism,
              std::function<void(int64_t)> hook, const std::string& out) {
  StreamExecutionEnvironment env(std::move(config));
  env.SetParallelism(parallelism);
  GeneratorConfig generator;
  generator.first_event_rate = 1000;
  generator.num_event_generators = kSplits;
  generator.max_events = kEvents;
  auto events = env.FromSource(NexmarkSource(generator, kSplits), NexmarkSource::Watermarks(),
                               "nexmark")
                    .Uid("nexmark");
  if (hook) {
    auto counter = std::make_shared<std::atomic<int64_t>>(0);
    events = events.Map([hook, counter](const Event& e) {
      hook(counter->fetch_add(1));
      return e;
    });
  }
  // One sink subtask: q4's lines of a category stay in order in one file even when a rescale
  // moves the category to another subtask of the query.
  QueryNamed(query)
      .build(events)
      .WriteAsText(out, WriteMode::kOverwrite)
      .SetParallelism(1)
      .Uid("sink");
  return env.Execute(std::string(query));
}

std::vector<std::string> Plain(std::string_view query) {
  TempDir dir;
  Configuration c;
  JobResult r = RunQuery(c, query, kSplits, nullptr, dir.Join("out"));
  EXPECT_TRUE(r.ok()) << r.error();
  return Result(query, dir.Join("out"));
}

void SlowDown(int64_t i) {
  if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::microseconds(1500));
}

class NexmarkRestoreTest : public ::testing::TestWithParam<std::tuple<const char*, Backend>> {};

TEST_P(NexmarkRestoreTest, AFailureAfterACheckpointGivesThePlainRunsResult) {
  const auto& [query, backend] = GetParam();
  std::vector<std::string> expected = Plain(query);
  ASSERT_FALSE(expected.empty());

  TempDir dir;
  std::string checkpoints = dir.Join("checkpoints");
  auto failed = std::make_shared<std::atomic<bool>>(false);
  auto hook = [checkpoints, failed](int64_t i) {
    SlowDown(i);
    if (i >= kEvents / 3 && i % 100 == 0 && !*failed && HasCompletedCheckpoint(checkpoints) &&
        !failed->exchange(true)) {
      throw std::runtime_error("injected failure");
    }
  };
  JobResult r = RunQuery(ConfigFor(dir, backend), query, kSplits, hook,
                    dir.Join("out"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(failed->load());
  EXPECT_GE(r.metrics.restarts, 1);
  EXPECT_EQ(Result(query, dir.Join("out")), expected);
}

// Stopped after a checkpoint at parallelism 2, resumed from it at 3: the splits, keyed state
// and timers are dealt out again.
TEST_P(NexmarkRestoreTest, ARestoreAtAnotherParallelismGivesThePlainRunsResult) {
  const auto& [query, backend] = GetParam();
  std::vector<std::string> expected = Plain(query);

  TempDir dir;
  std::string checkpoints = dir.Join("checkpoints");
  Configuration config = ConfigFor(dir, backend);
  config.Set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
  config.Set("restart-strategy.type", "none");
  auto stop = [checkpoints](int64_t i) {
    SlowDown(i);
    if (i >= kEvents / 3 && i % 100 == 0 && HasCompletedCheckpoint(checkpoints)) {
      throw std::runtime_error("stop the first run");
    }
  };
  JobResult first = RunQuery(config, query, kSplits, stop, dir.Join("out"));
  ASSERT_FALSE(first.ok());
  config.Set("execution.state-recovery.path", "latest");
  JobResult second = RunQuery(config, query, 3, [](int64_t) {}, dir.Join("out"));
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_GT(second.metrics.checkpoints.restored_from_id, 0);
  EXPECT_EQ(Result(query, dir.Join("out")), expected);
}

INSTANTIATE_TEST_SUITE_P(
    QueriesAndBackends, NexmarkRestoreTest,
    ::testing::Combine(::testing::Values("q3", "q4", "q5", "q7", "q8", "q11", "q17"),
                       ::testing::Values(kBackends[0], kBackends[2])),
    [](const auto& info) {
      return std::string(std::get<0>(info.param)) + "_" + std::get<1>(info.param).name;
    });

// The source's events are exactly those of the suite's slices, each once, over 3 subtasks.
TEST(NexmarkSourceTest, TheSplitsAreTheSuitesSlicesAndEveryEventComesOnce) {
  TempDir dir;
  Configuration c;
  StreamExecutionEnvironment env(c);
  env.SetParallelism(3);
  GeneratorConfig generator;
  generator.first_event_rate = 1000;
  generator.num_event_generators = 3;
  generator.max_events = 10'000;
  NexmarkSource source(generator, 3);
  env.FromSource(source, NexmarkSource::Watermarks(), "nexmark")
      .Map([](const Event& e) {
        std::string s;
        AppendCanonicalJson(e, &s);
        s.pop_back();
        return s;
      })
      .WriteAsText(dir.Join("out"), WriteMode::kOverwrite);
  JobResult r = env.Execute("nexmark-source");
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> expected;
  for (const GeneratorConfig& slice : source.slices()) {
    NexmarkGenerator g(slice);
    Event e;
    while (g.HasNext()) {
      g.Next(&e);
      std::string s;
      AppendCanonicalJson(e, &s);
      s.pop_back();
      expected.push_back(s);
    }
  }
  ASSERT_EQ(expected.size(), 10'000u);
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> got;
  for (const auto& [name, text] : OutputFiles(dir.Join("out"))) {
    for (auto& l : testing::Lines(text)) got.push_back(l);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace weir::nexmark
