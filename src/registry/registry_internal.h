// Helpers shared by registry.cpp and registry_manifests.cpp; not part of
// the registry's interface.
#pragma once

#include <nlohmann/json.hpp>

#include "registry/registry.h"

namespace custody::registry::internal {

inline std::unexpected<RegistryError> reg_fail(OciCode code, std::string message, std::string detail = {}) {
  return std::unexpected(RegistryError{code, std::move(message), std::move(detail)});
}

// A failure of our own machinery (disk, database): 500 UNKNOWN.
inline std::unexpected<RegistryError> server_fault(const Error& e) {
  return reg_fail(OciCode::kUnknown, e.message);
}

inline meta::Event event_of(const Actor& a, std::string action, const std::string& repo, std::string digest = {},
                            std::string tag = {}, const nlohmann::json& detail = nlohmann::json::object()) {
  return meta::Event{0, 0, a.name, a.auth, a.source, std::move(action), repo, std::move(digest), std::move(tag),
                     detail.dump()};
}

// Runs fn in a write (or read) transaction; a RegistryError from fn rolls
// back and is returned as is, a store failure becomes 500.
inline RegStatus in_txn(meta::MetaStore& meta, bool write, const std::function<RegStatus(meta::Txn&)>& fn) {
  std::optional<RegistryError> reg_error;
  auto body = [&](meta::Txn& txn) -> Status {
    auto r = fn(txn);
    if (r) return {};
    reg_error = r.error();
    return fail(ErrorCode::kFailedPrecondition, "rolled back");
  };
  auto s = write ? meta.transact(body) : meta.read(body);
  if (reg_error) return std::unexpected(*reg_error);
  if (!s) return server_fault(s.error());
  return {};
}

inline RegStatus transact(meta::MetaStore& meta, const std::function<RegStatus(meta::Txn&)>& fn) {
  return in_txn(meta, true, fn);
}
inline RegStatus read(meta::MetaStore& meta, const std::function<RegStatus(meta::Txn&)>& fn) {
  return in_txn(meta, false, fn);
}

}  // namespace custody::registry::internal
