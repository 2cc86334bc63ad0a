// The web folder's files, served for GET and HEAD requests that no route takes. Paths are
// checked before the disk is touched: no "." or ".." segment (even percent-encoded), no
// empty segment, no backslash, no hidden file, nothing that resolves outside the folder.
// Immutable once opened; thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/status.h"
#include "server/http_server.h"

namespace p4dp::server {

// The largest file served; the dashboard's bundles are far smaller.
inline constexpr size_t kStaticFileBytesMax = 32 * 1024 * 1024;

class StaticFiles {
 public:
  // Requires that `dir` is an existing folder.
  static Result<StaticFiles> Open(const std::string& dir);

  // Answers a GET or HEAD (405 otherwise) for request.path: "/" and any path ending in '/'
  // mean that folder's index.html. 400 for a malformed or traversing path, 404 for a
  // missing file. The body is always filled; the server drops it for HEAD.
  Response Serve(const Request& request) const;

 private:
  explicit StaticFiles(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;  // canonical
};

// The Content-Type for a file name, by its extension; "application/octet-stream" if unknown.
std::string_view ContentTypeFor(std::string_view file_name);

}  // namespace p4dp::server
