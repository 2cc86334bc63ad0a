// Password hashing (Argon2id, libsodium's crypto_pwhash_str), opaque session tokens and the
// SHA-256 digests the access layer keeps of them and chains its audit trail with. A stored
// password hash carries its own salt and cost, so a hash made at one cost still verifies
// after the default changes. Nothing here logs or returns a secret in a message.
// Functions are thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace p4dp::crypto {

// The cost of a new password hash. kInteractive is libsodium's interactive level (64 MiB,
// 2 passes); kMinimumForTesting is the least Argon2id allows, for tests that hash many.
enum class PasswordCost { kInteractive, kMinimumForTesting };

// Longest password accepted (a bound on the work an attacker can make us do).
inline constexpr size_t kPasswordBytesMax = 1024;

// The Argon2id hash of `password` in libsodium's "$argon2id$..." text form. Fails on an
// empty password, one longer than kPasswordBytesMax, or when memory runs out.
Result<std::string> HashPassword(std::string_view password,
                                 PasswordCost cost = PasswordCost::kInteractive);

// True if `password` matches `hash` (made by HashPassword); false for any malformed hash.
bool VerifyPassword(std::string_view hash, std::string_view password);

// `bytes` random bytes from the kernel, as lower-case hexadecimal (2 × bytes characters).
std::string RandomHex(size_t bytes);

// SHA-256 of `data` as 64 lower-case hexadecimal characters.
std::string Sha256Hex(std::string_view data);

// Compares two strings in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace p4dp::crypto
