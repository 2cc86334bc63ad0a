#include "crypto/password.h"

#include <sodium.h>

#include <vector>

#include "crypto/sodium_init.h"

namespace p4dp::crypto {

Result<std::string> HashPassword(std::string_view password, PasswordCost cost) {
  internal::EnsureSodiumInitialized();
  if (password.empty()) return Status::InvalidArgument("password: empty");
  if (password.size() > kPasswordBytesMax) {
    return Status::InvalidArgument("password: longer than " + std::to_string(kPasswordBytesMax) +
                                   " bytes");
  }
  unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (cost == PasswordCost::kMinimumForTesting) {
    ops = crypto_pwhash_OPSLIMIT_MIN;
    mem = crypto_pwhash_MEMLIMIT_MIN;
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::ResourceExhausted("password: out of memory while hashing");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  internal::EnsureSodiumInitialized();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  if (password.empty() || password.size() > kPasswordBytesMax) return false;
  std::string h(hash);  // crypto_pwhash_str_verify needs a NUL-terminated string
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

std::string RandomHex(size_t bytes) {
  internal::EnsureSodiumInitialized();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  sodium_memzero(raw.data(), raw.size());
  hex.pop_back();
  return hex;
}

std::string Sha256Hex(std::string_view data) {
  internal::EnsureSodiumInitialized();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, crypto_hash_sha256_BYTES * 2);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace p4dp::crypto
