#include "server/static_files.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "base/file_system.h"
#include "server/url.h"

namespace p4dp::server {

namespace fs = std::filesystem;

Result<StaticFiles> StaticFiles::Open(const std::string& dir) {
  std::error_code ec;
  fs::path root = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(root, ec)) {
    return Status::NotFound("web folder '" + dir + "' is not a folder");
  }
  return StaticFiles(std::move(root));
}

std::string_view ContentTypeFor(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 22> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".geojson", "application/geo+json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".ttf", "font/ttf"},
      {".txt", "text/plain; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".wasm", "application/wasm"},
  }};
  size_t dot = file_name.rfind('.');
  if (dot != std::string_view::npos) {
    std::string ext(file_name.substr(dot));
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& [suffix, type] : kTypes) {
      if (ext == suffix) return type;
    }
  }
  return "application/octet-stream";
}

namespace {

// The decoded path below the web folder ("index.html" for "/"), or an error response.
std::variant<std::string, Response> RelativePath(std::string_view encoded_path) {
  if (encoded_path.empty() || encoded_path[0] != '/') return Response::Error(400, "bad path");
  std::vector<std::string_view> raw = PathSegments(encoded_path);
  std::string relative;
  for (size_t i = 0; i < raw.size(); ++i) {
    std::optional<std::string> segment = PercentDecode(raw[i], false);
    if (!segment) return Response::Error(400, "badly encoded path");
    bool last = i + 1 == raw.size();
    if (segment->empty() && last) segment = "index.html";
    if (segment->empty() || *segment == "." || *segment == ".." ||
        segment->find_first_of("/\\") != std::string::npos) {
      return Response::Error(400, "bad path");
    }
    if ((*segment)[0] == '.') return Response::Error(404, "not found");
    relative += (relative.empty() ? "" : "/") + *segment;
  }
  return relative;
}

// The cache policy: Vite's content-hashed bundles never change; anything else is checked.
std::string_view CacheControl(std::string_view encoded_path) {
  if (encoded_path.starts_with("/assets/")) return "public, max-age=31536000, immutable";
  return "no-cache";
}

}  // namespace

Response StaticFiles::Serve(const Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    Response response = Response::Error(405, "method not allowed");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  std::variant<std::string, Response> relative = RelativePath(request.path);
  if (auto* error = std::get_if<Response>(&relative)) return std::move(*error);
  std::error_code ec;
  // canonical() resolves symbolic links: a link that leads out of the folder is not served.
  fs::path file = fs::canonical(root_ / std::get<std::string>(relative), ec);
  auto [root_end, file_it] = std::mismatch(root_.begin(), root_.end(), file.begin(), file.end());
  if (ec || root_end != root_.end() || !fs::is_regular_file(file, ec) ||
      fs::file_size(file, ec) > kStaticFileBytesMax || ec) {
    return Response::Error(404, "not found");
  }
  Result<std::string> bytes = RealFileSystem().ReadFile(file.string());
  if (!bytes.ok()) return Response::Error(404, "not found");
  Response response{.status = 200,
                    .content_type = std::string(ContentTypeFor(file.filename().string())),
                    .body = std::move(bytes).value(),
                    .headers = {}};
  response.headers.emplace_back("Cache-Control", std::string(CacheControl(request.path)));
  return response;
}

}  // namespace p4dp::server
