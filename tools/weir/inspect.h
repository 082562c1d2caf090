// `weir inspect` and `weir verify`: a checkpoint or savepoint directory, read offline.
//
//   inspect PATH                 the job, the checkpoint, each operator (uid, name,
//                                parallelism) with its keyed states (name, kind, codec, keys,
//                                bytes), timers, source splits and the sink's outputs and
//                                pending transactions
//   inspect PATH --state UID/NAME  one keyed state's entries as JSON lines, decoded from the
//                                built-in codecs' identities (state_decoder.h)
//   verify PATH                  every file's size and checksum against _metadata, and each
//                                keyed-state file's own structure; PATH may also be a job
//                                directory, whose every chk-<n> is verified
//
// Each returns the tool's exit code (remote.h) after printing to `out` and `err`.
// Thread-safety: single-threaded.
#pragma once

#include <ostream>
#include <string>

namespace weir::tool {

int Inspect(const std::string& path, bool json, std::ostream& out, std::ostream& err);
int InspectState(const std::string& path, const std::string& uid_and_name, std::ostream& out,
                 std::ostream& err);
int Verify(const std::string& path, bool json, std::ostream& out, std::ostream& err);

}  // namespace weir::tool
