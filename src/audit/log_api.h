// LogApi: the custody log over HTTP, under /log/.
//
//   GET  /log/checkpoint                       the published signed checkpoint (C2SP tlog-checkpoint)
//   GET  /log/tile/<L>/<N>[.p/<W>]             hash tiles (C2SP tlog-tiles)
//   GET  /log/tile/entries/<N>[.p/<W>]         entry bundles
//   GET  /log/v1/checkpoint/latest             the newest checkpoint, witnessed or not
//   GET  /log/v1/key                           the log's verifier key (pin it out of band)
//   GET  /log/v1/proof/inclusion?seq=&size=    inclusion proof of event `seq` in tree `size`
//   GET  /log/v1/proof/consistency?old=&new=   consistency proof between two sizes
//   GET  /log/v1/trace?digest=&size=           every event about an image, with proofs
//   POST /log/v1/cosign                        a witness returns a cosigned checkpoint
//
// Proof hashes are base64, as in checkpoints.
#pragma once

#include "audit/log_service.h"
#include "http/message.h"

namespace custody::audit {

class LogApi {
 public:
  explicit LogApi(CustodyLog& log) : log_(log) {}
  http::Response handle(http::Request& req);

 private:
  http::Response checkpoint(bool latest);
  http::Response tile(std::string_view path);
  http::Response inclusion(const http::Request& req);
  http::Response consistency(const http::Request& req);
  http::Response trace(const http::Request& req);
  http::Response cosign(http::Request& req);

  CustodyLog& log_;
};

}  // namespace custody::audit
