#include "chaos_output.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace weir::tool {

namespace fs = std::filesystem;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// The output's files by path relative to it ("" for a single file); hidden files and
// directories (a sink's staging data) are not output.
OutputFiles ReadOutput(const std::string& path) {
  OutputFiles files;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    files[""] = ReadAll(path);
    return files;
  }
  if (!fs::is_directory(path, ec)) return files;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) {
      files[fs::relative(it->path(), path).string()] = ReadAll(it->path().string());
    }
  }
  return files;
}

// Where `got` departs from `want`: "" if it is a prefix (or, with `whole`, equal).
std::string CompareOutput(const OutputFiles& want, const OutputFiles& got, bool whole) {
  for (const auto& [name, data] : got) {
    std::string file = name.empty() ? "the output" : "output file '" + name + "'";
    auto it = want.find(name);
    if (it == want.end()) return file + " exists, but the reference run wrote no such file";
    const std::string& ref = it->second;
    size_t n = std::min(ref.size(), data.size());
    size_t i = 0;
    while (i < n && ref[i] == data[i]) ++i;
    if (i < n || data.size() > ref.size()) {
      size_t line = 1 + static_cast<size_t>(std::count(data.begin(), data.begin() + i, '\n'));
      return file + " differs from the reference at byte " + std::to_string(i) + " (line " +
             std::to_string(line) + ")" +
             (data.size() > ref.size() && i == n
                  ? ": it is longer than the reference (" + std::to_string(data.size()) + " > " +
                        std::to_string(ref.size()) + " bytes)"
                  : "");
    }
    if (whole && data.size() != ref.size()) {
      return file + " ends early: " + std::to_string(data.size()) + " of the reference's " +
             std::to_string(ref.size()) + " bytes";
    }
  }
  if (whole) {
    for (const auto& [name, data] : want) {
      if (!got.contains(name) && !data.empty()) {
        return (name.empty() ? std::string("the output") : "output file '" + name + "'") +
               " is missing";
      }
    }
  }
  return "";
}

}  // namespace weir::tool
