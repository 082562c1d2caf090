#include "runtime/restart_strategy.h"

#include <algorithm>

namespace weir {

std::optional<std::chrono::milliseconds> FixedDelayRestartStrategy::OnFailure(int64_t) {
  if (restarts_ >= attempts_) return std::nullopt;
  ++restarts_;
  return delay_;
}

std::string FixedDelayRestartStrategy::Describe() const {
  return "fixed-delay (" + std::to_string(attempts_) + " attempts, " + FormatDuration(delay_) + ")";
}

std::optional<std::chrono::milliseconds> FailureRateRestartStrategy::OnFailure(int64_t now_ms) {
  failures_.push_back(now_ms);
  while (!failures_.empty() && failures_.front() <= now_ms - interval_.count()) {
    failures_.pop_front();
  }
  if (static_cast<int64_t>(failures_.size()) > max_failures_) return std::nullopt;
  return delay_;
}

std::string FailureRateRestartStrategy::Describe() const {
  return "failure-rate (" + std::to_string(max_failures_) + " failures per " +
         FormatDuration(interval_) + ", " + FormatDuration(delay_) + ")";
}

std::optional<std::chrono::milliseconds> ExponentialDelayRestartStrategy::OnFailure(
    int64_t now_ms) {
  // The job ran again only after the last delay: it must then have run for the threshold.
  bool reset = last_failure_ms_ >= 0 &&
               now_ms - last_failure_ms_ >= o_.reset_threshold.count() + last_delay_ms_;
  if (last_failure_ms_ < 0 || reset) {
    current_ms_ = static_cast<double>(o_.initial_backoff.count());
    attempts_ = 0;
  } else {
    current_ms_ =
        std::min(current_ms_ * o_.multiplier, static_cast<double>(o_.max_backoff.count()));
  }
  last_failure_ms_ = now_ms;
  if (++attempts_ > o_.attempts_before_reset) return std::nullopt;
  double jitter = o_.jitter * current_ms_;
  std::uniform_real_distribution<double> dist(-jitter, jitter);
  double delay = std::clamp(current_ms_ + (jitter > 0 ? dist(rng_) : 0.0), 0.0,
                            static_cast<double>(o_.max_backoff.count()));
  last_delay_ms_ = static_cast<int64_t>(delay);
  return std::chrono::milliseconds(last_delay_ms_);
}

std::string ExponentialDelayRestartStrategy::Describe() const {
  return "exponential-delay (" + FormatDuration(o_.initial_backoff) + " to " +
         FormatDuration(o_.max_backoff) + ", x" + std::to_string(o_.multiplier).substr(0, 4) + ")";
}

Result<std::unique_ptr<RestartStrategy>> RestartStrategy::FromConfiguration(
    const Configuration& c, bool checkpointing_enabled) {
  namespace o = restart_options;
  WEIR_ASSIGN_OR_RETURN(std::optional<std::string> configured, c.GetOptional(o::kType));
  std::string type = configured.value_or(checkpointing_enabled ? "exponential-delay" : "none");
  if (type == "none" || type == "off" || type == "disable") {
    return std::unique_ptr<RestartStrategy>(std::make_unique<NoRestartStrategy>());
  }
  if (type == "fixed-delay" || type == "fixeddelay") {
    WEIR_ASSIGN_OR_RETURN(int64_t attempts, c.Get(o::kFixedDelayAttempts));
    WEIR_ASSIGN_OR_RETURN(auto delay, c.Get(o::kFixedDelayDelay));
    return std::unique_ptr<RestartStrategy>(
        std::make_unique<FixedDelayRestartStrategy>(attempts, delay));
  }
  if (type == "failure-rate" || type == "failurerate") {
    WEIR_ASSIGN_OR_RETURN(int64_t max, c.Get(o::kFailureRateMaxFailures));
    WEIR_ASSIGN_OR_RETURN(auto interval, c.Get(o::kFailureRateInterval));
    WEIR_ASSIGN_OR_RETURN(auto delay, c.Get(o::kFailureRateDelay));
    return std::unique_ptr<RestartStrategy>(
        std::make_unique<FailureRateRestartStrategy>(max, interval, delay));
  }
  ExponentialDelayRestartStrategy::Options e;
  WEIR_ASSIGN_OR_RETURN(e.initial_backoff, c.Get(o::kExponentialInitialBackoff));
  WEIR_ASSIGN_OR_RETURN(e.max_backoff, c.Get(o::kExponentialMaxBackoff));
  WEIR_ASSIGN_OR_RETURN(e.multiplier, c.Get(o::kExponentialMultiplier));
  WEIR_ASSIGN_OR_RETURN(e.reset_threshold, c.Get(o::kExponentialResetThreshold));
  WEIR_ASSIGN_OR_RETURN(e.jitter, c.Get(o::kExponentialJitter));
  WEIR_ASSIGN_OR_RETURN(e.attempts_before_reset, c.Get(o::kExponentialAttempts));
  const std::string p = "restart-strategy.exponential-delay.";
  if (e.initial_backoff.count() < 1) {
    return Status::InvalidArgument(p + "initial-backoff must be at least 1 ms");
  }
  if (e.reset_threshold.count() < 1) {
    return Status::InvalidArgument(p + "reset-backoff-threshold must be at least 1 ms");
  }
  if (e.multiplier < 1.0) {
    return Status::InvalidArgument(p + "backoff-multiplier must be at least 1.0");
  }
  if (e.jitter < 0.0 || e.jitter > 1.0) {
    return Status::InvalidArgument(p + "jitter-factor must be between 0 and 1");
  }
  if (e.max_backoff < e.initial_backoff) {
    return Status::InvalidArgument(p + "max-backoff must not be less than initial-backoff");
  }
  return std::unique_ptr<RestartStrategy>(std::make_unique<ExponentialDelayRestartStrategy>(e));
}

}  // namespace weir
