// Clicks per user in event-time windows: the event-time example.
//
// Reads click events, lines "user,timestamp_ms", from --input (a file, or every file of a
// directory) with the file source. Their timestamps may be out of
// order by up to --out-of-orderness; the job counts each user's clicks in tumbling windows of
// --window (or, with --session-gap, in session windows that close after that much silence)
// and writes a line "user,window_start_ms,window_end_ms,count" for every window that fires,
// exactly-once, to --output. Clicks that come later than --allowed-lateness after their
// window closed go to --late-output as "user,timestamp_ms". Kill it at any moment and run it
// again with --restore latest: the output ends up the same as a run without failures.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "weir/cli.h"
#include "weir/weir.h"

namespace {

struct Click {
  std::string user;
  int64_t time_ms = 0;
};

// "user,timestamp_ms" -> Click; a line that is not one fails the job, naming it.
Click ParseClick(const std::string& line) {
  size_t comma = line.rfind(',');
  Click c;
  size_t used = 0;
  bool ok = comma != std::string::npos && comma > 0 && comma + 1 < line.size();
  if (ok) {
    c.user = line.substr(0, comma);
    try {
      c.time_ms = std::stoll(line.substr(comma + 1), &used);
    } catch (const std::exception&) {
      ok = false;
    }
    ok = ok && comma + 1 + used == line.size();
  }
  if (!ok) throw std::invalid_argument("not a click 'user,timestamp_ms': '" + line + "'");
  return c;
}

class CountClicks final : public weir::AggregateFunction<Click, int64_t, int64_t> {
 public:
  int64_t CreateAccumulator() const override { return 0; }
  void Add(const Click&, int64_t& count) const override { ++count; }
  int64_t GetResult(const int64_t& count) const override { return count; }
  int64_t Merge(int64_t a, const int64_t& b) const override { return a + b; }
};

// "user,window_start_ms,window_end_ms,count"; the end is exclusive, as Flink's TimeWindow.
class FormatWindow final
    : public weir::ProcessWindowFunction<int64_t, std::string, std::string, weir::TimeWindow> {
 public:
  void Process(const std::string& user, Context& ctx, const std::vector<int64_t>& counts,
               weir::Collector<std::string>& out) override {
    out.Collect(user + "," + std::to_string(ctx.window().start) + "," +
                std::to_string(ctx.window().end) + "," + std::to_string(counts.front()));
  }
};

bool ParseFlagDuration(const char* flag, const std::string& text, std::chrono::milliseconds* out,
                       bool allow_zero) {
  auto d = weir::ParseDuration(text);
  if (!d.ok() || d->count() < 0 || (!allow_zero && d->count() == 0)) {
    std::fprintf(stderr, "click_windows: %s must be a %s duration such as '5 s' (got '%s')\n",
                 flag, allow_zero ? "non-negative" : "positive", text.c_str());
    return false;
  }
  *out = *d;
  return true;
}

// Unless the key is set, or its older name in Flink (`older_key`), which weir reads too.
void SetDefault(weir::Configuration& config, std::string_view key, std::string value,
                std::string_view older_key = {}) {
  if (config.GetRaw(key) || (!older_key.empty() && config.GetRaw(older_key))) return;
  config.Set(key, std::move(value), "click_windows default");
}

}  // namespace

template <>
struct weir::Codec<Click> : weir::FieldsCodec<Click, &Click::user, &Click::time_ms> {};

