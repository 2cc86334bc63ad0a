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

uint64_t First64(const crypto::Digest& d) {
  uint64_t v;
  std::memcpy(&v, d.data(), sizeof v);
  return v;
}

}  // namespace

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
  return First64(crypto::KeyedHasher(key_).Add("resource").Add(source).Add(type).Add(id).Finish());
}

uint64_t Pseudonymiser::PracticeKey(std::string_view source,
                                    std::string_view organization_id) const {
  return First64(
      crypto::KeyedHasher(key_).Add("practice").Add(source).Add(organization_id).Finish());
}

}  // namespace p4dp::ingest
