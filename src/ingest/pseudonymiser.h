// Pseudonymisation at the door: turns source identifiers (a NIR, a practice's local patient
// id, resource ids) into keyed hashes under the warehouse's pseudonym key. The national
// identifier gives the same PatientKey from any source; without it the key is derived from
// (source, local id). Nothing here stores an identifier: the source identifiers live only
// in the arguments. Thread-safe (no state beyond the key).
#pragma once

#include <cstdint>
#include <string_view>

#include "crypto/aead.h"
#include "domain/patient.h"
#include "store/catalog.h"

namespace p4dp::ingest {

class Pseudonymiser {
 public:
  explicit Pseudonymiser(const crypto::Key& key);

  // Requires a normalised NIR (15 characters, valid key).
  domain::PatientKey FromNir(std::string_view nir) const;
  domain::PatientKey FromLocalId(std::string_view source, std::string_view local_id) const;
  // The link from a reference target within a source ("Patient/123" → "123", or a Bundle
  // fullUrl) to a patient key, as stored in the catalog.
  store::LinkHash Link(std::string_view source, std::string_view target) const;
  // 64-bit keys of resources and practices.
  uint64_t ResourceKey(std::string_view source, std::string_view type, std::string_view id) const;
  uint64_t PracticeKey(std::string_view source, std::string_view organization_id) const;

 private:
  crypto::Key key_;
  crypto::Key short_key_;  // for the 64-bit resource and practice keys (SipHash)
};

}  // namespace p4dp::ingest
