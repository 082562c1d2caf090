// my_first_job: a word count in a project of its own, built against an installed weir.
//
// Lines become words, words are keyed by themselves, and a KeyedProcessFunction counts each
// word in keyed state. Every count goes to a text file through the exactly-once file sink,
// with checkpoints every 500 ms: kill the job at any moment and resume it with
// `--restore latest`, and the file ends up exactly as if it had never failed.
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>

#include "weir/weir.h"

class CountWords final
    : public weir::KeyedProcessFunction<std::string, std::string, std::string> {
 public:
  void Open(weir::RuntimeContext& ctx) override {
    count_ = ctx.GetState(weir::ValueStateDescriptor<int64_t>("count"));
  }

  void ProcessElement(const std::string& word, Context& ctx,
                      weir::Collector<std::string>& out) override {
    int64_t count = count_.ValueOr(0) + 1;
    count_.Update(count);
    out.Collect(word + "," + std::to_string(count));
  }

 private:
  weir::ValueState<int64_t> count_;
};

int main(int argc, char** argv) {
  weir::CommandLine cli("my_first_job", "Counts the words of a few lines, exactly once.");
  std::string output = "output/word_counts.txt";
  cli.AddOption("--output", &output, "Output file");
  if (auto exit_code = cli.Parse(argc, argv)) return *exit_code;

  weir::StreamExecutionEnvironment env(cli.configuration());
  env.EnableCheckpointing(std::chrono::milliseconds(500));
  env.FromCollection<std::string>({"to be or not to be", "that is the question",
                                   "whether tis nobler in the mind to suffer"})
      .FlatMap([](const std::string& line, weir::Collector<std::string>& out) {
        std::istringstream words(line);
        for (std::string word; words >> word;) out.Collect(word);
      })
      .Name("split")
      .KeyBy([](const std::string& word) { return word; })
      .Process(CountWords())
      .Name("count")
      .Uid("count")
      .WriteAsText(output, weir::WriteMode::kOverwrite)
      .Name("counts")
      .Uid("counts");
  return weir::RunJob(env, "my first job", cli);
}
