#include "crypto/totp.h"

#include <liboath/oath.h>
#include <sodium.h>

#include <cstdlib>
#include <mutex>

#include "base/assert.h"
#include "crypto/sodium_init.h"

namespace p4dp::crypto {
namespace {

void EnsureOathInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { P4DP_ASSERT(oath_init() == OATH_OK); });
}

bool UrlSafeWord(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string NewTotpSecret() {
  internal::EnsureSodiumInitialized();
  std::string secret(kTotpSecretBytes, '\0');
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

Result<std::string> TotpUri(std::string_view issuer, std::string_view account,
                            std::string_view secret) {
  if (!UrlSafeWord(issuer) || !UrlSafeWord(account)) {
    return Status::InvalidArgument("totp: issuer and account must be letters, digits, . _ -");
  }
  EnsureOathInitialized();
  char* encoded = nullptr;
  size_t encoded_size = 0;
  if (oath_base32_encode(secret.data(), secret.size(), &encoded, &encoded_size) != OATH_OK) {
    return Status::Internal("totp: cannot encode the secret");
  }
  std::string base32(encoded, encoded_size);
  sodium_memzero(encoded, encoded_size);
  std::free(encoded);
  while (!base32.empty() && base32.back() == '=') base32.pop_back();
  std::string uri = "otpauth://totp/" + std::string(issuer) + ":" + std::string(account) +
                    "?secret=" + base32 + "&issuer=" + std::string(issuer) +
                    "&digits=" + std::to_string(kTotpDigits) +
                    "&period=" + std::to_string(kTotpStepSeconds);
  sodium_memzero(base32.data(), base32.size());
  return uri;
}

Result<std::string> TotpSecretFromUri(std::string_view uri) {
  size_t at = uri.find("secret=");
  if (uri.rfind("otpauth://totp/", 0) != 0 || at == std::string_view::npos) {
    return Status::InvalidArgument("totp: not an otpauth://totp/ URI with a secret");
  }
  std::string base32(uri.substr(at + 7, uri.find('&', at) - (at + 7)));
  while (base32.size() % 8 != 0) base32 += '=';
  EnsureOathInitialized();
  char* decoded = nullptr;
  size_t decoded_size = 0;
  if (oath_base32_decode(base32.data(), base32.size(), &decoded, &decoded_size) != OATH_OK) {
    return Status::InvalidArgument("totp: the URI's secret is not base32");
  }
  std::string secret(decoded, decoded_size);
  sodium_memzero(decoded, decoded_size);
  std::free(decoded);
  return secret;
}

Result<std::string> TotpCode(std::string_view secret, int64_t unix_seconds) {
  EnsureOathInitialized();
  char out[kTotpDigits + 1] = {};
  int rc = oath_totp_generate(secret.data(), secret.size(), static_cast<time_t>(unix_seconds),
                              kTotpStepSeconds, OATH_TOTP_DEFAULT_START_TIME, kTotpDigits, out);
  if (rc != OATH_OK) return Status::Internal("totp: cannot compute a code");
  return std::string(out, kTotpDigits);
}

bool TotpValid(std::string_view secret, std::string_view code, int64_t unix_seconds) {
  return TotpMatchStep(secret, code, unix_seconds).has_value();
}

std::optional<int64_t> TotpMatchStep(std::string_view secret, std::string_view code,
                                     int64_t unix_seconds) {
  if (code.size() != static_cast<size_t>(kTotpDigits) || secret.empty()) return std::nullopt;
  for (char c : code) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (unix_seconds < 0) return std::nullopt;
  EnsureOathInitialized();
  std::string otp(code);
  int offset = 0;  // the matching step, relative to the step of `unix_seconds`
  int rc = oath_totp_validate2(secret.data(), secret.size(), static_cast<time_t>(unix_seconds),
                               kTotpStepSeconds, OATH_TOTP_DEFAULT_START_TIME, kTotpWindowSteps,
                               &offset, otp.c_str());
  if (rc < 0) return std::nullopt;
  return unix_seconds / kTotpStepSeconds + offset;
}

}  // namespace p4dp::crypto
