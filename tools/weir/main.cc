// weir: the command-line tool for running jobs and their checkpoints, with Flink's verbs.
//
//   weir list                                  jobs running on this machine
//   weir info JOB                              state, vertices, records
//   weir checkpoints JOB [ID]                  counts, latest, history; or one checkpoint,
//                                              operator by operator and subtask by subtask
//   weir checkpoint JOB                        a checkpoint now; prints its id
//   weir savepoint JOB [DIR]                   a savepoint; waits, prints its path
//   weir stop JOB [--savepoint-dir DIR] [--drain]   stop with a savepoint; prints its path
//   weir cancel JOB                            cancel the job
//   weir inspect PATH [--state UID/NAME]       a checkpoint or savepoint, offline
//   weir verify PATH                           every file's checksum
//   weir chaos --kills N --output PATH -- PROGRAM ARGS...   exactly-once, proved by kill -9
//
// JOB is a job id, a unique prefix of one, or a job's name; jobs find themselves through the
// registry of running jobs (rest/job_registry.h), or -m host:port names a REST API. --json
// prints JSON for scripts. Exit codes: 0 done, 1 refused or failed, 2 bad usage, 3 no such
// job, checkpoint or file, 4 the job has ended.
#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <ctime>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/file_system.h"
#include "chaos.h"
#include "inspect.h"
#include "remote.h"
#include "weir/configuration.h"

namespace weir::tool {
namespace {

using Json = nlohmann::json;

struct Global {
  std::string master;  // -m host:port
  bool json = false;
};

int Fail(const ToolError& e) {
  std::cerr << "weir: " << e.message << "\n";
  return e.code;
}

// An error reply as the tool's exit (ReplyError): 404 no such job, ended only if it has,
// otherwise refused.
int FailReply(const JobRef& job, const HttpReply& r, const std::string& doing) {
  return Fail(ReplyError(job, r, doing));
}

// A flag's whole decimal number, in [min, max]. CLI11 would read "010" as octal and "0x10" as
// hexadecimal, and clamp a number too large: read as text, checked here, then parsed.
CLI::Validator WholeNumber(int64_t min, int64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        int64_t v = 0;
        const char* end = text.data() + text.size();
        auto [at, ec] = std::from_chars(text.data(), end, v);
        if (text.empty() || ec != std::errc() || at != end || v < min || v > max) {
          return "a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                 ", not '" + text + "'";
        }
        return std::string();
      },
      "");
}

