#include "base/fault_points.h"

#include <signal.h>
#include <unistd.h>

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
  Points()[s] = Point{[]() -> Status {
                        ::kill(::getpid(), SIGKILL);
                        return Status::OK();
                      },
                      nth - 1, -1, 0};
  return true;
}

}  // namespace

std::atomic<bool> FaultPoints::armed_{ArmFromEnvironment()};

void FaultPoints::Arm(std::string name, std::function<Status()> action, int skip, int count) {
  std::lock_guard<std::mutex> lock(Mu());
  Points()[std::move(name)] = Point{std::move(action), skip, count, 0};
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

Status FaultPoints::Hit(std::string_view name) {
  std::function<Status()> action;
  {
    std::lock_guard<std::mutex> lock(Mu());
    auto it = Points().find(name);
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
