#include "weir/configuration.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>

namespace weir {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits "12 ms" / "12ms" into the number and the unit.
bool SplitNumberAndUnit(std::string_view text, double* number, std::string* unit) {
  text = Trim(text);
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  std::string num(text.substr(0, i));
  char* end = nullptr;
  *number = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size() || !std::isfinite(*number)) return false;
  *unit = Lower(Trim(text.substr(i)));
  return true;
}

// Keys under these prefixes are the engine's; an unknown one there is probably a typo.
constexpr std::string_view kEnginePrefixes[] = {
    "execution.",   "state.", "restart-strategy", "pipeline.", "parallelism.",
    "taskmanager.", "weir.",
};

// Options weir had and replaced, with what replaces them: a configuration written for an
// older weir gets told what to write now.
struct ReplacedKey {
  std::string_view key;
  std::string_view by;
};
constexpr ReplacedKey kReplacedKeys[] = {
    {"state.backend.rocksdb.write-cache.entries",
     "state.backend.rocksdb.write-cache.size (a memory size, about 88 bytes a key)"},
};

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Bounds on what a configuration file may expand to. YAML aliases let a few hundred bytes
// name a tree of billions of nodes (a "billion laughs" file): without these, flattening one
// takes minutes and gigabytes.
constexpr size_t kMaxConfigFileBytes = 1 << 20;
constexpr size_t kMaxConfigEntries = 10'000;
constexpr int kMaxConfigDepth = 32;

struct FlattenLimits {
  size_t entries = 0;
  Status error;
  std::map<std::string, int, std::less<>> lines;  // the line each key was given on
};

// Stores `prefix` = `value`, unless the document gave the key already ("a.b: 1" and
// "a: {b: 2}" are the same key): which one was meant is the user's to say, not last-wins.
void Put(const std::string& prefix, std::string value, int line, const std::string& source,
         FlattenLimits* limits, std::map<std::string, Configuration::Entry, std::less<>>* out) {
  auto [it, inserted] = limits->lines.emplace(prefix, line);
  if (!inserted) {
    limits->error = Status::InvalidArgument("the key '" + prefix + "' is given twice (lines " +
                                            std::to_string(it->second) + " and " +
                                            std::to_string(line) + ")");
    return;
  }
  (*out)[prefix] = Configuration::Entry{std::move(value), source};
}

// `line`: where the key of `node` is (a value's own mark may be a later line: an empty value's
// is the next key's).
void Flatten(const YAML::Node& node, const std::string& prefix, int line,
             const std::string& source, int depth, FlattenLimits* limits,
             std::map<std::string, Configuration::Entry, std::less<>>* out) {
  if (!limits->error.ok()) return;
  if (depth > kMaxConfigDepth) {
    limits->error = Status::InvalidArgument("nesting deeper than " +
                                            std::to_string(kMaxConfigDepth) + " levels at '" +
                                            prefix + "'");
    return;
  }
  if (++limits->entries > kMaxConfigEntries) {
    limits->error = Status::InvalidArgument(
        "more than " + std::to_string(kMaxConfigEntries) +
        " keys and values (YAML aliases that expand without bound?)");
    return;
  }
  if (node.IsMap()) {
    for (const auto& kv : node) {
      std::string key = kv.first.as<std::string>();
      Flatten(kv.second, prefix.empty() ? key : prefix + "." + key, kv.first.Mark().line + 1,
              source, depth + 1, limits, out);
    }
  } else if (node.IsSequence()) {
    // Lists are stored as Flink's legacy "a;b;c" form.
    std::string joined;
    for (const auto& item : node) {
      if (++limits->entries > kMaxConfigEntries) {
        limits->error = Status::InvalidArgument(
            "more than " + std::to_string(kMaxConfigEntries) +
            " keys and values (YAML aliases that expand without bound?)");
        return;
      }
      if (!joined.empty()) joined += ';';
      joined += item.as<std::string>();
    }
    Put(prefix, std::move(joined), line, source, limits, out);
  } else if (node.IsScalar()) {
    Put(prefix, node.as<std::string>(), line, source, limits, out);
  } else if (node.IsNull() && !prefix.empty()) {
    // "key:" with no value. (An empty document is a null root: no entries at all.)
    Put(prefix, "", line, source, limits, out);
  }
}

