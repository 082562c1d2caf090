// Configuration: string key-value settings with Flink's key names, typed getters and clear
// errors.
//
// Sources, lowest priority first: the defaults, a YAML file (--config; flat "a.b.c: v" keys or
// nested maps, as Flink's config.yaml), the command line ("-D key=value", --parallelism,
// --restore), and the job's code (env.SetParallelism(...), env.EnableCheckpointing(...)):
// as in Flink, code wins, and the job logs a warning naming each value its code overrode.
// Every value remembers where it came from, so an error reads
// "execution.checkpointing.interval = 'fast' (from -D): not a duration".
//
// Durations use Flink's syntax: "500 ms", "1 s", "2 min", "1 h", or a bare number of
// milliseconds. Memory sizes: "64 mb", "1 gb", "4096" (bytes).
//
// Thread-safety: not synchronized; build it on one thread, then share it read-only.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "weir/status.h"

namespace weir {

// A memory size in bytes ("64 mb", "1 gb", "4096").
struct MemorySize {
  uint64_t bytes = 0;
  friend bool operator==(MemorySize, MemorySize) = default;
};

// What every option declaration says, untyped: for the unknown-key check and the
// documentation table.
struct ConfigOptionInfo {
  std::string_view key;
  // The default as a user would write it ("10 min", "64 mb"), parsed like a user's value;
  // empty: no default (the option is off or computed, as the description says).
  std::string_view default_value;
  std::string_view description;
  std::string_view type;                                // "duration", "integer", ...
  std::array<std::string_view, 2> fallback_keys = {};  // older names, still read
  int64_t min = std::numeric_limits<int64_t>::min();   // integers: the allowed range
  int64_t max = std::numeric_limits<int64_t>::max();
  std::array<std::string_view, 10> allowed = {};  // enumerations: the values, as listed
};

// One configuration option, declared once (as Flink's ConfigOptions.key(...)...): each
// module declares its options as constants, and reads them with Configuration::Get, which
// parses and validates the value and names the key, the value and where it came from in any
// error. T: int64_t, double, bool, std::string, std::chrono::milliseconds or MemorySize.
//
//   inline constexpr auto kRetained =
//       ConfigOption<int64_t>("execution.checkpointing.num-retained", "1", "Checkpoints kept.")
//           .WithRange(1, 10000)
//           .WithFallbackKeys("state.checkpoints.num-retained");
template <typename T>
class ConfigOption {
 public:
  constexpr ConfigOption(std::string_view key, std::string_view default_value,
                         std::string_view description) {
    info_.key = key;
    info_.default_value = default_value;
    info_.description = description;
    info_.type = TypeName();
  }
  constexpr ConfigOption WithFallbackKeys(std::string_view a, std::string_view b = {}) const {
    ConfigOption o = *this;
    o.info_.fallback_keys = {a, b};
    return o;
  }
  // Integers only: the value must lie in [min, max].
  constexpr ConfigOption WithRange(int64_t min, int64_t max) const {
    ConfigOption o = *this;
    o.info_.min = min;
    o.info_.max = max;
    return o;
  }
  // Strings only: one of these (compared ignoring case, '-' and '_' alike), read as listed.
  constexpr ConfigOption WithAllowed(std::array<std::string_view, 10> values) const {
    ConfigOption o = *this;
    o.info_.allowed = values;
    o.info_.type = "enum";
    return o;
  }

  constexpr std::string_view key() const { return info_.key; }
  constexpr const ConfigOptionInfo& info() const { return info_; }

 private:
  static constexpr std::string_view TypeName() {
    if constexpr (std::is_same_v<T, bool>) return "boolean";
    if constexpr (std::is_same_v<T, int64_t>) return "integer";
    if constexpr (std::is_same_v<T, double>) return "number";
    if constexpr (std::is_same_v<T, std::string>) return "string";
    if constexpr (std::is_same_v<T, std::chrono::milliseconds>) return "duration";
    if constexpr (std::is_same_v<T, MemorySize>) return "memory size";
    return "value";
  }

  ConfigOptionInfo info_;
};

class Configuration {
 public:
  struct Entry {
    std::string value;
    std::string source;  // "code", "-D", or the file name
  };

  Configuration() = default;

  static Result<Configuration> FromYamlFile(const std::string& path);
  static Result<Configuration> FromYamlString(std::string_view yaml, std::string_view source);

