// Checks a savepoint target directory given over the REST API before any directory is made.
//
// A target must be a clean local path (absolute, relative to the job's working directory, or
// a file:// URI): not empty, no ".." segment, no control characters, at most 4096 bytes. An
// existing target must be a directory the job can write to; a new one is created, but only
// one level deep: its parent must be an existing, writable directory. So a request can
// neither climb out of a directory nor plant a tree of directories anywhere the job may
// write. Returns the path to give the job master, or InvalidArgument saying what is wrong.
//
// Pure apart from looking at the file system; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "weir/status.h"

namespace weir {

Result<std::string> CheckSavepointTarget(std::string_view target);

}  // namespace weir
