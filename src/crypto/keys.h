// The warehouse's keys. One master key lives outside the data folder (a key file with mode
// 0600, or the environment variable P4DP_MASTER_KEY). It wraps (encrypts) the warehouse's
// data key and pseudonymisation key, stored in the catalog; every key used for data is
// derived from the data key per purpose (libsodium KDF), so that one category's key reveals
// nothing of the others, and rotating the master key only rewraps the stored keys. A key check
// value stored in the data folder tells a wrong master key at open without revealing the key.
// Functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/aead.h"

namespace p4dp::crypto {

inline constexpr const char* kMasterKeyEnvironmentVariable = "P4DP_MASTER_KEY";

enum class KeyPurpose : uint64_t {
  kSegments = 1,    // event and patient segments
  kQuarantine = 2,  // quarantined records
  kPseudonym = 3,   // patient keys (keyed hash of identifiers)
  kKeyCheck = 4,    // the key check value
  kCatalog = 5,     // anything sealed inside the catalog
  kAudit = 6,       // the audit trail
  kKeyWrap = 7,     // from the master key: wraps the data key
  kBackup = 8,      // from the master key: seals backup files
};

// Writes a new random master key to `path` (64 hex characters and a newline), created with
// mode 0600. Refuses to overwrite an existing file.
Status WriteNewKeyFile(const std::string& path);

// Reads a key file. Fails if it is readable by group or others (mode must be 0600 or
// 0400), or does not hold exactly 64 hex characters (a trailing newline is allowed).
// Messages name the file but never show key material.
Result<Key> ReadKeyFile(const std::string& path);

// The master key from P4DP_MASTER_KEY (64 hex characters); NotFound if unset.
Result<Key> KeyFromEnvironment();

Key DeriveKey(const Key& master, KeyPurpose purpose);

// A 64-hex-character value computed from the master key, stored in the data folder; equal
// values mean the same master key.
std::string KeyCheckValue(const Key& master);

// `key` sealed under a key derived from `master` (purpose kKeyWrap) and bound to `label`
// (which key it is: "data", "pseudonym"), as hex text for the catalog. UnwrapKey gives it
// back; a wrong master key, another label or any changed character gives PermissionDenied
// (Corruption for text that is not a wrapped key).
std::string WrapKey(const Key& master, const Key& key, std::string_view label);
Result<Key> UnwrapKey(const Key& master, std::string_view wrapped, std::string_view label);

// Writes `key` as a new key file (same format and mode as WriteNewKeyFile), for tests and
// tools that must know the key they write. Refuses to overwrite an existing file.
Status WriteKeyFile(const std::string& path, const Key& key);

}  // namespace p4dp::crypto
