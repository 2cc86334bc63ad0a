#include "server/url.h"

#include <algorithm>
#include <cctype>

#include "base/assert.h"

namespace p4dp::server {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True if `text` starts with `prefix`, which is in lower case, whatever the case of `text`.
bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char p, char t) {
    return p == std::tolower(static_cast<unsigned char>(t));
  });
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      int value = high * 16 + low;
      if (value == 0) return std::nullopt;
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Target SplitTarget(std::string_view target) {
  // The absolute form ("http://host/a?x") names the same resource as its path.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (StartsWithNoCase(target, scheme)) {
      size_t slash = target.find_first_of("/?#", scheme.size());
      target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
      break;
    }
  }
  size_t end = target.find('#');
  if (end != std::string_view::npos) target = target.substr(0, end);
  size_t mark = target.find('?');
  Target result{target.substr(0, mark), {}};
  if (mark != std::string_view::npos) result.query = target.substr(mark + 1);
  if (result.path.empty()) result.path = "/";  // "http://host" or "http://host?x"
  return result;
}

std::vector<std::string_view> PathSegments(std::string_view path) {
  P4DP_ASSERT(!path.empty() && path[0] == '/');
  std::vector<std::string_view> segments;
  size_t start = 1;
  for (;;) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      segments.push_back(path.substr(start));
      return segments;
    }
    segments.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

}  // namespace p4dp::server
