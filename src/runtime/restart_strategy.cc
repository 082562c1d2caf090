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
  WEIR_ASSIGN_OR_RETURN(
      std::string type,
      c.GetEnum("restart-strategy.type", checkpointing_enabled ? "exponential-delay" : "none",
                {"none", "off", "disable", "fixed-delay", "fixeddelay", "failure-rate",
                 "failurerate", "exponential-delay", "exponentialdelay"}));
  if (type == "none" || type == "off" || type == "disable") {
    return std::unique_ptr<RestartStrategy>(std::make_unique<NoRestartStrategy>());
  }
  if (type == "fixed-delay" || type == "fixeddelay") {
    WEIR_ASSIGN_OR_RETURN(int64_t attempts, c.GetInt("restart-strategy.fixed-delay.attempts", 1));
    WEIR_ASSIGN_OR_RETURN(
        auto delay, c.GetDuration("restart-strategy.fixed-delay.delay", std::chrono::seconds(1)));
    if (attempts < 0) {
      return Status::InvalidArgument("restart-strategy.fixed-delay.attempts must not be negative");
    }
    return std::unique_ptr<RestartStrategy>(
        std::make_unique<FixedDelayRestartStrategy>(attempts, delay));
  }
  if (type == "failure-rate" || type == "failurerate") {
    WEIR_ASSIGN_OR_RETURN(int64_t max,
                          c.GetInt("restart-strategy.failure-rate.max-failures-per-interval", 1));
    WEIR_ASSIGN_OR_RETURN(auto interval,
                          c.GetDuration("restart-strategy.failure-rate.failure-rate-interval",
                                        std::chrono::minutes(1)));
    WEIR_ASSIGN_OR_RETURN(
        auto delay, c.GetDuration("restart-strategy.failure-rate.delay", std::chrono::seconds(1)));
    if (max < 1) {
      return Status::InvalidArgument(
          "restart-strategy.failure-rate.max-failures-per-interval must be at least 1");
    }
    return std::unique_ptr<RestartStrategy>(
        std::make_unique<FailureRateRestartStrategy>(max, interval, delay));
  }
  ExponentialDelayRestartStrategy::Options o;
  const std::string p = "restart-strategy.exponential-delay.";
  WEIR_ASSIGN_OR_RETURN(o.initial_backoff, c.GetDuration(p + "initial-backoff", o.initial_backoff));
  WEIR_ASSIGN_OR_RETURN(o.max_backoff, c.GetDuration(p + "max-backoff", o.max_backoff));
  WEIR_ASSIGN_OR_RETURN(o.multiplier, c.GetDouble(p + "backoff-multiplier", o.multiplier));
  WEIR_ASSIGN_OR_RETURN(o.reset_threshold,
                        c.GetDuration(p + "reset-backoff-threshold", o.reset_threshold));
  WEIR_ASSIGN_OR_RETURN(o.jitter, c.GetDouble(p + "jitter-factor", o.jitter));
  WEIR_ASSIGN_OR_RETURN(o.attempts_before_reset,
                        c.GetInt(p + "attempts-before-reset-backoff", o.attempts_before_reset));
  if (o.initial_backoff.count() < 1) {
    return Status::InvalidArgument(p + "initial-backoff must be at least 1 ms");
  }
  if (o.reset_threshold.count() < 1) {
    return Status::InvalidArgument(p + "reset-backoff-threshold must be at least 1 ms");
  }
  if (o.attempts_before_reset < 1) {
    return Status::InvalidArgument(p + "attempts-before-reset-backoff must be at least 1");
  }
  if (o.multiplier < 1.0) {
    return Status::InvalidArgument(p + "backoff-multiplier must be at least 1.0");
  }
  if (o.jitter < 0.0 || o.jitter > 1.0) {
    return Status::InvalidArgument(p + "jitter-factor must be between 0 and 1");
  }
  if (o.max_backoff < o.initial_backoff) {
    return Status::InvalidArgument(p + "max-backoff must not be less than initial-backoff");
  }
  return std::unique_ptr<RestartStrategy>(std::make_unique<ExponentialDelayRestartStrategy>(o));
}

}  // namespace weir
