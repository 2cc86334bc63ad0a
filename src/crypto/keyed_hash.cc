#include "crypto/keyed_hash.h"

#include <sodium.h>

#include <new>

#include "crypto/sodium_init.h"

namespace p4dp::crypto {

namespace {

// KeyedHasher keeps the state in a byte buffer; its constructor checks size and alignment.
constexpr size_t kSodiumStateBytes = sizeof(crypto_auth_hmacsha256_state);
constexpr size_t kSodiumStateAlign = alignof(crypto_auth_hmacsha256_state);
static_assert(crypto_auth_hmacsha256_BYTES == std::tuple_size_v<Digest>);
static_assert(crypto_auth_hmacsha256_KEYBYTES == kKeyBytes);

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

crypto_auth_hmacsha256_state* AsState(unsigned char* buffer) {
  return std::launder(reinterpret_cast<crypto_auth_hmacsha256_state*>(buffer));
}

}  // namespace

Digest HmacSha256(const Key& key, std::string_view message) {
  internal::EnsureSodiumInitialized();
  Digest digest;
  const int rc =
      crypto_auth_hmacsha256(digest.data(), Bytes(message), message.size(), key.bytes().data());
  P4DP_ASSERT(rc == 0);
  return digest;
}

uint64_t ShortKeyedHash(const Key& key, std::string_view message) {
  internal::EnsureSodiumInitialized();
  static_assert(crypto_shorthash_KEYBYTES <= kKeyBytes);
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                   key.bytes().data());
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof v; ++i) v |= static_cast<uint64_t>(out[i]) << (8 * i);
  return v;
}

Digest HmacSha256WithRawKeyForTesting(std::string_view key, std::string_view message) {
  internal::EnsureSodiumInitialized();
  crypto_auth_hmacsha256_state state;
  Digest digest;
  // libsodium reads the key pointer even for an empty key, so never pass a null one.
  const unsigned char empty = 0;
  const unsigned char* key_bytes = key.empty() ? &empty : Bytes(key);
  P4DP_ASSERT(crypto_auth_hmacsha256_init(&state, key_bytes, key.size()) == 0);
  P4DP_ASSERT(crypto_auth_hmacsha256_update(&state, Bytes(message), message.size()) == 0);
  P4DP_ASSERT(crypto_auth_hmacsha256_final(&state, digest.data()) == 0);
  sodium_memzero(&state, sizeof(state));
  return digest;
}

KeyedHasher::KeyedHasher(const Key& key) {
  static_assert(kSodiumStateBytes <= kStateBytes, "KeyedHasher::state_ is too small");
  static_assert(kSodiumStateAlign <= kStateAlign, "KeyedHasher::state_ is not aligned enough");
  internal::EnsureSodiumInitialized();
  auto* state = new (state_) crypto_auth_hmacsha256_state;
  const int rc = crypto_auth_hmacsha256_init(state, key.bytes().data(), key.bytes().size());
  P4DP_ASSERT(rc == 0);
}

KeyedHasher::~KeyedHasher() { sodium_memzero(state_, sizeof(state_)); }

KeyedHasher& KeyedHasher::Add(std::string_view part) {
  P4DP_ASSERT(!finished_);
  // The length prefix keeps part boundaries: ("ab", "c") and ("a", "bc") hash differently.
  unsigned char length[8];
  uint64_t n = part.size();
  for (unsigned char& byte : length) {
    byte = static_cast<unsigned char>(n & 0xff);
    n >>= 8;
  }
  crypto_auth_hmacsha256_state* state = AsState(state_);
  P4DP_ASSERT(crypto_auth_hmacsha256_update(state, length, sizeof(length)) == 0);
  P4DP_ASSERT(crypto_auth_hmacsha256_update(state, Bytes(part), part.size()) == 0);
  return *this;
}

Digest KeyedHasher::Finish() {
  P4DP_ASSERT(!finished_);
  finished_ = true;
  Digest digest;
  P4DP_ASSERT(crypto_auth_hmacsha256_final(AsState(state_), digest.data()) == 0);
  sodium_memzero(state_, sizeof(state_));
  return digest;
}

}  // namespace p4dp::crypto
