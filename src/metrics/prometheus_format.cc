#include "metrics/prometheus_format.h"

#include <cmath>
#include <cstdio>
#include <map>

namespace weir {
namespace {

// The length of the UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0 if it is not one.
size_t Utf8SequenceLength(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return n;
}

// `text` for the exposition format: every byte that is not UTF-8 replaced by U+FFFD
// (Prometheus refuses a whole scrape for one, in a job, task or operator name, say), backslash
// and line feed escaped, and double quotes too in a label value.
std::string Escaped(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    size_t n = Utf8SequenceLength(text);
    const char c = text[0];
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      n = 1;
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out.append(text.data(), n);
    }
    text.remove_prefix(n);
  }
  return out;
}

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

std::string EscapePrometheusLabel(std::string_view value) { return Escaped(value, true); }

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
           Escaped(series.front()->name, false) + "\n";
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
