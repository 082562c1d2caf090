#include "base/fault_points.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace weir {
namespace {

struct Point {
  std::function<Status()> action;
  int skip = 0;
  int count = -1;
  int hits = 0;
};

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}

std::map<std::string, Point, std::less<>>& Points() {
  static std::map<std::string, Point, std::less<>> points;
  return points;
}

// Reads WEIR_CRASH_AT once, at start-up.
bool ArmFromEnvironment() {
  const char* spec = std::getenv("WEIR_CRASH_AT");
  if (spec == nullptr || *spec == '\0') return false;
  std::string s(spec);
  int nth = 1;
  if (auto colon = s.rfind(':'); colon != std::string::npos) {
    nth = std::max(1, std::atoi(s.c_str() + colon + 1));
    s.resize(colon);
  }
  if (FaultPoints::Find(s) == nullptr) {
    // A crash test arming a point that does not exist would otherwise run without a crash.
    std::string known;
    for (const FaultPoint& p : fault_points::kAll) fmt::format_to(std::back_inserter(known), " {}", p.name);
    std::fprintf(stderr, "weir: WEIR_CRASH_AT names no fault point: '%s'; the points are:%s\n",
                 s.c_str(), known.c_str());
    std::_Exit(2);
  }
  Points()[s] = Point{[s, nth]() -> Status {
                        // write(2), not stdio: nothing buffered may be lost to the kill.
                        std::string line = FaultPoints::CrashMessage(s, nth) + "\n";
                        (void)!::write(STDERR_FILENO, line.data(), line.size());
                        ::kill(::getpid(), SIGKILL);
                        return Status::OK();
                      },
                      nth - 1, -1, 0};
  return true;
}

}  // namespace

std::atomic<bool> FaultPoints::armed_{ArmFromEnvironment()};

const FaultPoint* FaultPoints::Find(std::string_view name) {
  for (const FaultPoint& p : fault_points::kAll) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string FaultPoints::CrashMessage(std::string_view name, int hit) {
  return fmt::format("weir: crash at fault point {} (hit {})", name, hit);
}

void FaultPoints::Arm(std::string_view name, std::function<Status()> action, int skip,
                      int count) {
  std::lock_guard<std::mutex> lock(Mu());
  Points()[std::string(name)] = Point{std::move(action), skip, count, 0};
  armed_.store(true);
}

void FaultPoints::Disarm(std::string_view name) {
  std::lock_guard<std::mutex> lock(Mu());
  auto it = Points().find(name);
  if (it != Points().end()) Points().erase(it);
  armed_.store(!Points().empty());
}

void FaultPoints::DisarmAll() {
  std::lock_guard<std::mutex> lock(Mu());
  Points().clear();
  armed_.store(false);
}

int FaultPoints::HitCount(std::string_view name) {
  std::lock_guard<std::mutex> lock(Mu());
  auto it = Points().find(name);
  return it == Points().end() ? 0 : it->second.hits;
}

Status FaultPoints::Hit(FaultPoint point) {
  std::function<Status()> action;
  {
    std::lock_guard<std::mutex> lock(Mu());
    auto it = Points().find(point.name);
    if (it == Points().end()) return Status::OK();
    Point& p = it->second;
    ++p.hits;
    if (p.hits <= p.skip || p.count == 0) return Status::OK();
    if (p.count > 0) --p.count;
    action = p.action;
  }
  return action();
}

}  // namespace weir
