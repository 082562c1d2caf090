#include "rest/savepoint_target.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/file_system.h"

namespace weir {
namespace {

Status Bad(std::string_view target, std::string_view why) {
  return Status::InvalidArgument("targetDirectory '" + std::string(target) + "' " +
                                 std::string(why));
}

// "" when `dir` is a directory the process can create entries in; otherwise why not.
std::string WritableDirectory(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return "does not exist";
  if (!S_ISDIR(st.st_mode)) return "is not a directory";
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return "is not writable by the job";
  return "";
}

}  // namespace

Result<std::string> CheckSavepointTarget(std::string_view target) {
  if (target.empty()) return Bad(target, "is empty");
  if (target.size() > 4096) return Status::InvalidArgument("targetDirectory is too long");
  for (char c : target) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("targetDirectory contains a control character");
    }
  }
  auto resolved = ResolvePath(target, "targetDirectory");
  if (!resolved.ok()) return resolved.status();
  std::string path = *resolved;
  // Segment by segment: "..", and also "a/../b" spelled any way, is refused, not resolved.
  size_t i = 0;
  while (i <= path.size()) {
    size_t end = path.find('/', i);
    if (end == std::string::npos) end = path.size();
    if (path.compare(i, end - i, "..") == 0) {
      return Bad(target, "is not a clean path: it has a '..' segment");
    }
    i = end + 1;
  }
  std::string absolute = AbsolutePath(path);
  while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  struct stat st;
  if (::stat(absolute.c_str(), &st) == 0) {
    std::string why = WritableDirectory(absolute);
    if (!why.empty()) return Bad(target, why);
    return absolute;
  }
  std::string parent = DirName(absolute);
  std::string why = WritableDirectory(parent);
  if (!why.empty()) {
    return Bad(target, "does not exist, and its parent '" + parent + "' " + why +
                           " (a savepoint target is created one level deep at most)");
  }
  return absolute;
}

}  // namespace weir
