// The web dashboard of a running job: a page of plain HTML, JavaScript and CSS (in
// src/rest/dashboard, compiled into the program) that reads the job's REST API once a second.
//
//   GET /                 the page (index.html)
//   GET /assets/:file     its script, style sheet and icon, by name
//
// Only files compiled in are served, looked up by their exact name, so no request reaches the
// file system; a path with a slash in the name is another route and gets 404. The responses
// forbid framing and content sniffing, and the page's Content-Security-Policy allows only its
// own scripts and styles and requests to its own origin.
//
// Thread-safety: the handlers only read immutable data; any number run at once.
#pragma once

#include <functional>

#include "rest/rest_router.h"

namespace weir {

// Adds the dashboard's routes to `router`; `on_page_served` runs each time the page (/) is
// served, so the endpoint knows that a dashboard may be watching.
void AddDashboardRoutes(RestRouter& router, std::function<void()> on_page_served);

// The Content-Type of a file by its extension: "text/html; charset=utf-8" for "index.html";
// "application/octet-stream" for an extension it does not know.
std::string ContentTypeOf(std::string_view path);

}  // namespace weir
