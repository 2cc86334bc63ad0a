// PatientSet: a compressed set of PatientIndex values (a CRoaring bitmap behind this one
// wrapper, so no other file includes CRoaring). Value semantics; one thread at a time per
// set, any number reading.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "domain/patient.h"

struct roaring_bitmap_s;

namespace p4dp::store {

class PatientSet {
 public:
  PatientSet();
  ~PatientSet();
  PatientSet(const PatientSet& other);
  PatientSet& operator=(const PatientSet& other);
  PatientSet(PatientSet&& other) noexcept;
  PatientSet& operator=(PatientSet&& other) noexcept;

  void Add(domain::PatientIndex p);
  void Remove(domain::PatientIndex p);
  bool Contains(domain::PatientIndex p) const;
  uint64_t Cardinality() const;
  bool empty() const { return Cardinality() == 0; }

  PatientSet& operator|=(const PatientSet& other);
  PatientSet& operator&=(const PatientSet& other);
  PatientSet& operator-=(const PatientSet& other);
  bool operator==(const PatientSet& other) const;

  std::vector<domain::PatientIndex> ToVector() const;
  size_t MemoryBytes() const;

 private:
  roaring_bitmap_s* bitmap_;
};

}  // namespace p4dp::store