// Flatten, with yaml-cpp's conversion errors (a map inside a list, a list as a key) turned
// into a Status: a config file must never crash the engine.
Status FlattenChecked(const YAML::Node& root, const std::string& what, const std::string& source,
                      std::map<std::string, Configuration::Entry, std::less<>>* out) {
  FlattenLimits limits;
  try {
    Flatten(root, "", 0, source, 0, &limits, out);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(what +
                                   ": values must be scalars, lists of scalars or maps "
                                   "with scalar keys (" +
                                   e.what() + ")");
  }
  return limits.error.WithContext(what);
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  double n;
  std::string unit;
  if (!SplitNumberAndUnit(text, &n, &unit)) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a duration (expected e.g. '500 ms', '1 s', '2 min')");
  }
  double ms;
  if (unit.empty() || unit == "ms" || unit == "milli" || unit == "millis" ||
      unit == "millisecond" || unit == "milliseconds") {
    ms = n;
  } else if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" ||
             unit == "seconds") {
    ms = n * 1e3;
  } else if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" ||
             unit == "minutes") {
    ms = n * 60e3;
  } else if (unit == "h" || unit == "hour" || unit == "hours") {
    ms = n * 3600e3;
  } else if (unit == "d" || unit == "day" || unit == "days") {
    ms = n * 86400e3;
  } else {
    return Status::InvalidArgument("'" + std::string(text) + "' has an unknown time unit '" + unit +
                                   "' (use ms, s, min, h or d)");
  }
  if (ms > 1e15) return Status::InvalidArgument("'" + std::string(text) + "' is too long");
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

Result<uint64_t> ParseMemorySize(std::string_view text) {
  double n;
  std::string unit;
  if (!SplitNumberAndUnit(text, &n, &unit)) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a memory size (expected e.g. '64 mb', '1 gb')");
  }
  double mult;
  if (unit.empty() || unit == "b" || unit == "bytes") {
    mult = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kibibytes") {
    mult = 1024.0;
  } else if (unit == "m" || unit == "mb" || unit == "mebibytes") {
    mult = 1024.0 * 1024;
  } else if (unit == "g" || unit == "gb" || unit == "gibibytes") {
    mult = 1024.0 * 1024 * 1024;
  } else if (unit == "t" || unit == "tb" || unit == "tebibytes") {
    mult = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return Status::InvalidArgument("'" + std::string(text) + "' has an unknown size unit '" + unit +
                                   "' (use b, kb, mb, gb or tb)");
  }
  double bytes = std::round(n * mult);
  // 2^64 is exactly representable; anything at or above it does not fit (and converting it
  // would be undefined behaviour).
  if (bytes >= 18446744073709551616.0) {
    return Status::InvalidArgument("'" + std::string(text) + "' is too large");
  }
  return static_cast<uint64_t>(bytes);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + " min";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

std::string FormatBytes(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024;
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

Result<Configuration> Configuration::FromYamlFile(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxConfigFileBytes) {
    return Status::InvalidArgument("configuration file '" + path + "' has " +
                                   std::to_string(size) + " bytes; at most " +
                                   std::to_string(kMaxConfigFileBytes) + " are read");
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::NotFound("configuration file '" + path + "' cannot be read");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("configuration file '" + path + "': " + e.what());
  }
  Configuration config;
  if (!root.IsNull() && !root.IsMap()) {
    return Status::InvalidArgument("configuration file '" + path +
                                   "' must be a YAML map of keys to values");
  }
  WEIR_RETURN_IF_ERROR(
      FlattenChecked(root, "configuration file '" + path + "'", path, &config.entries_));
  return config;
}

Result<Configuration> Configuration::FromYamlString(std::string_view yaml,
                                                    std::string_view source) {
  if (yaml.size() > kMaxConfigFileBytes) {
    return Status::InvalidArgument("configuration '" + std::string(source) + "' has " +
                                   std::to_string(yaml.size()) + " bytes; at most " +
                                   std::to_string(kMaxConfigFileBytes) + " are read");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("configuration '" + std::string(source) + "': " + e.what());
  }
  if (!root.IsNull() && !root.IsMap()) {
    return Status::InvalidArgument("configuration '" + std::string(source) +
                                   "' must be a YAML map of keys to values");
  }
  Configuration config;
  WEIR_RETURN_IF_ERROR(FlattenChecked(root, "configuration '" + std::string(source) + "'",
                                      std::string(source), &config.entries_));
  return config;
}

Configuration& Configuration::Set(std::string_view key, std::string value, std::string source) {
  auto it = entries_.find(key);
  // As in Flink, what the job's code sets wins over the command line and files: note it, so
  // the job can say which value it did not take.
  if (it != entries_.end() && source == "code" && it->second.source != "code" &&
      it->second.value != value) {
    overridden_.push_back(Override{std::string(key), it->second, value});
  }
  entries_[std::string(key)] = Entry{std::move(value), std::move(source)};
  return *this;
}

std::vector<std::string> Configuration::OverrideWarnings() const {
  std::vector<std::string> out;
  for (const Override& o : overridden_) {
    out.push_back("configuration " + o.key + " = '" + o.replaced.value + "' (from " +
                  o.replaced.source + ") is not used: the job's code sets it to '" + o.value +
                  "', and code wins, as in Flink");
  }
  return out;
}

