// Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, the form
// authenticator apps read from an otpauth:// URI), through liboath. A TOTP secret is a
// secret: callers keep it sealed at rest and never log it. Functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace p4dp::crypto {

inline constexpr size_t kTotpSecretBytes = 20;
inline constexpr int kTotpDigits = 6;
inline constexpr int kTotpStepSeconds = 30;
// Codes of this many steps before or after now are accepted (clock drift).
inline constexpr int kTotpWindowSteps = 1;

// A new random secret (kTotpSecretBytes raw bytes).
std::string NewTotpSecret();

// "otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&digits=6&period=30".
// `issuer` and `account` must be URL-safe words (letters, digits, '.', '_', '-').
Result<std::string> TotpUri(std::string_view issuer, std::string_view account,
                            std::string_view secret);

// The raw secret of an otpauth:// URI made by TotpUri (its base32 "secret=" parameter),
// for tests and tools that act as the authenticator app.
Result<std::string> TotpSecretFromUri(std::string_view uri);

// The code for `unix_seconds` (6 digits, with leading zeros).
Result<std::string> TotpCode(std::string_view secret, int64_t unix_seconds);

// True if `code` is the code of a step within kTotpWindowSteps of `unix_seconds`.
bool TotpValid(std::string_view secret, std::string_view code, int64_t unix_seconds);

// The time step (unix seconds / kTotpStepSeconds) whose code `code` is, when it is one within
// kTotpWindowSteps of `unix_seconds`; nullopt otherwise. Callers that must refuse a replay
// keep the last step they accepted and refuse any step not after it.
std::optional<int64_t> TotpMatchStep(std::string_view secret, std::string_view code,
                                     int64_t unix_seconds);

}  // namespace p4dp::crypto
