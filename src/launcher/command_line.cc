#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>
#include <limits>
#include <string>

#include "weir/cli.h"

namespace weir {
namespace {

// A whole number in decimal that fits T, handed on without leading zeros: CLI11 alone reads
// 010 as octal and 0x10 as hexadecimal, and clamps a number too large for T to its maximum.
template <typename T>
CLI::Validator Decimal() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        T v{};
        const char* end = text.data() + text.size();
        auto [at, ec] = std::from_chars(text.data(), end, v);
        if (ec == std::errc::result_out_of_range) {
          return "'" + text + "' is out of range (" + std::to_string(std::numeric_limits<T>::min()) +
                 " to " + std::to_string(std::numeric_limits<T>::max()) + ")";
        }
        if (ec != std::errc() || at != end) return "'" + text + "' is not a whole number";
        text = std::to_string(v);
        return std::string();
      },
      "");
}

}  // namespace

struct CommandLine::Impl {
  explicit Impl(std::string program, std::string description)
      : app(std::move(description), std::move(program)) {}
  CLI::App app;
  std::string config_file;
  std::vector<std::string> defines;
  std::string restore;
  int parallelism = 0;
  bool progress = ::isatty(STDERR_FILENO) != 0;
  bool no_progress = false;
  Configuration config;
};

CommandLine::CommandLine(std::string program, std::string description)
    : impl_(std::make_unique<Impl>(std::move(program), std::move(description))) {
  CLI::App& app = impl_->app;
  app.get_formatter()->column_width(34);
  app.add_option("--config", impl_->config_file,
                 "YAML configuration file (Flink key names, flat or nested)")
      ->check(CLI::ExistingFile);
  app.add_option("-D", impl_->defines, "Set a configuration key: -D key=value (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_option("--restore", impl_->restore,
                 "Resume from 'latest' (the newest valid checkpoint of this job) or from the "
                 "checkpoint or savepoint at PATH")
      ->type_name("latest|PATH");
  app.add_option("--parallelism", impl_->parallelism, "Default parallelism of the job")
      ->transform(Decimal<int>())
      ->check(CLI::Range(1, 32768));
  app.add_flag("--no-progress", impl_->no_progress, "Do not show the progress line");
}

CommandLine::~CommandLine() = default;

void CommandLine::AddOption(const std::string& name, int64_t* value, const std::string& help) {
  impl_->app.add_option(name, *value, help)->transform(Decimal<int64_t>())->capture_default_str();
}
void CommandLine::AddOption(const std::string& name, int* value, const std::string& help) {
  impl_->app.add_option(name, *value, help)->transform(Decimal<int>())->capture_default_str();
}
void CommandLine::AddOption(const std::string& name, double* value, const std::string& help) {
  impl_->app.add_option(name, *value, help)->capture_default_str();
}
void CommandLine::AddOption(const std::string& name, std::string* value, const std::string& help) {
  impl_->app.add_option(name, *value, help)->capture_default_str();
}
void CommandLine::AddFlag(const std::string& name, bool* value, const std::string& help) {
  impl_->app.add_flag(name, *value, help);
}

std::optional<int> CommandLine::Parse(int argc, char** argv) {
  try {
    impl_->app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = impl_->app.exit(e);
    return code == 0 ? 0 : 2;
  }
  Configuration config;
  if (!impl_->config_file.empty()) {
    auto loaded = Configuration::FromYamlFile(impl_->config_file);
    if (!loaded.ok()) {
      std::cerr << impl_->app.get_name() << ": " << loaded.status().message() << "\n";
      return 2;
    }
    config = std::move(*loaded);
  }
  for (const auto& d : impl_->defines) {
    Status s = config.SetFromArgument(d);
    if (!s.ok()) {
      std::cerr << impl_->app.get_name() << ": " << s.message() << "\n";
      return 2;
    }
  }
  if (impl_->app.count("--restore") > 0) {
    // An empty value (an unset shell variable, say) must not quietly start afresh.
    if (impl_->restore.find_first_not_of(" \t") == std::string::npos) {
      std::cerr << impl_->app.get_name()
                << ": --restore is empty: give 'latest' or the path of a checkpoint or "
                   "savepoint, or leave the flag out to start afresh\n";
      return 2;
    }
    config.Set("execution.state-recovery.path", impl_->restore, "--restore");
  }
  if (impl_->parallelism > 0) {
    config.Set("parallelism.default", std::to_string(impl_->parallelism), "--parallelism");
  }
  impl_->config = std::move(config);
  if (impl_->no_progress) impl_->progress = false;
  return std::nullopt;
}

const Configuration& CommandLine::configuration() const { return impl_->config; }
bool CommandLine::show_progress() const { return impl_->progress; }

}  // namespace weir
