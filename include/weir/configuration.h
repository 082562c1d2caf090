// Configuration: string key-value settings with Flink's key names, typed getters and clear
// errors.
//
// Sources, lowest priority first: the defaults, a YAML file (--config; flat "a.b.c: v" keys or
// nested maps, as Flink's config.yaml), code (env.SetParallelism(...)), and "-D key=value"
// command-line overrides. Every value remembers where it came from, so an error reads
// "execution.checkpointing.interval = 'fast' (from -D): not a duration".
//
// Durations use Flink's syntax: "500 ms", "1 s", "2 min", "1 h", or a bare number of
// milliseconds. Memory sizes: "64 mb", "1 gb", "4096" (bytes).
//
// Thread-safety: not synchronized; build it on one thread, then share it read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weir/status.h"

namespace weir {

// A known option: its key, older names still accepted, default and meaning.
struct ConfigOptionInfo {
  std::string_view key;
  std::string_view default_value;  // as text; empty: no default
  std::string_view description;
  std::vector<std::string_view> deprecated_keys = {};
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
  // The raw value of `key` or of one of the option's deprecated names.
  std::optional<std::string> GetRaw(std::string_view key) const;

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

  // Keys that look like engine options but are not known, each with a suggestion when one
  // is close ("did you mean ..."). User-defined keys outside engine prefixes are not listed.
  std::vector<std::string> UnknownKeyWarnings() const;

  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }

  // Every option the engine reads, for --help and validation.
  static const std::vector<ConfigOptionInfo>& KnownOptions();

 private:
  const Entry* Find(std::string_view key) const;
  Status BadValue(std::string_view key, const Entry& e, std::string_view why) const;

  std::map<std::string, Entry, std::less<>> entries_;
};

// Parsers shared with the command line; they return InvalidArgument naming the text.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
Result<uint64_t> ParseMemorySize(std::string_view text);
std::string FormatDuration(std::chrono::milliseconds d);
std::string FormatBytes(uint64_t bytes);

}  // namespace weir
