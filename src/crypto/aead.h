// Authenticated encryption (XChaCha20-Poly1305, libsodium) and the key type every layer
// passes around. Sealed data carries its random nonce; associated data binds a ciphertext
// to its place (segment and block number) so that blocks cannot be swapped unnoticed.
// Functions are thread-safe; a Key is a value wiped from memory when destroyed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace p4dp::crypto {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 24;
inline constexpr size_t kTagBytes = 16;
// Bytes a sealed message has beyond its plaintext (nonce + tag).
inline constexpr size_t kSealOverheadBytes = kNonceBytes + kTagBytes;

class Key {
 public:
  Key() = default;
  explicit Key(const std::array<uint8_t, kKeyBytes>& bytes) : bytes_(bytes) {}
  Key(const Key&) = default;
  Key& operator=(const Key&) = default;
  ~Key();  // wipes the bytes (sodium_memzero)
  const std::array<uint8_t, kKeyBytes>& bytes() const { return bytes_; }
  // A fresh random key.
  static Key Random();

 private:
  std::array<uint8_t, kKeyBytes> bytes_{};
};

// Encrypts and authenticates `plaintext`: returns nonce || ciphertext || tag
// (plaintext.size() + kSealOverheadBytes bytes), with a fresh random nonce.
std::string Seal(const Key& key, std::string_view plaintext, std::string_view associated);

// Authenticates then decrypts what Seal returned. A wrong key, wrong associated data or any
// changed byte gives a Corruption status and no plaintext.
Result<std::string> Open(const Key& key, std::string_view sealed, std::string_view associated);

}  // namespace p4dp::crypto
