#include "ingest/pseudonymiser.h"

#include <cstring>

#include "crypto/keyed_hash.h"

namespace p4dp::ingest {
namespace {

domain::PatientKey ToKey(const crypto::Digest& d) {
  domain::PatientKey k;
  std::memcpy(k.bytes.data(), d.data(), d.size());
  return k;
}

crypto::Key ToArray(const crypto::Digest& d) {
  std::array<uint8_t, crypto::kKeyBytes> bytes;
  std::memcpy(bytes.data(), d.data(), bytes.size());
  return crypto::Key(bytes);
}

// Length-prefixed concatenation, so that ("ab", "c") and ("a", "bc") differ.
void Append(std::string& out, std::string_view part) {
  uint32_t n = static_cast<uint32_t>(part.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(part);
}

}  // namespace

Pseudonymiser::Pseudonymiser(const crypto::Key& key)
    : key_(key), short_key_(ToArray(crypto::HmacSha256(key, "p4dp short keyed hash v1"))) {}

domain::PatientKey Pseudonymiser::FromNir(std::string_view nir) const {
  return ToKey(crypto::KeyedHasher(key_).Add("patient-nir").Add(nir).Finish());
}

domain::PatientKey Pseudonymiser::FromLocalId(std::string_view source,
                                              std::string_view local_id) const {
  return ToKey(crypto::KeyedHasher(key_).Add("patient-local").Add(source).Add(local_id).Finish());
}

store::LinkHash Pseudonymiser::Link(std::string_view source, std::string_view target) const {
  return crypto::KeyedHasher(key_).Add("link").Add(source).Add(target).Finish();
}

uint64_t Pseudonymiser::ResourceKey(std::string_view source, std::string_view type,
                                    std::string_view id) const {
  thread_local std::string message;
  message.clear();
  Append(message, "resource");
  Append(message, source);
  Append(message, type);
  Append(message, id);
  return crypto::ShortKeyedHash(short_key_, message);
}

uint64_t Pseudonymiser::PracticeKey(std::string_view source,
                                    std::string_view organization_id) const {
  thread_local std::string message;
  message.clear();
  Append(message, "practice");
  Append(message, source);
  Append(message, organization_id);
  return crypto::ShortKeyedHash(short_key_, message);
}

}  // namespace p4dp::ingest
