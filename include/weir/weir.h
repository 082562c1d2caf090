// The whole public API of weir: include this in a job.
#pragma once

#include "weir/codec.h"
#include "weir/configuration.h"
#include "weir/data_stream.h"
#include "weir/environment.h"
#include "weir/functions.h"
#include "weir/job.h"
#include "weir/sink.h"
#include "weir/state.h"
#include "weir/status.h"