Status Configuration::SetFromArgument(std::string_view arg) {
  auto eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::InvalidArgument("-D '" + std::string(arg) + "': expected key=value");
  }
  std::string_view key = Trim(arg.substr(0, eq));
  if (key.empty()) return Status::InvalidArgument("-D '" + std::string(arg) + "': empty key");
  Set(key, std::string(Trim(arg.substr(eq + 1))), "-D");
  return Status::OK();
}

void Configuration::MergeFrom(const Configuration& other) {
  for (const auto& [k, e] : other.entries_) entries_[k] = e;
}

void Configuration::Remove(std::string_view key) {
  auto it = entries_.find(key);
  if (it != entries_.end()) entries_.erase(it);
}

const Configuration::Entry* Configuration::Find(std::string_view key) const {
  auto it = entries_.find(key);
  return it != entries_.end() ? &it->second : nullptr;
}

const Configuration::Entry* Configuration::FindOption(const ConfigOptionInfo& option,
                                                      std::string_view* key_set) const {
  if (const Entry* e = Find(option.key)) {
    if (key_set) *key_set = option.key;
    return e;
  }
  for (std::string_view old_key : option.fallback_keys) {
    if (old_key.empty()) continue;
    if (const Entry* e = Find(old_key)) {
      if (key_set) *key_set = old_key;
      return e;
    }
  }
  return nullptr;
}

namespace {

std::string NormalizeEnum(std::string_view s) {
  std::string out = Lower(Trim(s));
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

// Why `text` is not a T (empty when it is one), and the value.
template <typename T>
std::string ParseValue(const ConfigOptionInfo& option, std::string_view text, T* out);

template <>
std::string ParseValue(const ConfigOptionInfo& option, std::string_view text, int64_t* out) {
  std::string_view v = Trim(text);
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) return "not an integer";
  if (*out < option.min || *out > option.max) {
    if (option.max == std::numeric_limits<int64_t>::max()) {
      return "must be at least " + std::to_string(option.min);
    }
    return "must be between " + std::to_string(option.min) + " and " + std::to_string(option.max);
  }
  return "";
}

template <>
std::string ParseValue(const ConfigOptionInfo&, std::string_view text, double* out) {
  std::string v(Trim(text));
  char* end = nullptr;
  *out = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(*out)) return "not a number";
  return "";
}

template <>
std::string ParseValue(const ConfigOptionInfo&, std::string_view text, bool* out) {
  std::string v = Lower(Trim(text));
  if (v == "true" || v == "yes" || v == "1" || v == "on") {
    *out = true;
  } else if (v == "false" || v == "no" || v == "0" || v == "off") {
    *out = false;
  } else {
    return "not a boolean (true or false)";
  }
  return "";
}

template <>
std::string ParseValue(const ConfigOptionInfo& option, std::string_view text, std::string* out) {
  if (option.allowed[0].empty()) {
    *out = std::string(Trim(text));
    return "";
  }
  std::string v = NormalizeEnum(text);
  std::string list;
  for (std::string_view a : option.allowed) {
    if (a.empty()) continue;
    if (NormalizeEnum(a) == v) {
      *out = std::string(a);
      return "";
    }
    if (!list.empty()) list += ", ";
    list += a;
  }
  return "must be one of " + list;
}

template <>
std::string ParseValue(const ConfigOptionInfo&, std::string_view text,
                       std::chrono::milliseconds* out) {
  if (Trim(text).empty()) return "empty: give a duration such as '1 s', or remove the key";
  auto d = ParseDuration(text);
  if (!d.ok()) return d.status().message();
  if (d->count() < 0) return "must not be negative";
  *out = *d;
  return "";
}

template <>
std::string ParseValue(const ConfigOptionInfo&, std::string_view text, MemorySize* out) {
  if (Trim(text).empty()) return "empty: give a size such as '64 mb', or remove the key";
  auto m = ParseMemorySize(text);
  if (!m.ok()) return m.status().message();
  out->bytes = *m;
  return "";
}

}  // namespace

template <typename T>
Result<T> Configuration::Parse(const ConfigOptionInfo& option) const {
  std::string_view key = option.key;
  const Entry* e = FindOption(option, &key);
  T value{};
  if (e == nullptr) {
    std::string why = ParseValue(option, option.default_value, &value);
    if (!why.empty()) {
      return Status::Internal("the default of configuration " + std::string(option.key) + " ('" +
                              std::string(option.default_value) + "') is invalid: " + why);
    }
    return value;
  }
  std::string why = ParseValue(option, e->value, &value);
  if (!why.empty()) return BadValue(key, *e, why);
  return value;
}

