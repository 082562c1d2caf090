// Decodes state bytes as JSON from a codec identity (weir/codec.h CodecIdentity), for
// `weir inspect --state`: the built-in codecs name the types they write ("i64", "string",
// "pair<i32,i64>", "map<string,vector<f64>>", "fields<i32,optional<string>>"), which is
// enough to read their bytes back without the job's code. A codec of the user's own
// ("Point@2", "type:...") is not known here: its bytes are shown as hex.
//
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "weir/detail/keyed_state.h"

namespace weir::tool {

// `bytes` decoded as one value of codec `identity`; false (and `*out` = {"hex": ...}) when
// the identity is not a built-in codec's or the bytes do not decode as it.
bool DecodeValue(std::string_view identity, std::string_view bytes, nlohmann::ordered_json* out);

// One key's value of a state in the canonical snapshot encoding (weir/detail/keyed_state.h):
// a value for value and reducing state, a list of elements, or a list of [key, value] for a
// map state, whose identity is "<key codec>-><value codec>".
bool DecodeStateValue(detail::StateKind kind, std::string_view identity, std::string_view bytes,
                      nlohmann::ordered_json* out);

std::string Hex(std::string_view bytes);

}  // namespace weir::tool
