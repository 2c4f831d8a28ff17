#include "audit/witness.h"

namespace custody::audit {

Result<WitnessRound> Witness::witness_once(uint64_t now_s) {
  auto latest = log_.checkpoint(/*latest=*/true);
  if (!latest) return std::unexpected(latest.error());
  auto last = memory_.load(log_.key());
  if (!last) return std::unexpected(last.error());
  WitnessRound round{latest->checkpoint.size(), *last ? (*last)->size() : 0};
  if (*last) {
    if (auto s = log_.check_extends(**last, latest->checkpoint); !s)
      return fail(ErrorCode::kDataLoss, "refusing to cosign: " + s.error().message);
  }
  auto cosigned = cosign_checkpoint(latest->note, key_, now_s);
  if (!cosigned) return std::unexpected(cosigned.error());
  if (auto s = log_.post_cosignature(*cosigned); !s) return std::unexpected(s.error());
  if (auto s = memory_.save(latest->note); !s) return std::unexpected(s.error());
  return round;
}

Result<std::string> generate_witness_key(std::string_view name) {
  auto signer = NoteSigner::generate(name, SignatureType::kCosignatureV1);
  if (!signer) return std::unexpected(signer.error());
  return signer->to_string();
}

}  // namespace custody::audit
