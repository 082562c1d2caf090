// Metrics in Prometheus' text exposition format (version 0.0.4), as GET /metrics serves them.
//
// A metric's name is "weir_<job|task|operator>_<name>", with every character Prometheus
// does not allow in a name replaced by '_' ("rocksdb.estimate-num-keys" becomes
// "weir_operator_rocksdb_estimate_num_keys"), as Flink's PrometheusReporter does. Labels
// say where it belongs: job_id and job_name, then task_id, task_name and subtask_index for
// tasks and operators, then operator_id and operator_name for operators. Counters and
// gauges are gauges (a restarted task starts counting again, as in Flink); a meter is its
// rate; a histogram is a summary with quantiles 0.5, 0.75, 0.95, 0.98, 0.99 and 0.999 over
// its window, and its count.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_registry.h"

namespace weir {

std::string FormatPrometheus(const std::vector<MetricValue>& metrics);

// "weir_operator_numRecordsIn" for a metric.
std::string PrometheusName(const MetricValue& metric);
// A label value with backslash, double quote and newline escaped.
std::string EscapePrometheusLabel(std::string_view value);

}  // namespace weir
