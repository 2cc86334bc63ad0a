#include "store/patient_set.h"

#include <roaring/roaring.h>

#include "base/assert.h"

namespace p4dp::store {

PatientSet::PatientSet() : bitmap_(roaring_bitmap_create()) { P4DP_ASSERT(bitmap_ != nullptr); }
PatientSet::~PatientSet() {
  if (bitmap_ != nullptr) roaring_bitmap_free(bitmap_);
}
PatientSet::PatientSet(const PatientSet& other) : bitmap_(roaring_bitmap_copy(other.bitmap_)) {
  P4DP_ASSERT(bitmap_ != nullptr);
}
PatientSet& PatientSet::operator=(const PatientSet& other) {
  if (this != &other) {
    roaring_bitmap_t* copy = roaring_bitmap_copy(other.bitmap_);
    P4DP_ASSERT(copy != nullptr);
    roaring_bitmap_free(bitmap_);
    bitmap_ = copy;
  }
  return *this;
}
PatientSet::PatientSet(PatientSet&& other) noexcept : bitmap_(other.bitmap_) {
  other.bitmap_ = roaring_bitmap_create();
}
PatientSet& PatientSet::operator=(PatientSet&& other) noexcept {
  std::swap(bitmap_, other.bitmap_);
  return *this;
}

void PatientSet::Add(domain::PatientIndex p) { roaring_bitmap_add(bitmap_, p); }
void PatientSet::Remove(domain::PatientIndex p) { roaring_bitmap_remove(bitmap_, p); }
bool PatientSet::Contains(domain::PatientIndex p) const {
  return roaring_bitmap_contains(bitmap_, p);
}
uint64_t PatientSet::Cardinality() const { return roaring_bitmap_get_cardinality(bitmap_); }

PatientSet& PatientSet::operator|=(const PatientSet& other) {
  roaring_bitmap_or_inplace(bitmap_, other.bitmap_);
  return *this;
}
PatientSet& PatientSet::operator&=(const PatientSet& other) {
  roaring_bitmap_and_inplace(bitmap_, other.bitmap_);
  return *this;
}
PatientSet& PatientSet::operator-=(const PatientSet& other) {
  roaring_bitmap_andnot_inplace(bitmap_, other.bitmap_);
  return *this;
}
bool PatientSet::operator==(const PatientSet& other) const {
  return roaring_bitmap_equals(bitmap_, other.bitmap_);
}

std::vector<domain::PatientIndex> PatientSet::ToVector() const {
  std::vector<domain::PatientIndex> out(Cardinality());
  roaring_bitmap_to_uint32_array(bitmap_, out.data());
  return out;
}

size_t PatientSet::MemoryBytes() const { return roaring_bitmap_size_in_bytes(bitmap_); }

}  // namespace p4dp::store
