// The whole public API of weir: include this in a job, and link weir::weir (CMake:
// find_package(weir), or pkg-config weir).
#pragma once

#include "weir/cli.h"
#include "weir/co_functions.h"
#include "weir/codec.h"
#include "weir/configuration.h"
#include "weir/connected_streams.h"
#include "weir/connectors/file_sink.h"
#include "weir/connectors/file_source.h"
#include "weir/data_stream.h"
#include "weir/environment.h"
#include "weir/functions.h"
#include "weir/job.h"
#include "weir/source.h"
#include "weir/sink.h"
#include "weir/state.h"
#include "weir/status.h"
#include "weir/watermark.h"
