// Event: one entry of the custody log, and its canonical encoding.
//
// The log's Merkle tree commits to the *encoded* bytes, so the encoding is
// part of the log's contract: schema version 1 is a JSON object with these
// keys, sorted, no insignificant whitespace, no floating-point numbers:
//
//   {"action":"manifest.push",
//    "actor":{"auth":"none","name":"anonymous"},
//    "detail":{...action-specific...},
//    "digest":"sha256:...","repository":"org/app","seq":42,
//    "source":"127.0.0.1:51234","tag":"v1",
//    "time":"2026-12-03T20:00:50.215Z","v":1}
//
// `seq` is 1-based; the event with seq s is leaf s - 1 of the tree.
// Absent values are empty strings, never missing keys.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace custody::audit {

inline constexpr int kEventSchemaVersion = 1;

struct Event {
  int64_t seq = 0;        // assigned when appended
  int64_t time_ms = 0;    // Unix milliseconds; assigned when appended if 0
  std::string actor = "anonymous";
  std::string auth = "none";  // how the actor authenticated
  std::string source;         // client address
  std::string action;         // e.g. "manifest.push"
  std::string repository;
  std::string digest;
  std::string tag;
  std::string detail_json = "{}";  // a JSON object
};

// The canonical entry bytes. kInvalidArgument if detail_json is not a JSON
// object, holds a floating-point number, or the entry would exceed the
// 65535 bytes a tile entry can carry.
Result<std::string> encode_event(const Event& e);

// Parses an entry written by encode_event (strictly: it must re-encode to
// the same bytes, so a verifier never trusts a non-canonical entry).
Result<Event> decode_event(std::string_view entry);

}  // namespace custody::audit
