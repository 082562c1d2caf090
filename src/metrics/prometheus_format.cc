#include "metrics/prometheus_format.h"

#include <cmath>
#include <cstdio>
#include <map>

namespace weir {
namespace {

std::string_view LevelName(MetricScope::Level level) {
  switch (level) {
    case MetricScope::Level::kJob:
      return "job";
    case MetricScope::Level::kTask:
      return "task";
    case MetricScope::Level::kOperator:
      return "operator";
  }
  return "job";
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void AppendLabel(std::string* out, std::string_view name, std::string_view value) {
  if (out->back() != '{') out->push_back(',');
  out->append(name);
  out->append("=\"");
  out->append(EscapePrometheusLabel(value));
  out->push_back('"');
}

std::string Labels(const MetricScope& s, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  std::string out = "{";
  AppendLabel(&out, "job_id", s.job_id);
  AppendLabel(&out, "job_name", s.job_name);
  if (s.level != MetricScope::Level::kJob) {
    AppendLabel(&out, "task_id", s.task_id);
    AppendLabel(&out, "task_name", s.task_name);
    AppendLabel(&out, "subtask_index", std::to_string(s.subtask_index));
  }
  if (s.level == MetricScope::Level::kOperator) {
    AppendLabel(&out, "operator_id", s.operator_id);
    AppendLabel(&out, "operator_name", s.operator_name);
  }
  if (!extra_name.empty()) AppendLabel(&out, extra_name, extra_value);
  out.push_back('}');
  return out;
}

}  // namespace

std::string EscapePrometheusLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PrometheusName(const MetricValue& metric) {
  std::string name = "weir_" + std::string(LevelName(metric.scope->level)) + "_";
  for (char c : metric.name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == ':';
    name.push_back(ok ? c : '_');
  }
  return name;
}

std::string FormatPrometheus(const std::vector<MetricValue>& metrics) {
  // Every sample of one name must follow its TYPE line, together.
  std::map<std::string, std::vector<const MetricValue*>> by_name;
  for (const auto& m : metrics) by_name[PrometheusName(m)].push_back(&m);
  std::string out;
  for (const auto& [name, series] : by_name) {
    const MetricType type = series.front()->type;
    bool summary = type == MetricType::kHistogram;
    out += "# HELP " + name + " weir " + std::string(MetricTypeName(type)) + " " +
           series.front()->name + "\n";
    out += "# TYPE " + name + (summary ? " summary\n" : " gauge\n");
    for (const MetricValue* m : series) {
      if (m->type == MetricType::kHistogram && summary) {
        const HistogramStatistics& h = m->histogram;
        const std::pair<const char*, double> quantiles[] = {
            {"0.5", h.p50}, {"0.75", h.p75}, {"0.95", h.p95},
            {"0.98", h.p98}, {"0.99", h.p99}, {"0.999", h.p999}};
        for (const auto& [q, v] : quantiles) {
          out += name + Labels(*m->scope, "quantile", q) + " " + Number(v) + "\n";
        }
        out += name + "_count" + Labels(*m->scope) + " " + Number(static_cast<double>(h.count)) +
               "\n";
      } else {
        // A name registered with two types in different scopes: each sample as a gauge.
        out += name + Labels(*m->scope) + " " + Number(m->value) + "\n";
      }
    }
  }
  return out;
}

}  // namespace weir
