// Writing key and certificate files safely. Private to pki/.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <span>
#include <string_view>

#include "common/error.h"

namespace custody::pki::internal {

// Writes `data` to `path` with exactly `mode` (the umask does not apply)
// and fsyncs it. Without `overwrite` an existing file, or a symlink, is
// kAlreadyExists; with it the file is replaced atomically (temp + rename),
// so no reader ever sees half a key.
Status write_file(const std::filesystem::path& path, std::string_view data, mode_t mode, bool overwrite);

// kAlreadyExists naming the first of `paths` that exists (a dangling
// symlink counts), so that a refusal comes before anything is written.
Status ensure_absent(std::span<const std::filesystem::path> paths);

// Creates `dir` and its missing parents; the ones created get `mode`.
Status make_directories(const std::filesystem::path& dir, mode_t mode);

}  // namespace custody::pki::internal
