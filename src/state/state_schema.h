// State schemas on restore: how what a checkpoint recorded about a state (its codec's
// identity, detail::StateSchema) fits what the job declares now.
//
//   the same codec                      restore as is
//   none recorded (an older checkpoint) restore as is, with a warning
//   an older version of the same codec  migrate, if the codec reads that version
//   anything else                       refuse: the bytes would decode as garbage
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "weir/detail/keyed_state.h"
#include "weir/status.h"

namespace weir {

enum class SchemaMatch { kSame, kUnrecorded, kMigrate, kIncompatible };

// `*old_version` is set for kMigrate.
SchemaMatch MatchSchema(std::string_view restored, const detail::StateSchema& declared,
                        int* old_version);

// The error for an incompatible state, naming the operator, the state, what the checkpoint
// holds and what the job declares, and the ways out.
Status IncompatibleState(std::string_view where, std::string_view state, detail::StateKind kind,
                         std::string_view restored, const detail::StateSchema& declared);

// The canonical encoding of one key's value (weir/detail/keyed_state.h) with every value
// codec's bytes migrated from `old_version`; false if they do not decode.
bool MigrateCanonicalValue(detail::StateKind kind, std::string_view bytes,
                           const detail::StateSchema& schema, int old_version, std::string* out);

// A stored list (length-prefixed elements, no count) migrated element by element.
bool MigrateStoredList(std::string_view bytes, const detail::StateSchema& schema,
                       int old_version, std::string* out);

}  // namespace weir
