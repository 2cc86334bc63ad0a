#include "crypto/aead.h"

#include <sodium.h>

#include "crypto/sodium_init.h"

namespace p4dp::crypto {

static_assert(kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);

namespace internal {

void EnsureSodiumInitialized() {
  // A function-local static is initialised exactly once, even with concurrent callers.
  // sodium_init() returns 0 on success and 1 if it already ran; -1 means failure.
  static const bool initialized = sodium_init() >= 0;
  P4DP_ASSERT(initialized);
}

}  // namespace internal

namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Key::~Key() { sodium_memzero(bytes_.data(), bytes_.size()); }

Key Key::Random() {
  internal::EnsureSodiumInitialized();
  std::array<uint8_t, kKeyBytes> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  Key key(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return key;
}

std::string Seal(const Key& key, std::string_view plaintext, std::string_view associated) {
  internal::EnsureSodiumInitialized();
  P4DP_ASSERT(plaintext.size() <= crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX);
  std::string sealed(plaintext.size() + kSealOverheadBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  randombytes_buf(out, kNonceBytes);
  unsigned long long ciphertext_bytes = 0;
  const int rc = crypto_aead_xchacha20poly1305_ietf_encrypt(
      out + kNonceBytes, &ciphertext_bytes, Bytes(plaintext), plaintext.size(), Bytes(associated),
      associated.size(), /*nsec=*/nullptr, out, key.bytes().data());
  P4DP_ASSERT(rc == 0);
  P4DP_ASSERT(ciphertext_bytes == plaintext.size() + kTagBytes);
  return sealed;
}

Result<std::string> Open(const Key& key, std::string_view sealed, std::string_view associated) {
  internal::EnsureSodiumInitialized();
  if (sealed.size() < kSealOverheadBytes) {
    return Status::Corruption("authentication failed: sealed data shorter than nonce and tag");
  }
  std::string plaintext(sealed.size() - kSealOverheadBytes, '\0');
  unsigned long long plaintext_bytes = 0;
  const unsigned char* in = Bytes(sealed);
  const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      reinterpret_cast<unsigned char*>(plaintext.data()), &plaintext_bytes, /*nsec=*/nullptr,
      in + kNonceBytes, sealed.size() - kNonceBytes, Bytes(associated), associated.size(), in,
      key.bytes().data());
  if (rc != 0) {
    return Status::Corruption(
        "authentication failed: wrong key, wrong associated data or altered bytes");
  }
  P4DP_ASSERT(plaintext_bytes == plaintext.size());
  return plaintext;
}

}  // namespace p4dp::crypto