int main(int argc, char** argv) {
  weir::CommandLine cli("click_windows",
                        "Counts clicks per user in event-time windows (tumbling, or sessions), "
                        "exactly-once, with late clicks to a side output.");
  std::string input = "examples/click_windows/clicks.csv";
  std::string output = "output/click_counts.txt";
  std::string late_output = "output/late_clicks.txt";
  std::string out_of_orderness = "5 s", window = "1 min", session_gap, allowed_lateness = "0 ms";
  int64_t delay_ms = 0;
  cli.AddOption("--input", &input, "Click events, lines 'user,timestamp_ms'");
  cli.AddOption("--output", &output,
                "Window counts (a directory of files when parallelism > 1)");
  cli.AddOption("--late-output", &late_output, "Clicks too late for their window");
  cli.AddOption("--out-of-orderness", &out_of_orderness,
                "How far timestamps may be out of order (default 5 s)");
  cli.AddOption("--window", &window, "Tumbling window size (default 1 min)");
  cli.AddOption("--session-gap", &session_gap,
                "Session windows closing after this gap instead of tumbling windows");
  cli.AddOption("--allowed-lateness", &allowed_lateness,
                "How long a window takes late clicks after it fired (default 0 ms)");
  cli.AddOption("--delay-ms", &delay_ms, "Milliseconds to sleep per click (default 0)");
  if (auto exit_code = cli.Parse(argc, argv)) return *exit_code;

  std::chrono::milliseconds bound, size, gap{0}, lateness;
  if (!ParseFlagDuration("--out-of-orderness", out_of_orderness, &bound, true) ||
      !ParseFlagDuration("--window", window, &size, false) ||
      (!session_gap.empty() && !ParseFlagDuration("--session-gap", session_gap, &gap, false)) ||
      !ParseFlagDuration("--allowed-lateness", allowed_lateness, &lateness, true)) {
    return 2;
  }
  if (delay_ms < 0 || delay_ms > 60'000) {
    std::fprintf(stderr, "click_windows: --delay-ms must be between 0 and 60000 (got %lld)\n",
                 static_cast<long long>(delay_ms));
    return 2;
  }
  for (const auto& [flag, path] : {std::pair{"--input", input}, {"--output", output},
                                   {"--late-output", late_output}}) {
    if (path.empty()) {
      std::fprintf(stderr, "click_windows: %s must not be empty\n", flag);
      return 2;
    }
  }

  weir::StreamExecutionEnvironment env(cli.configuration());
  weir::Configuration& config = env.config();
  SetDefault(config, "execution.checkpointing.interval", "1 s");
  SetDefault(config, "execution.checkpointing.dir", "checkpoints", "state.checkpoints.dir");
  SetDefault(config, "execution.checkpointing.savepoint-dir", "savepoints",
             "state.savepoints.dir");
  SetDefault(config, "execution.checkpointing.externalized-checkpoint-retention",
             "RETAIN_ON_CANCELLATION");

  auto clicks =
      env.FromSource(weir::FileSource::ForTextLines(input),
                     weir::WatermarkStrategy<std::string>::NoWatermarks(), "clicks")
          .Uid("clicks")
          .Map([delay = std::chrono::milliseconds(delay_ms)](const std::string& line) {
            if (delay.count() > 0) std::this_thread::sleep_for(delay);
            return ParseClick(line);
          })
          .Name("parse")
          .Uid("parse")
          .AssignTimestampsAndWatermarks(
              weir::WatermarkStrategy<Click>::ForBoundedOutOfOrderness(bound)
                  .WithTimestampAssigner([](const Click& c, int64_t) { return c.time_ms; }))
          .Uid("timestamps");
  auto by_user = clicks.KeyBy([](const Click& c) { return c.user; });
  const weir::OutputTag<Click> late("late-clicks");
  auto counts = [&] {
    if (!session_gap.empty()) {
      return by_user.Window(weir::EventTimeSessionWindows::WithGap(gap))
          .AllowedLateness(lateness)
          .SideOutputLateData(late)
          .Aggregate(CountClicks(), FormatWindow());
    }
    return by_user.Window(weir::TumblingEventTimeWindows::Of(size))
        .AllowedLateness(lateness)
        .SideOutputLateData(late)
        .Aggregate(CountClicks(), FormatWindow());
  }();
  counts.Name("clicks-per-window").Uid("clicks-per-window");
  counts.WriteAsText(output, weir::WriteMode::kOverwrite).Name("counts-file").Uid("counts-file");
  counts.GetSideOutput(late)
      .Map([](const Click& c) { return c.user + "," + std::to_string(c.time_ms); })
      .Name("format-late")
      .Uid("format-late")
      .WriteAsText(late_output, weir::WriteMode::kOverwrite)
      .Name("late-file")
      .Uid("late-file");

  return weir::RunJob(env, "Clicks per user in event-time windows", cli);
}