template Result<int64_t> Configuration::Parse<int64_t>(const ConfigOptionInfo&) const;
template Result<double> Configuration::Parse<double>(const ConfigOptionInfo&) const;
template Result<bool> Configuration::Parse<bool>(const ConfigOptionInfo&) const;
template Result<std::string> Configuration::Parse<std::string>(const ConfigOptionInfo&) const;
template Result<std::chrono::milliseconds> Configuration::Parse<std::chrono::milliseconds>(
    const ConfigOptionInfo&) const;
template Result<MemorySize> Configuration::Parse<MemorySize>(const ConfigOptionInfo&) const;

std::optional<std::string> Configuration::GetRaw(std::string_view key) const {
  const Entry* e = Find(key);
  if (e == nullptr) return std::nullopt;
  return e->value;
}

Status Configuration::BadValue(std::string_view key, const Entry& e, std::string_view why) const {
  return Status::InvalidArgument("configuration " + std::string(key) + " = '" + e.value +
                                 "' (from " + e.source + "): " + std::string(why));
}

std::string Configuration::GetString(std::string_view key, std::string_view default_value) const {
  const Entry* e = Find(key);
  return e ? e->value : std::string(default_value);
}

Result<int64_t> Configuration::GetInt(std::string_view key, int64_t default_value) const {
  const Entry* e = Find(key);
  if (e == nullptr) return default_value;
  std::string_view v = Trim(e->value);
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size()) {
    return BadValue(key, *e, "not an integer");
  }
  return out;
}

Result<double> Configuration::GetDouble(std::string_view key, double default_value) const {
  const Entry* e = Find(key);
  if (e == nullptr) return default_value;
  std::string v(Trim(e->value));
  char* end = nullptr;
  double out = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(out)) {
    return BadValue(key, *e, "not a number");
  }
  return out;
}

Result<bool> Configuration::GetBool(std::string_view key, bool default_value) const {
  const Entry* e = Find(key);
  if (e == nullptr) return default_value;
  std::string v = Lower(Trim(e->value));
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  return BadValue(key, *e, "not a boolean (true or false)");
}

Result<std::chrono::milliseconds> Configuration::GetDuration(
    std::string_view key, std::chrono::milliseconds default_value) const {
  const Entry* e = Find(key);
  if (e == nullptr) return default_value;
  auto d = ParseDuration(e->value);
  if (!d.ok()) return BadValue(key, *e, d.status().message());
  if (d->count() < 0) return BadValue(key, *e, "must not be negative");
  return *d;
}

Result<uint64_t> Configuration::GetMemorySize(std::string_view key, uint64_t default_value) const {
  const Entry* e = Find(key);
  if (e == nullptr) return default_value;
  auto m = ParseMemorySize(e->value);
  if (!m.ok()) return BadValue(key, *e, m.status().message());
  return *m;
}

Result<std::string> Configuration::GetEnum(std::string_view key, std::string_view default_value,
                                           const std::vector<std::string_view>& allowed) const {
  const Entry* e = Find(key);
  if (e == nullptr) return std::string(default_value);
  auto norm = [](std::string_view s) {
    std::string out = Lower(Trim(s));
    std::replace(out.begin(), out.end(), '_', '-');
    return out;
  };
  std::string v = norm(e->value);
  std::string list;
  for (std::string_view a : allowed) {
    if (norm(a) == v) return std::string(a);
    if (!list.empty()) list += ", ";
    list += a;
  }
  return BadValue(key, *e, "must be one of " + list);
}

std::vector<std::string> Configuration::UnknownKeyWarnings(
    const std::vector<const ConfigOptionInfo*>& known_options) const {
  std::vector<std::string> warnings;
  for (const auto& [key, entry] : entries_) {
    bool engine = std::any_of(std::begin(kEnginePrefixes), std::end(kEnginePrefixes),
                              [&](std::string_view p) { return key.starts_with(p); });
    bool known = false;
    std::string_view best;
    size_t best_dist = std::numeric_limits<size_t>::max();
    for (const ConfigOptionInfo* opt : known_options) {
      if (opt->key == key || std::find(opt->fallback_keys.begin(), opt->fallback_keys.end(),
                                       key) != opt->fallback_keys.end()) {
        known = true;
        break;
      }
      size_t d = EditDistance(key, opt->key);
      if (d < best_dist) {
        best_dist = d;
        best = opt->key;
      }
    }
    if (known) continue;
    std::string w = "unknown configuration key '" + key + "' (from " + entry.source + ")";
    auto replaced = std::find_if(std::begin(kReplacedKeys), std::end(kReplacedKeys),
                                 [&](const ReplacedKey& r) { return r.key == key; });
    if (replaced != std::end(kReplacedKeys)) {
      w += ": replaced by " + std::string(replaced->by);
    } else if (best_dist <= 4) {
      w += "; did you mean '" + std::string(best) + "'?";
    } else if (!engine) {
      w += ": weir has no such option (if the job reads it itself, ignore this)";
    }
    warnings.push_back(std::move(w));
  }
  return warnings;
}

}  // namespace weir
