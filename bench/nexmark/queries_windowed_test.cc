// q5, q7, q8, q11 and q17 on weir against a brute-force evaluation of each query's SQL
// (QUERIES.md), on events from the C++ generator: 50,000 events at 1,000 events/s (50 s of
// event time, so many windows open, fire and slide) from one and from two generators, then
// through a failure and a restore from a checkpoint on every state backend; and the edges of
// q5, q7 and q11 on hand-made events.
//
// The model reads the SQL, not the Flink twins' shape: hopping windows as the set of slides
// that hold a bid, q7's BETWEEN over every window, sessions from the sorted bid times, days
// from gmtime. Nothing in it shares code with queries_windowed.cc.
//
// Set WEIR_NEXMARK_DUMP_DIR to keep each query's sorted lines (qN-P<generators>.txt) there,
// to diff by hand with the Flink jar's output for the same events.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "job_test_util.h"
#include "nexmark_generator.h"
#include "queries.h"
#include "testing/test_util.h"
#include "weir/weir.h"

namespace weir::nexmark {
namespace {

using testing::Backend;
using testing::ConfigFor;
using testing::HasCompletedCheckpoint;
using testing::kBackends;
using testing::OutputLines;
using testing::TempDir;

constexpr int32_t kRate = 1000;  // events per second of event time, over all generators

// The events of `generators` slices (GeneratorConfig::Split, as the suite and the Flink
// source split them), merged in event-time order: each slice is in order, so no event is late
// for any watermark that trails the newest event.
std::vector<Event> GenerateEvents(int generators, int64_t count) {
  GeneratorConfig config;
  config.first_event_rate = kRate;
  config.num_event_generators = generators;
  config.max_events = count;
  std::vector<Event> events;
  for (const GeneratorConfig& slice : config.Split(generators)) {
    NexmarkGenerator generator(slice);
    while (generator.HasNext()) {
      events.emplace_back();
      generator.Next(&events.back());
    }
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.Timestamp() < b.Timestamp();
  });
  return events;
}

std::vector<Bid> BidsOf(const std::vector<Event>& events) {
  std::vector<Bid> bids;
  for (const Event& e : events) {
    if (e.type() == EventType::kBid) bids.push_back(e.bid());
  }
  return bids;
}

int64_t FloorTo(int64_t t, int64_t size) { return t - ((t % size) + size) % size; }

std::vector<std::string> Sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

// ---- The model: each query's SQL, evaluated in memory -----------------------------------------

// HOP(10 s, every 2 s): per window and auction the count; per window every auction at the max.
std::vector<std::string> ModelQ5(const std::vector<Event>& events) {
  std::map<int64_t, std::map<int64_t, int64_t>> counts;  // window start -> auction -> count
  for (const Bid& b : BidsOf(events)) {
    for (int64_t s = FloorTo(b.date_time, 2000); s > b.date_time - 10'000; s -= 2000) {
      ++counts[s][b.auction];
    }
  }
  std::vector<std::string> lines;
  for (const auto& [start, per_auction] : counts) {
    int64_t max = 0;
    for (const auto& [auction, n] : per_auction) max = std::max(max, n);
    for (const auto& [auction, n] : per_auction) {
      if (n >= max) lines.push_back(std::to_string(auction) + "," + std::to_string(n));
    }
  }
  return Sorted(lines);
}

// Max price per TUMBLE(10 s) window; every bid with dateTime BETWEEN end - 10 s AND end whose
// price equals it.
std::vector<std::string> ModelQ7(const std::vector<Event>& events) {
  std::vector<Bid> bids = BidsOf(events);
  std::map<int64_t, int64_t> max_by_end;
  for (const Bid& b : bids) {
    int64_t end = FloorTo(b.date_time, 10'000) + 10'000;
    auto [it, fresh] = max_by_end.emplace(end, b.price);
    if (!fresh) it->second = std::max(it->second, b.price);
  }
  std::vector<std::string> lines;
  for (const auto& [end, max] : max_by_end) {
    for (const Bid& b : bids) {
      if (b.date_time >= end - 10'000 && b.date_time <= end && b.price == max) {
        lines.push_back(std::to_string(b.auction) + "," + std::to_string(b.price) + "," +
                        std::to_string(b.bidder) + "," + std::to_string(b.date_time) + "," +
                        std::string(b.extra.view()));
      }
    }
  }
  return Sorted(lines);
}

// Persons and sellers grouped per TUMBLE(10 s) window, joined on id and window.
std::vector<std::string> ModelQ8(const std::vector<Event>& events) {
  std::set<std::tuple<int64_t, std::string, int64_t>> persons;  // id, name, window start
  std::set<std::pair<int64_t, int64_t>> sellers;                // seller, window start
  for (const Event& e : events) {
    if (e.type() == EventType::kPerson) {
      persons.emplace(e.person().id, e.person().name, FloorTo(e.person().date_time, 10'000));
    } else if (e.type() == EventType::kAuction) {
      sellers.emplace(e.auction().seller, FloorTo(e.auction().date_time, 10'000));
    }
  }
  std::vector<std::string> lines;
  for (const auto& [id, name, start] : persons) {
    if (sellers.count({id, start})) {
      lines.push_back(std::to_string(id) + "," + name + "," + std::to_string(start));
    }
  }
  return Sorted(lines);
}

// SESSION(10 s) per bidder: a bid at most 10 s after the previous one stays in its session.
std::vector<std::string> ModelQ11(const std::vector<Event>& events) {
  std::map<int64_t, std::vector<int64_t>> times;
  for (const Bid& b : BidsOf(events)) times[b.bidder].push_back(b.date_time);
  std::vector<std::string> lines;
  for (auto& [bidder, ts] : times) {
    std::sort(ts.begin(), ts.end());
    size_t first = 0;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (i + 1 < ts.size() && ts[i + 1] <= ts[i] + 10'000) continue;
      lines.push_back(std::to_string(bidder) + "," + std::to_string(i + 1 - first) + "," +
                      std::to_string(ts[first]) + "," + std::to_string(ts[i] + 10'000));
      first = i + 1;
    }
  }
  return Sorted(lines);
}

// GROUP BY auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd') with the counts, min, max, AVG (BIGINT:
// truncated) and sum.
std::vector<std::string> ModelQ17(const std::vector<Event>& events) {
  std::map<std::pair<int64_t, std::string>, std::vector<int64_t>> prices;
  for (const Bid& b : BidsOf(events)) {
    std::time_t secs = static_cast<std::time_t>(b.date_time / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char day[16];
    std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
    prices[{b.auction, day}].push_back(b.price);
  }
  std::vector<std::string> lines;
  for (const auto& [key, ps] : prices) {
    int64_t n = static_cast<int64_t>(ps.size());
    int64_t r1 = std::count_if(ps.begin(), ps.end(), [](int64_t p) { return p < 10'000; });
    int64_t r3 = std::count_if(ps.begin(), ps.end(), [](int64_t p) { return p >= 1'000'000; });
    int64_t sum = 0;
    for (int64_t p : ps) sum += p;
    lines.push_back(std::to_string(key.first) + "," + key.second + "," + std::to_string(n) + "," +
                    std::to_string(r1) + "," + std::to_string(n - r1 - r3) + "," +
                    std::to_string(r3) + "," + std::to_string(*std::min_element(ps.begin(), ps.end())) +
                    "," + std::to_string(*std::max_element(ps.begin(), ps.end())) + "," +
                    std::to_string(sum / n) + "," + std::to_string(sum));
  }
  return Sorted(lines);
}

struct WindowedQuery {
  const char* name;
  DataStream<std::string> (*build)(const DataStream<Event>&);
  std::vector<std::string> (*model)(const std::vector<Event>&);
};

const WindowedQuery kQueries[] = {{"q5", &Q5, &ModelQ5},
                                  {"q7", &Q7, &ModelQ7},
                                  {"q8", &Q8, &ModelQ8},
                                  {"q11", &Q11, &ModelQ11},
                                  {"q17", &Q17, &ModelQ17}};

// ---- Running a query on weir ------------------------------------------------------------------

// The events from a collection, each stamped with its date_time and followed by watermarks 4 s
// behind (the suite's WATERMARK clause); `on_event` sees each event's time first.
void BuildJob(StreamExecutionEnvironment& env, const WindowedQuery& q,
              const std::vector<Event>& events, std::function<void(int64_t)> on_event,
              const std::string& out) {
  DataStream<Event> source = env.FromCollection(events);
  if (on_event) {
    source = source.Map([on_event](const Event& e) {
      on_event(e.Timestamp());
      return e;
    });
  }
  DataStream<Event> timed = source.AssignTimestampsAndWatermarks(
      WatermarkStrategy<Event>::ForBoundedOutOfOrderness(std::chrono::seconds(4))
          .WithTimestampAssigner([](const Event& e, int64_t) { return e.Timestamp(); }));
  q.build(timed).WriteAsText(out, WriteMode::kOverwrite).Uid("sink");
}

void MaybeDump(const WindowedQuery& q, int generators, const std::vector<std::string>& lines) {
  const char* dir = std::getenv("WEIR_NEXMARK_DUMP_DIR");
  if (dir == nullptr) return;
  std::ofstream f(std::string(dir) + "/" + q.name + "-P" + std::to_string(generators) + ".txt");
  for (const std::string& l : lines) f << l << "\n";
}

struct ModelCase {
  const WindowedQuery* query;
  int generators;
};

class WindowedQueryTest : public ::testing::TestWithParam<ModelCase> {};

// 50,000 events, keyed operators at parallelism 2: the lines equal the SQL's.
TEST_P(WindowedQueryTest, EqualsTheSqlEvaluatedInMemory) {
  const ModelCase& c = GetParam();
  std::vector<Event> events = GenerateEvents(c.generators, 50'000);
  std::vector<std::string> expected = c.query->model(events);
  ASSERT_FALSE(expected.empty()) << "the events give this query nothing to check";
  TempDir dir;
  Configuration config;
  config.Set("parallelism.default", "2");
  config.Set("pipeline.auto-watermark-interval", "5 ms");
  StreamExecutionEnvironment env(config);
  BuildJob(env, *c.query, events, nullptr, dir.Join("out"));
  JobResult r = env.Execute(c.query->name);
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> lines = OutputLines(dir.Join("out"));
  MaybeDump(*c.query, c.generators, lines);
  EXPECT_EQ(lines.size(), expected.size());
  EXPECT_EQ(lines, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Queries, WindowedQueryTest,
    ::testing::Values(ModelCase{&kQueries[0], 1}, ModelCase{&kQueries[0], 2},
                      ModelCase{&kQueries[1], 1}, ModelCase{&kQueries[1], 2},
                      ModelCase{&kQueries[2], 1}, ModelCase{&kQueries[2], 2},
                      ModelCase{&kQueries[3], 1}, ModelCase{&kQueries[3], 2},
                      ModelCase{&kQueries[4], 1}, ModelCase{&kQueries[4], 2}),
    [](const auto& info) {
      return std::string(info.param.query->name) + "_P" + std::to_string(info.param.generators);
    });

struct RestoreCase {
  const WindowedQuery* query;
  const Backend* backend;
};

class WindowedQueryRestoreTest : public ::testing::TestWithParam<RestoreCase> {};

// A failure 12 s into event time, after a checkpoint: windows, sessions and timers open at the
// checkpoint come back, and the lines are exactly the SQL's (the file sink is exactly-once).
TEST_P(WindowedQueryRestoreTest, EqualsTheSqlThroughAFailureAndRestore) {
  const RestoreCase& c = GetParam();
  std::vector<Event> events = GenerateEvents(2, 30'000);
  std::vector<std::string> expected = c.query->model(events);
  ASSERT_FALSE(expected.empty());
  TempDir dir;
  static std::atomic<bool> failed;
  failed = false;
  std::string checkpoints = dir.Join("checkpoints");
  int64_t fail_after = kDefaultBaseTimeMs + 12'000;
  auto on_event = [checkpoints, fail_after](int64_t t) {
    // Slow enough (about 1.5 s in all) for checkpoints every 10 ms to complete.
    if (t % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (t >= fail_after && t % 10 == 0 && !failed && HasCompletedCheckpoint(checkpoints) &&
        !failed.exchange(true)) {
      throw std::runtime_error("injected failure");
    }
  };
  Configuration config = ConfigFor(dir, *c.backend);
  config.Set("parallelism.default", "2");
  StreamExecutionEnvironment env(config);
  BuildJob(env, *c.query, events, on_event, dir.Join("out"));
  JobResult r = env.Execute(c.query->name);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(failed.load()) << "no failure was injected";
  // The job restarted once, from its latest checkpoint (a restart from the beginning would
  // repeat the lines committed before the failure).
  EXPECT_EQ(r.metrics.restarts, 1);
  EXPECT_EQ(OutputLines(dir.Join("out")), expected);
}

std::vector<RestoreCase> RestoreCases() {
  std::vector<RestoreCase> cases;
  for (const WindowedQuery& q : kQueries) {
    for (const Backend& b : kBackends) cases.push_back({&q, &b});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Queries, WindowedQueryRestoreTest, ::testing::ValuesIn(RestoreCases()),
                         [](const auto& info) {
                           return std::string(info.param.query->name) + "_" +
                                  info.param.backend->name;
                         });

}  // namespace
}  // namespace weir::nexmark

namespace weir::nexmark {
namespace {

// ---- Edges that random data rarely hits (the Flink twin's EdgeCasesTest) ----------------------

Event BidAt(int64_t auction, int64_t bidder, int64_t price, int64_t time) {
  return Event(Bid{auction, bidder, price, "Google", "u", time, "x" + std::to_string(time)});
}

// The query's lines on hand-made events in time order, at parallelism 1; they must also equal
// the model's.
std::vector<std::string> RunOn(const WindowedQuery& q, const std::vector<Event>& events) {
  TempDir dir;
  StreamExecutionEnvironment env;
  BuildJob(env, q, events, nullptr, dir.Join("out"));
  JobResult r = env.Execute(q.name);
  EXPECT_TRUE(r.ok()) << r.error();
  std::vector<std::string> lines = OutputLines(dir.Join("out"));
  EXPECT_EQ(lines, q.model(events)) << q.name << ": weir against the model";
  return lines;
}

TEST(WindowedQueryEdgeTest, Q7IncludesABidAtTheWindowEndThatEqualsTheMax) {
  std::vector<Event> events = {
      BidAt(1, 2, 5, 0),
      BidAt(1, 2, 9, 5'000),    // the max of [0, 10 s)
      BidAt(2, 3, 9, 10'000),   // in [10 s, 20 s), and at the end of [0, 10 s): matches 9
      BidAt(2, 3, 12, 10'000),  // higher, but at the boundary: not the first window's max
      BidAt(1, 4, 3, 15'000)};  // [10 s, 20 s) has max 12
  EXPECT_EQ(RunOn(kQueries[1], events),
            (std::vector<std::string>{"1,9,2,5000,x5000", "2,12,3,10000,x10000",
                                      "2,9,3,10000,x10000"}));
}

TEST(WindowedQueryEdgeTest, Q7BoundaryBidOfAnAuctionWithoutOwnBidsInTheWindow) {
  std::vector<Event> events = {BidAt(1, 2, 9, 5'000), BidAt(2, 3, 9, 10'000),
                               BidAt(2, 3, 100, 12'000)};
  EXPECT_EQ(RunOn(kQueries[1], events),
            (std::vector<std::string>{"1,9,2,5000,x5000", "2,100,3,12000,x12000",
                                      "2,9,3,10000,x10000"}));
}

TEST(WindowedQueryEdgeTest, Q11ABidExactlyOneGapLaterJoinsTheSession) {
  std::vector<Event> events = {BidAt(1, 5, 1, 0), BidAt(1, 5, 1, 10'000), BidAt(1, 5, 1, 20'001)};
  EXPECT_EQ(RunOn(kQueries[3], events),
            (std::vector<std::string>{"5,1,20001,30001", "5,2,0,20000"}));
}

TEST(WindowedQueryEdgeTest, Q5EmitsAllTiedAuctions) {
  // Every window holds each of its bids once, so all of them tie: [-8 s, 2 s) holds 1 and 2,
  // the four from -6 s to 0 s hold 1, 2 and 3, and [2 s, 12 s) holds 3.
  std::vector<Event> events = {BidAt(1, 5, 1, 1'000), BidAt(2, 5, 1, 1'500), BidAt(3, 5, 1, 3'000)};
  std::vector<std::string> lines = RunOn(kQueries[0], events);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "1,1"), 5);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "2,1"), 5);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "3,1"), 5);
  EXPECT_EQ(lines.size(), 15u);
}

}  // namespace
}  // namespace weir::nexmark
