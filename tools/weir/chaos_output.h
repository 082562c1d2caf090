// What `weir chaos` compares: a job's output as files, and where one run's output departs
// from the reference run's.
//
// Pure functions (ReadOutput reads the file system); thread-safe.
#pragma once

#include <map>
#include <string>

namespace weir::tool {

// File contents by path relative to the output ("" when the output is a single file).
using OutputFiles = std::map<std::string, std::string>;

// The output at `path`: a file, or every file under a directory except hidden files and
// directories (a sink's staging data is not output). Empty when nothing is there.
OutputFiles ReadOutput(const std::string& path);

// "" when `got` is a prefix of `want`, file by file (with `whole`: equal to it); otherwise
// where it departs, in words: the file, byte and line.
std::string CompareOutput(const OutputFiles& want, const OutputFiles& got, bool whole);

}  // namespace weir::tool