  Configuration& Set(std::string_view key, std::string value, std::string source = "code");
  // Parses "key=value" (the argument of -D).
  Status SetFromArgument(std::string_view key_equals_value);
  // Copies every entry of `other` into this, replacing existing ones.
  void MergeFrom(const Configuration& other);
  void Remove(std::string_view key);

  bool Contains(std::string_view key) const { return Find(key) != nullptr; }
  // The raw value of `key` exactly as set.
  std::optional<std::string> GetRaw(std::string_view key) const;

  // The option's value: from its key, else from a fallback key, else its default. An error
  // names the key the user wrote, the value and where it came from.
  template <typename T>
  Result<T> Get(const ConfigOption<T>& option) const;
  // As Get, but nullopt when the option is unset and has no default.
  template <typename T>
  Result<std::optional<T>> GetOptional(const ConfigOption<T>& option) const;
  // Whether the option's key or one of its fallback keys is set.
  template <typename T>
  bool IsSet(const ConfigOption<T>& option) const {
    return FindOption(option.info()) != nullptr;
  }
  // Where the option's value comes from ("-D", a file name, "code"), or "default".
  template <typename T>
  std::string SourceOf(const ConfigOption<T>& option) const {
    const Entry* e = FindOption(option.info());
    return e ? e->source : "default";
  }
  template <typename T>
  Configuration& Set(const ConfigOption<T>& option, std::string value,
                     std::string source = "code") {
    return Set(option.key(), std::move(value), std::move(source));
  }

  std::string GetString(std::string_view key, std::string_view default_value) const;
  Result<int64_t> GetInt(std::string_view key, int64_t default_value) const;
  Result<double> GetDouble(std::string_view key, double default_value) const;
  Result<bool> GetBool(std::string_view key, bool default_value) const;
  Result<std::chrono::milliseconds> GetDuration(std::string_view key,
                                                std::chrono::milliseconds default_value) const;
  Result<uint64_t> GetMemorySize(std::string_view key, uint64_t default_value) const;
  // One of `allowed` (compared case-insensitively, '-' and '_' alike); returns it as listed.
  Result<std::string> GetEnum(std::string_view key, std::string_view default_value,
                              const std::vector<std::string_view>& allowed) const;

  // Keys that look like engine options (under an engine prefix) but are none of `known`,
  // each with a suggestion when one is close ("did you mean ..."). User-defined keys outside
  // engine prefixes are not listed.
  std::vector<std::string> UnknownKeyWarnings(
      const std::vector<const ConfigOptionInfo*>& known) const;

  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }

  // One line per value the job's code replaced (Set with source "code" over another source).
  std::vector<std::string> OverrideWarnings() const;

 private:
  struct Override {
    std::string key;
    Entry replaced;
    std::string value;
  };
  const Entry* Find(std::string_view key) const;
  // The entry of the option's key, else of its first fallback key that is set; `key_set`
  // says which.
  const Entry* FindOption(const ConfigOptionInfo& option,
                          std::string_view* key_set = nullptr) const;
  // The option's value, parsed from its entry, or from its default when unset.
  template <typename T>
  Result<T> Parse(const ConfigOptionInfo& option) const;
  Status BadValue(std::string_view key, const Entry& e, std::string_view why) const;

  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<Override> overridden_;
};

template <typename T>
Result<std::optional<T>> Configuration::GetOptional(const ConfigOption<T>& option) const {
  const ConfigOptionInfo& info = option.info();
  if (FindOption(info) == nullptr && info.default_value.empty()) return std::optional<T>();
  auto v = Parse<T>(info);
  if (!v.ok()) return v.status();
  return std::optional<T>(std::move(*v));
}

template <typename T>
Result<T> Configuration::Get(const ConfigOption<T>& option) const {
  auto v = GetOptional(option);
  if (!v.ok()) return v.status();
  if (!v->has_value()) {
    return Status::InvalidArgument("configuration " + std::string(option.key()) +
                                   " is not set and has no default");
  }
  return std::move(**v);
}

// Parsers shared with the command line; they return InvalidArgument naming the text.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
Result<uint64_t> ParseMemorySize(std::string_view text);
std::string FormatDuration(std::chrono::milliseconds d);
std::string FormatBytes(uint64_t bytes);

}  // namespace weir
