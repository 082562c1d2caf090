// nexmark_dump: prints the first N Nexmark events, one canonical JSON line each (see
// nexmark_event.h). The Java NexmarkDump (bench/nexmark/flink) prints the same bytes for the
// same flags; check_generators.sh diffs the two.
//
//   nexmark_dump [--events N] [--generators G] [--rate EVENTS_PER_S] [--base-time MS]
//
// With G > 1 the events are split as the suite splits them over G parallel source readers, and
// the slices are printed one after the other (slice 0's events, then slice 1's, ...).
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "nexmark_generator.h"

namespace {

constexpr char kUsage[] =
    "usage: nexmark_dump [--events N] [--generators G] [--rate EVENTS_PER_S] [--base-time MS]\n"
    "  --events N        events to print (default 100)\n"
    "  --generators G    parallel generators the events are split over (default 1)\n"
    "  --rate R          events per second of event time over all generators\n"
    "                    (default 10000000, the Nexmark suite's workload rate)\n"
    "  --base-time MS    event time of event number 0 (default 1436918400000)\n";

bool ParseInt(std::string_view s, int64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t events = 100;
  int64_t generators = 1;
  int64_t rate = 10'000'000;
  int64_t base_time = weir::nexmark::kDefaultBaseTimeMs;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    int64_t* target = flag == "--events"       ? &events
                      : flag == "--generators" ? &generators
                      : flag == "--rate"       ? &rate
                      : flag == "--base-time"  ? &base_time
                                               : nullptr;
    if (target == nullptr || i + 1 >= argc || !ParseInt(argv[i + 1], target)) {
      std::fprintf(stderr, "nexmark_dump: bad or incomplete flag '%s'\n%s", argv[i], kUsage);
      return 2;
    }
    ++i;
  }
  if (events <= 0 || generators <= 0 || generators > 1024 || rate <= 0 || rate > INT32_MAX) {
    std::fprintf(stderr, "nexmark_dump: --events, --generators and --rate must be positive\n");
    return 2;
  }

  weir::nexmark::GeneratorConfig config;
  config.first_event_rate = static_cast<int32_t>(rate);
  config.num_event_generators = static_cast<int32_t>(generators);
  config.base_time_ms = base_time;
  config.max_events = events;
  if (std::string error = config.Validate(); !error.empty()) {
    std::fprintf(stderr, "nexmark_dump: %s\n", error.c_str());
    return 2;
  }

  weir::nexmark::Event event;
  std::string buffer;
  buffer.reserve(1 << 20);
  for (const auto& slice : config.Split(static_cast<int>(generators))) {
    weir::nexmark::NexmarkGenerator generator(slice);
    while (generator.HasNext()) {
      generator.Next(&event);
      weir::nexmark::AppendCanonicalJson(event, &buffer);
      if (buffer.size() > (1 << 20) - 4096) {
        std::fwrite(buffer.data(), 1, buffer.size(), stdout);
        buffer.clear();
      }
    }
  }
  std::fwrite(buffer.data(), 1, buffer.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
