// The REST API of one running job: Flink's paths and JSON field names for what weir has
// (docs/rest-api.yaml is the contract, and a test fuzzes the server against it).
//
//   GET   /config  /overview  /jobs  /jobs/overview  /metrics (Prometheus text)
//   GET   /jobs/:jobid  /plan  /config  /exceptions  /metrics
//   PATCH /jobs/:jobid?mode=cancel
//   GET   /jobs/:jobid/checkpoints  /checkpoints/config  /checkpoints/details/:checkpointid
//   POST  /jobs/:jobid/checkpoints  -> GET /jobs/:jobid/checkpoints/:triggerid
//   POST  /jobs/:jobid/savepoints   -> GET /jobs/:jobid/savepoints/:triggerid
//   POST  /jobs/:jobid/stop         -> GET /jobs/:jobid/savepoints/:triggerid
//   GET   /jobs/:jobid/vertices/:vertexid  /backpressure  /metrics  /subtasks/metrics
//         /subtasks/:subtaskindex  /subtasks/:subtaskindex/metrics
//
// (The dashboard's page and files, GET / and /assets/:file, are dashboard_routes.h's.)
//
// Handlers read the job master's state and metrics and hand requests to it; they never call
// into a task. Malformed input is 400, an unknown job, vertex, checkpoint or trigger 404.
//
// Thread-safety: the handlers run on the server's threads, any number at once; the job master
// and the metric registry they read are thread-safe.
#pragma once

#include <memory>

#include "rest/async_operations.h"
#include "rest/rest_router.h"
#include "runtime/job_master.h"

namespace weir {

// Adds the job's routes to `router`; the routes use the returned object, which must outlive
// them, and `master` and `operations`.
std::shared_ptr<void> AddJobRoutes(RestRouter& router, JobMaster* master,
                                   AsyncOperations* operations);

}  // namespace weir
