// Small helpers for the parts of a URL that the server layer reads: percent-decoding,
// splitting a request target into path and query, and splitting a path into segments.
// Pure functions of their arguments; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p4dp::server {

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in a query). Returns
// nullopt on a truncated or non-hexadecimal escape, or on an encoded NUL byte.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

struct Target {
  std::string_view path;   // up to '?' (or '#'), still encoded
  std::string_view query;  // after '?', without it
};
// Splits an origin-form target ("/a/b?x=1") or an absolute-form one ("http://h/a/b?x=1",
// whose scheme and authority are dropped); views into `target`. Any other form (such as
// "*") comes back as the path, for the caller to refuse.
Target SplitTarget(std::string_view target);

// The segments of an origin-form path, still encoded: "/" -> {""}, "/a/b" -> {"a", "b"},
// "/a/" -> {"a", ""}. Requires that `path` starts with '/'.
std::vector<std::string_view> PathSegments(std::string_view path);

}  // namespace p4dp::server
