// RestartStrategy: whether and when a failed job restarts (Flink's restart-strategy.*).
//
//   none               never
//   fixed-delay        up to `attempts` restarts, each after `delay`
//   failure-rate       restarts after `delay` while at most max-failures-per-interval
//                      failures fall in any failure-rate-interval
//   exponential-delay  delay = initial-backoff * multiplier^n, capped at max-backoff, with
//                      jitter; reset once the restarted job ran reset-backoff-threshold (after
//                      its restart delay) without failure; at most attempts-before-reset-backoff
//                      restarts before a reset
//
// Default: exponential-delay when checkpointing is enabled, none otherwise (Flink 1.19+).
// Thread-safety: not thread-safe; the JobMaster owns it.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "weir/configuration.h"

namespace weir {

// The restart-strategy.* options (Flink's keys and defaults).
namespace restart_options {

inline constexpr auto kType =
    ConfigOption<std::string>(
        "restart-strategy.type", "",
        "none, fixed-delay, failure-rate or exponential-delay. Default: exponential-delay when "
        "checkpointing is on, none otherwise.")
        .WithAllowed({"none", "off", "disable", "fixed-delay", "fixeddelay", "failure-rate",
                      "failurerate", "exponential-delay", "exponentialdelay"})
        .WithFallbackKeys("restart-strategy");
inline constexpr auto kFixedDelayAttempts =
    ConfigOption<int64_t>("restart-strategy.fixed-delay.attempts", "1",
                          "fixed-delay: restarts before the job fails.")
        .WithRange(0, std::numeric_limits<int32_t>::max());
inline constexpr auto kFixedDelayDelay = ConfigOption<std::chrono::milliseconds>(
    "restart-strategy.fixed-delay.delay", "1 s", "fixed-delay: delay before each restart.");
inline constexpr auto kFailureRateMaxFailures =
    ConfigOption<int64_t>("restart-strategy.failure-rate.max-failures-per-interval", "1",
                          "failure-rate: failures tolerated within one interval.")
        .WithRange(1, std::numeric_limits<int32_t>::max());
inline constexpr auto kFailureRateInterval = ConfigOption<std::chrono::milliseconds>(
    "restart-strategy.failure-rate.failure-rate-interval", "1 min",
    "failure-rate: the interval over which failures are counted.");
inline constexpr auto kFailureRateDelay = ConfigOption<std::chrono::milliseconds>(
    "restart-strategy.failure-rate.delay", "1 s", "failure-rate: delay before each restart.");
inline constexpr auto kExponentialInitialBackoff = ConfigOption<std::chrono::milliseconds>(
    "restart-strategy.exponential-delay.initial-backoff", "1 s",
    "exponential-delay: the first restart delay.");
inline constexpr auto kExponentialMaxBackoff = ConfigOption<std::chrono::milliseconds>(
    "restart-strategy.exponential-delay.max-backoff", "1 min",
    "exponential-delay: the largest restart delay.");
inline constexpr auto kExponentialMultiplier =
    ConfigOption<double>("restart-strategy.exponential-delay.backoff-multiplier", "1.5",
                         "exponential-delay: factor applied to the delay after each failure.");
inline constexpr auto kExponentialResetThreshold = ConfigOption<std::chrono::milliseconds>(
    "restart-strategy.exponential-delay.reset-backoff-threshold", "1 h",
    "exponential-delay: running this long without a failure resets the delay.");
inline constexpr auto kExponentialJitter =
    ConfigOption<double>("restart-strategy.exponential-delay.jitter-factor", "0.1",
                         "exponential-delay: random part of each delay, as a fraction of it.");
inline constexpr auto kExponentialAttempts =
    ConfigOption<int64_t>("restart-strategy.exponential-delay.attempts-before-reset-backoff",
                          "2147483647",
                          "exponential-delay: restarts allowed before the delay is reset; "
                          "then the job fails.")
        .WithRange(1, std::numeric_limits<int32_t>::max());

inline std::vector<const ConfigOptionInfo*> All() {
  return {&kType.info(),
          &kFixedDelayAttempts.info(),
          &kFixedDelayDelay.info(),
          &kFailureRateMaxFailures.info(),
          &kFailureRateInterval.info(),
          &kFailureRateDelay.info(),
          &kExponentialInitialBackoff.info(),
          &kExponentialMaxBackoff.info(),
          &kExponentialMultiplier.info(),
          &kExponentialResetThreshold.info(),
          &kExponentialJitter.info(),
          &kExponentialAttempts.info()};
}

}  // namespace restart_options

class RestartStrategy {
 public:
  virtual ~RestartStrategy() = default;
  // Called at a failure at `now_ms` (monotonic). The delay before restarting, or nullopt if
  // the job must fail.
  virtual std::optional<std::chrono::milliseconds> OnFailure(int64_t now_ms) = 0;
  // A description for logs: "fixed-delay (3 attempts, 1 s)".
  virtual std::string Describe() const = 0;

  static Result<std::unique_ptr<RestartStrategy>> FromConfiguration(const Configuration& config,
                                                                    bool checkpointing_enabled);
};

class NoRestartStrategy final : public RestartStrategy {
 public:
  std::optional<std::chrono::milliseconds> OnFailure(int64_t) override { return std::nullopt; }
  std::string Describe() const override { return "none"; }
};

class FixedDelayRestartStrategy final : public RestartStrategy {
 public:
  FixedDelayRestartStrategy(int64_t attempts, std::chrono::milliseconds delay)
      : attempts_(attempts), delay_(delay) {}
  std::optional<std::chrono::milliseconds> OnFailure(int64_t now_ms) override;
  std::string Describe() const override;

 private:
  int64_t attempts_;
  std::chrono::milliseconds delay_;
  int64_t restarts_ = 0;
};

class FailureRateRestartStrategy final : public RestartStrategy {
 public:
  FailureRateRestartStrategy(int64_t max_failures, std::chrono::milliseconds interval,
                             std::chrono::milliseconds delay)
      : max_failures_(max_failures), interval_(interval), delay_(delay) {}
  std::optional<std::chrono::milliseconds> OnFailure(int64_t now_ms) override;
  std::string Describe() const override;

 private:
  int64_t max_failures_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds delay_;
  std::deque<int64_t> failures_;
};

class ExponentialDelayRestartStrategy final : public RestartStrategy {
 public:
  struct Options {
    std::chrono::milliseconds initial_backoff{1000};
    std::chrono::milliseconds max_backoff{60000};
    double multiplier = 1.5;
    std::chrono::milliseconds reset_threshold{3600000};
    double jitter = 0.1;
    int64_t attempts_before_reset = 2147483647;
  };
  explicit ExponentialDelayRestartStrategy(Options o, uint64_t seed = std::random_device{}())
      : o_(o), rng_(seed) {}
  std::optional<std::chrono::milliseconds> OnFailure(int64_t now_ms) override;
  std::string Describe() const override;

 private:
  Options o_;
  std::mt19937_64 rng_;
  double current_ms_ = 0;
  int64_t last_failure_ms_ = -1;
  int64_t last_delay_ms_ = 0;
  int64_t attempts_ = 0;
};

}  // namespace weir
