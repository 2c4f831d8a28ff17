// The token signing key on disk: one PEM file, created on first start.
//
// Every node of a scale-out deployment must sign with (or at least pin)
// the same key, so operators distribute this file (or its public half) to
// all nodes; a node that finds no file creates its own.
#pragma once

#include <filesystem>

#include "auth/token_key.h"
#include "common/error.h"

namespace custody::auth {

// Reads the PKCS#8 PEM key at `path`, or, if there is no file, generates a
// P-256 key and writes it there with mode 0600 (durably: temp file, fsync,
// hard link, fsync of the directory). Two processes starting at once both
// end up with the one key that won the race; an existing file is never
// overwritten. kInvalidArgument if the file holds anything but a P-256
// key; kInternal on I/O errors.
Result<TokenKey> load_or_create_token_key(const std::filesystem::path& path);

}  // namespace custody::auth
