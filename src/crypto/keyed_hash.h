// Keyed hashing (HMAC-SHA-256, libsodium) for pseudonyms: the same input and key always give
// the same 32 bytes, and nobody without the key can compute or reverse them.
// Thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/aead.h"

namespace p4dp::crypto {

using Digest = std::array<uint8_t, 32>;

Digest HmacSha256(const Key& key, std::string_view message);

// A fast 64-bit keyed hash (SipHash-2-4 under the first 16 bytes of `key`), for pseudonymous
// keys that only need to be unique and unguessable, such as resource keys. The same input
// and key always give the same value.
uint64_t ShortKeyedHash(const Key& key, std::string_view message);

// HMAC-SHA-256 under a key of any length, for known-answer tests against RFC 4231 (whose
// keys are not 32 bytes). Production code uses HmacSha256 with a Key.
Digest HmacSha256WithRawKeyForTesting(std::string_view key, std::string_view message);

// Incremental form, for messages made of several parts. Each part is length-prefixed so
// that ("ab", "c") and ("a", "bc") differ: Add hashes the part's length as 8 bytes
// little-endian, then its bytes. Finish may be called once; Add must not follow it. A copy
// continues independently from the same state. The state is wiped when destroyed.
class KeyedHasher {
 public:
  explicit KeyedHasher(const Key& key);
  KeyedHasher(const KeyedHasher&) = default;
  KeyedHasher& operator=(const KeyedHasher&) = default;
  ~KeyedHasher();
  KeyedHasher& Add(std::string_view part);
  Digest Finish();

 private:
  // Holds libsodium's crypto_auth_hmacsha256_state (208 bytes in libsodium 1.0.18), kept
  // opaque so that this header does not include sodium.h; keyed_hash.cc checks the fit.
  static constexpr size_t kStateBytes = 208;
  static constexpr size_t kStateAlign = 16;
  alignas(kStateAlign) unsigned char state_[kStateBytes];
  bool finished_ = false;
};

}  // namespace p4dp::crypto