int64_t ParseWhole(const std::string& text) {  // checked by WholeNumber
  int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

std::string Time(int64_t wall_ms) {
  if (wall_ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

int List(const Global& g) {
  ToolError error;
  std::vector<JobRef> jobs = ListJobs(g.master, &error);
  if (!error.message.empty()) return Fail(error);
  Json out = Json::array();
  for (const auto& j : jobs) {
    // A job that does not answer at once (a paused process) is listed as such, not waited for.
    HttpReply r = Call(j.url, "GET", "/jobs/overview", "", 3);
    Json entry{{"job_id", j.job_id}, {"name", j.job_name}, {"rest_url", j.url}, {"pid", j.pid}};
    entry["state"] = "UNREACHABLE";
    if (r.status == 200) {
      for (const auto& o : r.body["jobs"]) {
        if (o.value("jid", "") != j.job_id) continue;
        entry["state"] = o.value("state", "");
        entry["start_time"] = o.value("start-time", int64_t{0});
        entry["duration"] = o.value("duration", int64_t{0});
      }
    }
    out.push_back(std::move(entry));
  }
  if (g.json) {
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  if (out.empty()) {
    std::cout << "No job is running" << (g.master.empty() ? " on this machine" : " there") << ".\n";
    return kOk;
  }
  std::printf("%-32s  %-10s  %-19s  %-9s  %-26s  %s\n", "JOB ID", "STATE", "STARTED", "RUNNING",
              "REST API", "NAME");
  for (const auto& j : out) {
    std::printf("%-32s  %-10s  %-19s  %-9s  %-26s  %s\n", j["job_id"].get<std::string>().c_str(),
                j["state"].get<std::string>().c_str(),
                Time(j.value("start_time", int64_t{0})).c_str(),
                Seconds(j.value("duration", int64_t{0})).c_str(),
                j["rest_url"].get<std::string>().c_str(), j["name"].get<std::string>().c_str());
  }
  return kOk;
}

bool Find(const Global& g, const std::string& name, JobRef* job, int* code) {
  ToolError error;
  if (!FindJob(g.master, name, job, &error)) {
    *code = Fail(error);
    return false;
  }
  return true;
}

int Info(const Global& g, const std::string& name) {
  JobRef job;
  int code;
  if (!Find(g, name, &job, &code)) return code;
  HttpReply r = Call(job.url, "GET", "/jobs/" + job.job_id);
  if (r.status != 200) return FailReply(job, r, "asking");
  if (g.json) {
    std::cout << r.body.dump(2) << "\n";
    return kOk;
  }
  const Json& j = r.body;
  std::cout << "Job '" << j["name"].get<std::string>() << "' (" << j["jid"].get<std::string>()
            << ")\n  state " << j["state"].get<std::string>() << ", started "
            << Time(j["start-time"]) << ", running " << Seconds(j["duration"]) << "\n  REST API "
            << job.url << (job.pid ? ", pid " + std::to_string(job.pid) : "") << "\n\n";
  std::printf("  %-32s  %-40s  %-11s  %-12s  %14s  %14s\n", "VERTEX", "NAME", "PARALLELISM",
              "STATUS", "RECORDS IN", "RECORDS OUT");
  for (const auto& v : j["vertices"]) {
    std::printf("  %-32s  %-40s  %-11d  %-12s  %14lld  %14lld\n",
                v["id"].get<std::string>().c_str(), v["name"].get<std::string>().c_str(),
                v["parallelism"].get<int>(), v["status"].get<std::string>().c_str(),
                static_cast<long long>(v["metrics"]["read-records"].get<int64_t>()),
                static_cast<long long>(v["metrics"]["write-records"].get<int64_t>()));
  }
  return kOk;
}

int Checkpoints(const Global& g, const std::string& name) {
  JobRef job;
  int code;
  if (!Find(g, name, &job, &code)) return code;
  HttpReply r = Call(job.url, "GET", "/jobs/" + job.job_id + "/checkpoints");
  if (r.status != 200) return FailReply(job, r, "asking");
  if (g.json) {
    std::cout << r.body.dump(2) << "\n";
    return kOk;
  }
  const Json& c = r.body["counts"];
  std::cout << "Checkpoints of job '" << job.job_name << "': " << c["completed"] << " completed, "
            << c["failed"] << " failed, " << c["in_progress"] << " in progress, " << c["restored"]
            << " restored\n";
  const Json& latest = r.body["latest"];
  auto line = [](const char* what, const Json& x) {
    if (x.is_null()) return;
    std::cout << "  latest " << what << ": " << x["id"] << ", " << Time(x["trigger_timestamp"])
              << ", " << FormatBytes(x["state_size"].get<uint64_t>()) << ", "
              << x["end_to_end_duration"] << " ms";
    if (x.contains("external_path")) std::cout << ", " << x["external_path"].get<std::string>();
    if (x.contains("failure_message")) {
      std::cout << ": " << x["failure_message"].get<std::string>();
    }
    std::cout << "\n";
  };
  line("completed", latest["completed"]);
  line("savepoint", latest["savepoint"]);
  line("failed", latest["failed"]);
  if (!latest["restored"].is_null()) {
    std::cout << "  restored from "
              << (latest["restored"]["is_savepoint"].get<bool>() ? "savepoint " : "checkpoint ")
              << latest["restored"]["id"] << " at "
              << latest["restored"]["external_path"].get<std::string>() << "\n";
  }
  const Json& history = r.body["history"];
  if (!history.empty()) {
    std::printf("\n  %-6s  %-11s  %-14s  %-19s  %10s  %9s\n", "ID", "STATUS", "TYPE", "TRIGGERED",
                "SIZE", "DURATION");
    size_t shown = 0;
    for (const auto& h : history) {
      if (++shown > 10) break;
      std::printf(
          "  %-6lld  %-11s  %-14s  %-19s  %10s  %6lld ms\n",
          static_cast<long long>(h["id"].get<int64_t>()), h["status"].get<std::string>().c_str(),
          h["checkpoint_type"].get<std::string>().c_str(), Time(h["trigger_timestamp"]).c_str(),
          FormatBytes(h["state_size"].get<uint64_t>()).c_str(),
          static_cast<long long>(h["end_to_end_duration"].get<int64_t>()));
    }
  }
  return kOk;
}

// One checkpoint of the history, as the dashboard's details show it: each vertex, then each
// of its subtasks, with where the time went (start delay, alignment, sync, async) and sizes.
int CheckpointDetails(const Global& g, const std::string& name, int64_t id) {
  JobRef job;
  int code;
  if (!Find(g, name, &job, &code)) return code;
  const std::string base = "/jobs/" + job.job_id + "/checkpoints/details/" + std::to_string(id);
  HttpReply details = Call(job.url, "GET", base);
  if (details.status != 200) return FailReply(job, details, "asking for checkpoint of");
  HttpReply vertices = Call(job.url, "GET", "/jobs/" + job.job_id);
  if (vertices.status != 200) return FailReply(job, vertices, "asking");
  Json out{{"checkpoint", details.body}, {"vertices", Json::array()}};
  for (const auto& v : vertices.body["vertices"]) {
    const std::string vid = v["id"];
    if (!details.body["tasks"].contains(vid)) continue;
    HttpReply sub = Call(job.url, "GET", base + "/subtasks/" + vid);
    if (sub.status != 200) return FailReply(job, sub, "asking for checkpoint subtasks of");
    out["vertices"].push_back(Json{{"id", vid}, {"name", v["name"]}, {"details", sub.body}});
  }
  if (g.json) {
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  const Json& c = details.body;
  std::cout << "Checkpoint " << id << " of job '" << job.job_name << "': "
            << c["status"].get<std::string>() << ", " << c["checkpoint_type"].get<std::string>()
            << ", triggered " << Time(c["trigger_timestamp"]) << ", "
            << c["end_to_end_duration"] << " ms, " << FormatBytes(c["state_size"].get<uint64_t>())
            << " (" << FormatBytes(c["checkpointed_size"].get<uint64_t>()) << " written)\n";
  if (c.contains("failure_message")) {
    std::cout << "  failed: " << c["failure_message"].get<std::string>() << "\n";
  }
  std::printf("\n  %-40s  %5s  %10s  %11s  %9s  %7s  %7s  %10s  %10s\n", "VERTEX / SUBTASK",
              "ACKED", "END TO END", "START DELAY", "ALIGNMENT", "SYNC", "ASYNC", "SIZE",
              "WRITTEN");
  auto ms = [](const Json& n) { return std::to_string(n.get<int64_t>()) + " ms"; };
  for (const auto& v : out["vertices"]) {
    const Json& d = v["details"];
    const Json& sum = d["summary"];
    const bool acked = d["num_acknowledged_subtasks"].get<int>() > 0;
    auto most = [&](const Json& n) { return acked ? ms(n) : std::string("-"); };
    std::printf("  %-40.40s  %5s  %10s  %11s  %9s  %7s  %7s  %10s  %10s\n",
                v["name"].get<std::string>().c_str(),
                (std::to_string(d["num_acknowledged_subtasks"].get<int>()) + "/" +
                 std::to_string(d["num_subtasks"].get<int>()))
                    .c_str(),
                most(d["end_to_end_duration"]).c_str(), most(sum["start_delay"]["max"]).c_str(),
                most(sum["alignment"]["duration"]["max"]).c_str(),
                most(sum["checkpoint_duration"]["sync"]["max"]).c_str(),
                most(sum["checkpoint_duration"]["async"]["max"]).c_str(),
                FormatBytes(d["state_size"].get<uint64_t>()).c_str(),
                FormatBytes(d["checkpointed_size"].get<uint64_t>()).c_str());
    for (const auto& s : d["subtasks"]) {
      const std::string label = "  subtask " + std::to_string(s["index"].get<int>());
      if (s["status"] != "completed") {
        std::printf("  %-40s  %5s\n", label.c_str(), "no");
        continue;
      }
      std::printf("  %-40s  %5s  %10s  %11s  %9s  %7s  %7s  %10s  %10s\n", label.c_str(), "yes",
                  ms(s["end_to_end_duration"]).c_str(), ms(s["start_delay"]).c_str(),
                  ms(s["alignment"]["duration"]).c_str(), ms(s["checkpoint"]["sync"]).c_str(),
                  ms(s["checkpoint"]["async"]).c_str(),
                  FormatBytes(s["state_size"].get<uint64_t>()).c_str(),
                  FormatBytes(s["checkpointed_size"].get<uint64_t>()).c_str());
    }
  }
  return kOk;
}

// Polls an asynchronous operation until COMPLETED; false with `*code` set on an error.
bool Await(const JobRef& job, const std::string& path, const std::string& doing, Json* operation,
           int* code) {
  for (int i = 0;; ++i) {
    HttpReply r = Call(job.url, "GET", path);
    if (r.status != 200) {
      *code = FailReply(job, r, doing);
      return false;
    }
    if (r.body["status"]["id"] == "COMPLETED") {
      *operation = r.body["operation"];
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20 + 10 * i, 250)));
  }
}

std::string CauseOf(const Json& op, const char* key) {
  if (!op.contains(key)) return "";
  return op[key].value("stack-trace", op[key].dump());
}

int Checkpoint(const Global& g, const std::string& name) {
  JobRef job;
  int code;
  if (!Find(g, name, &job, &code)) return code;
  std::string base = "/jobs/" + job.job_id + "/checkpoints";
  HttpReply r = Call(job.url, "POST", base, "{}");
  if (r.status != 202) return FailReply(job, r, "triggering a checkpoint of");
  Json op;
  if (!Await(job, base + "/" + r.body["request-id"].get<std::string>(),
             "waiting for a checkpoint of", &op, &code)) {
    return code;
  }
  std::string cause = CauseOf(op, "failureCause");
  if (!cause.empty()) return Fail({kFailed, "the checkpoint failed: " + cause});
  if (g.json) {
    std::cout << Json{{"checkpoint_id", op["checkpointId"]}}.dump() << "\n";
  } else {
    std::cout << "Checkpoint " << op["checkpointId"] << " of job '" << job.job_name
              << "' completed.\n";
  }
  return kOk;
}

// A directory given on this tool's command line is relative to where the tool runs, not
// the job: it is sent absolute.
std::string Absolute(const std::string& dir) { return dir.empty() ? dir : AbsolutePath(dir); }

int Savepoint(const Global& g, const std::string& name, const std::string& dir, bool stop,
              bool drain) {
  JobRef job;
  int code;
  if (!Find(g, name, &job, &code)) return code;
  Json body = Json::object();
  std::string path = "/jobs/" + job.job_id + (stop ? "/stop" : "/savepoints");
  if (stop) {
    if (!dir.empty()) body["targetDirectory"] = Absolute(dir);
    body["drain"] = drain;
  } else if (!dir.empty()) {
    body["target-directory"] = Absolute(dir);
  }
  HttpReply r = Call(job.url, "POST", path, body.dump());
  if (r.status != 202) {
    return FailReply(job, r, stop ? "stopping" : "taking a savepoint of");
  }
  Json op;
  if (!Await(job, "/jobs/" + job.job_id + "/savepoints/" + r.body["request-id"].get<std::string>(),
             "waiting for the savepoint of", &op, &code)) {
    return code;
  }
  std::string cause = CauseOf(op, "failure-cause");
  if (!cause.empty()) {
    return Fail({kFailed, std::string(stop ? "the job was not stopped: " : "") +
                              "the savepoint failed: " + cause});
  }
  std::string location = op["location"];
  if (g.json) {
    std::cout << Json{{"location", location}}.dump() << "\n";
  } else {
    std::cout << (stop ? "Stopped job '" + job.job_name + "' with savepoint " : "Savepoint ")
              << location << "\n  resume with --restore " << location << "\n";
  }
  return kOk;
}

int Cancel(const Global& g, const std::string& name) {
  JobRef job;
  int code;
  if (!Find(g, name, &job, &code)) return code;
  HttpReply r = Call(job.url, "PATCH", "/jobs/" + job.job_id + "?mode=cancel");
  if (r.status != 202) return FailReply(job, r, "cancelling");
  // Until it says CANCELED, or stops answering because it has ended: its process exits
  // once the job ended (no later than the cancel it took while it ran). A process that runs
  // but does not answer has not.
  std::string state = "CANCELED";
  bool answering = true;
  for (int i = 0; i < 600; ++i) {
    HttpReply s = Call(job.url, "GET", "/jobs/" + job.job_id);
    if (s.status != 200) {
      ToolError e = ReplyError(job, s, "after the cancel");
      if (e.code != kEnded) return Fail(e);
      answering = false;
      break;
    }
    state = s.body.value("state", "");
    if (state == "CANCELED" || state == "FAILED" || state == "FINISHED") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (answering && state != "CANCELED") {
    if (state == "FAILED" || state == "FINISHED") {
      return Fail({kEnded, "job '" + job.job_name + "' (" + job.job_id + ") ended " + state +
                               " before the cancel took effect"});
    }
    return Fail({kFailed, "job '" + job.job_name + "' (" + job.job_id + ") is still " + state +
                              " 30 s after it accepted the cancel"});
  }
  if (g.json) {
    std::cout << Json{{"job_id", job.job_id}, {"state", state}}.dump() << "\n";
  } else {
    std::cout << "Cancelled job '" << job.job_name << "' (" << job.job_id << ").\n";
  }
  return kOk;
}

}  // namespace
}  // namespace weir::tool

int main(int argc, char** argv) {
  using namespace weir::tool;
  CLI::App app(
      "Operate weir jobs, as Flink's `flink` command does, and check their "
      "checkpoints.\nExit codes: 0 done, 1 refused or failed, 2 bad usage, 3 no such "
      "job, checkpoint or file, 4 the job has ended.",
      "weir");
  app.require_subcommand(1);
  app.fallthrough();  // -m and --json also after the verb: weir list --json
  Global g;
  app.add_option("-m,--jobmanager", g.master,
                 "The REST API of a job (host:port); default: the jobs running on this machine");
  app.add_flag("--json", g.json, "Print JSON, for scripts");

  std::string job, dir, state, output;
  bool drain = false;
  auto* list = app.add_subcommand("list", "List the running jobs");
  auto* info = app.add_subcommand("info", "Show a job: state, vertices, records");
  info->add_option("JOB", job, "Job id, unique prefix, or name")->required();
  auto* cps = app.add_subcommand("checkpoints", "Show a job's checkpoints, or one in detail");
  cps->add_option("JOB", job, "Job id, unique prefix, or name")->required();
  // Read as text, then as decimal: CLI11 would read "010" as octal.
  std::string checkpoint_id;
  cps->add_option("ID", checkpoint_id,
                  "A checkpoint of the history: its operators and subtasks (start delay, "
                  "alignment, sync, async, sizes)")
      ->check([](const std::string& id) {
        return !id.empty() && id.size() <= 18 &&
                       id.find_first_not_of("0123456789") == std::string::npos
                   ? std::string()
                   : "a checkpoint id is a whole number, 0 or more: '" + id + "'";
      });
  auto* cp = app.add_subcommand("checkpoint", "Take a checkpoint now");
  cp->add_option("JOB", job, "Job id, unique prefix, or name")->required();
  auto* sp = app.add_subcommand("savepoint", "Take a savepoint; prints its path");
  sp->add_option("JOB", job, "Job id, unique prefix, or name")->required();
  sp->add_option("DIR", dir, "Directory for it (default: the job's savepoint directory)");
  auto* stop = app.add_subcommand("stop", "Stop a job with a savepoint; prints its path");
  stop->add_option("JOB", job, "Job id, unique prefix, or name")->required();
  stop->add_option("--savepoint-dir,-p", dir, "Directory for the savepoint");
  stop->add_flag("--drain,-d", drain, "Drain the sources first (Flink's MAX_WATERMARK)");
  auto* cancel = app.add_subcommand("cancel", "Cancel a job");
  cancel->add_option("JOB", job, "Job id, unique prefix, or name")->required();
  auto* inspect = app.add_subcommand("inspect", "Show what a checkpoint or savepoint holds");
  std::string path;
  inspect->add_option("PATH", path, "Checkpoint or savepoint directory")->required();
  inspect->add_option("--state", state, "Print a keyed state's entries as JSON lines: UID/NAME");
  auto* verify = app.add_subcommand("verify", "Check every file of a checkpoint or savepoint");
  verify->add_option("PATH", path, "Checkpoint, savepoint or job directory")->required();
  auto* chaos = app.add_subcommand(
      "chaos", "Run a job, kill -9 it N times and restore it; its output must be exact");
  ChaosOptions co;
  std::string kills, seed, timeout;
  chaos->add_option("--kills", kills, "Kills (SIGKILL) before the last run")
      ->required()
      ->check(WholeNumber(0, 1'000'000));
  chaos->add_option("--seed", seed, "Seed of the kill times (default: random, printed)")
      ->check(WholeNumber(0, std::numeric_limits<int64_t>::max()));
  chaos->add_option("--output", co.output, "The job's output, relative to its working directory")
      ->required();
  chaos->add_option("--timeout", timeout, "Seconds each run may take (default 600)")
      ->check(WholeNumber(1, 7 * 24 * 3600));
  chaos->add_flag("--keep", co.keep, "Keep the working directories");
  chaos->add_option("COMMAND", co.command, "The job's program and its arguments (after --)")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kUsage;
  }
  auto run = [&]() -> int {
    if (list->parsed()) return List(g);
    if (info->parsed()) return Info(g, job);
    if (cps->parsed()) {
      if (checkpoint_id.empty()) return Checkpoints(g, job);
      return CheckpointDetails(g, job, std::stoll(checkpoint_id));  // 18 digits at most
    }
    if (cp->parsed()) return Checkpoint(g, job);
    if (sp->parsed()) return Savepoint(g, job, dir, false, false);
    if (stop->parsed()) return Savepoint(g, job, dir, true, drain);
    if (cancel->parsed()) return Cancel(g, job);
    if (inspect->parsed()) {
      if (!state.empty()) return InspectState(path, state, std::cout, std::cerr);
      return Inspect(path, g.json, std::cout, std::cerr);
    }
    if (verify->parsed()) return Verify(path, g.json, std::cout, std::cerr);
    if (chaos->parsed()) {
      co.kills = static_cast<int>(ParseWhole(kills));
      if (!seed.empty()) co.seed = static_cast<uint64_t>(ParseWhole(seed));
      if (!timeout.empty()) co.timeout_seconds = static_cast<int>(ParseWhole(timeout));
      return Chaos(co, std::cout, std::cerr);
    }
    return kUsage;
  };
  // An answer of another shape than the REST API's (another server at that address, say)
  // throws where a field is read: said, not an abort.
  try {
    return run();
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "weir: the REST API answered with something else than it should ("
              << e.what() << "); is " << (g.master.empty() ? "it" : g.master)
              << " a weir job's REST API?\n";
    return kFailed;
  }
}
