// EmbeddedFile: a file compiled into the program (cmake/WeirEmbedFiles.cmake writes the
// arrays at build time), such as the dashboard's HTML, JavaScript and CSS.
//
// Thread-safety: immutable; the lists are built on first use (a function-local static).
#pragma once

#include <string_view>
#include <vector>

namespace weir {

struct EmbeddedFile {
  std::string_view path;  // relative to the embedded directory: "index.html", "dashboard.js"
  std::string_view bytes;
};

// The dashboard's files, from src/rest/dashboard (generated: dashboard_files.cc).
const std::vector<EmbeddedFile>& DashboardFiles();

}  // namespace weir
