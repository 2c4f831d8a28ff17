// Witness: cosigns another log's checkpoints, and only those it has proven
// to extend the last one it cosigned. A fork shown to a witness is refused
// and reported; that refusal is what makes a split view detectable.
#pragma once

#include <cstdint>

#include "audit/log_client.h"

namespace custody::audit {

struct WitnessRound {
  uint64_t size = 0;
  uint64_t previous_size = 0;  // 0 on first contact
};

class Witness {
 public:
  // `key` must be a cosignature (type 0x04) signer; `memory` holds the
  // last checkpoint this witness cosigned for the log.
  Witness(LogClient& log, NoteSigner key, CheckpointMemory memory)
      : log_(log), key_(std::move(key)), memory_(std::move(memory)) {}

  // Fetches the log's newest checkpoint, verifies it, proves it extends
  // the remembered one, cosigns it as of `now_s`, hands the cosignature
  // back to the log and remembers the checkpoint. kDataLoss on a fork.
  Result<WitnessRound> witness_once(uint64_t now_s);

 private:
  LogClient& log_;
  NoteSigner key_;
  CheckpointMemory memory_;
};

// A new witness key: the signer text (secret) for `name`.
Result<std::string> generate_witness_key(std::string_view name);

}  // namespace custody::audit
