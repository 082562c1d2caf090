// crash_job: the job the crash tests kill over and over.
//
// Records 0..N-1 become (key = i % KEYS, value = 1 + i % 7) and go, keyed, to a running count
// and sum per key; each record writes "key,count,sum" to the output. Values are never zero,
// so a record counted twice or lost changes every later line of its key. The source runs at
// parallelism 1 and the keyed stage at --parallelism, so each output file's content is fully
// determined: a run with kills must end byte-identical to one without.
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "weir/cli.h"
#include "weir/weir.h"

namespace {

struct Totals {
  int64_t count = 0;
  int64_t sum = 0;
};

class CountAndSum final
    : public weir::KeyedProcessFunction<int32_t, std::pair<int32_t, int64_t>, std::string> {
 public:
  explicit CountAndSum(int64_t delay_us) : delay_(delay_us) {}

  void Open(weir::RuntimeContext& ctx) override {
    count_ = ctx.GetReducingState(weir::ReducingStateDescriptor<int64_t>(
        "count", [](const int64_t& a, const int64_t& b) { return a + b; }));
    sum_ = ctx.GetState(weir::ValueStateDescriptor<int64_t>("sum"));
  }

  void ProcessElement(const std::pair<int32_t, int64_t>& r, Context& ctx,
                      weir::Collector<std::string>& out) override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    count_.Add(1);
    int64_t sum = sum_.ValueOr(0) + r.second;
    sum_.Update(sum);
    out.Collect(std::to_string(ctx.current_key()) + "," + std::to_string(*count_.Get()) + "," +
                std::to_string(sum));
  }

 private:
  std::chrono::microseconds delay_;
  weir::ReducingState<int64_t> count_;
  weir::ValueState<int64_t> sum_;
};

}  // namespace

int main(int argc, char** argv) {
  weir::CommandLine cli("crash_job", "Keyed running count and sum over many keys (crash tests).");
  int64_t records = 20'000;
  int keys = 100;
  int64_t delay_us = 0;
  std::string output = "output";
  cli.AddOption("--records", &records, "Records to generate");
  cli.AddOption("--keys", &keys, "Distinct keys");
  cli.AddOption("--delay-us", &delay_us, "Microseconds of work per record in the keyed stage");
  cli.AddOption("--output", &output, "Output path");
  bool plain_sink = false;
  cli.AddFlag("--at-least-once-sink", &plain_sink,
              "Append lines to --output as they come, without transactions (parallelism 1): the "
              "sink `weir chaos` must catch, as a restore writes records again");
  if (auto code = cli.Parse(argc, argv)) return *code;
  if (records < 1 || keys < 1) return 2;

  weir::StreamExecutionEnvironment env(cli.configuration());
  int parallelism = static_cast<int>(env.config().GetInt("parallelism.default", 1).value());
  auto counted =
      env.FromSequence(0, records - 1)
          .SetParallelism(1)
          .Map([keys](int64_t i) {
            return std::pair<int32_t, int64_t>(static_cast<int32_t>(i % keys), 1 + i % 7);
          })
          .SetParallelism(1)
          .Uid("to-key-value")
          .KeyBy([](const std::pair<int32_t, int64_t>& r) { return r.first; })
          .Process(CountAndSum(delay_us))
          .SetParallelism(parallelism)
          .Uid("count-and-sum");
  if (plain_sink) {
    counted
        .AddSink([output, file = std::shared_ptr<std::FILE>()](const std::string& line) mutable {
          if (!file) {
            std::FILE* f = std::fopen(output.c_str(), "a");
            if (f == nullptr) throw std::runtime_error("cannot open " + output);
            file.reset(f, &std::fclose);
          }
          std::fputs((line + "\n").c_str(), file.get());
          std::fflush(file.get());
        })
        .SetParallelism(1)
        .Uid("lines");
  } else {
    counted.WriteAsText(output, weir::WriteMode::kOverwrite)
        .SetParallelism(parallelism)
        .Uid("lines");
  }
  return weir::RunJob(env, "crash job", cli);
}
