#include "store/index.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace p4dp::store {
namespace {

std::vector<uint32_t> CodesOf(const IndexPatient& p) {
  std::vector<uint32_t> codes;
  for (const IndexEvent& e : p.events) codes.insert(codes.end(), e.codes.begin(), e.codes.end());
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  return codes;
}

bool EventBefore(const IndexEvent& a, const IndexEvent& b) {
  if (a.date != b.date) return a.date < b.date;
  if (a.domain != b.domain) return a.domain < b.domain;
  if (a.resource_key != b.resource_key) return a.resource_key < b.resource_key;
  return a.codes < b.codes;
}

const PatientSet& EmptySet() {
  static const PatientSet kEmpty;
  return kEmpty;
}

}  // namespace

std::optional<domain::PatientIndex> Index::Find(const domain::PatientKey& key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

const PatientSet& Index::PatientsWithCode(uint32_t code_id) const {
  return code_id < by_code_.size() ? by_code_[code_id] : EmptySet();
}

domain::PatientIndex Index::PatientFor(const domain::PatientKey& key) {
  auto [it, inserted] =
      by_key_.try_emplace(key, static_cast<domain::PatientIndex>(patients_.size()));
  if (inserted) patients_.push_back({key, std::nullopt, {}});
  return it->second;
}

void Index::RemoveResourceEvents(domain::PatientIndex p, uint64_t resource_key) {
  auto& events = patients_[p].events;
  auto end = std::remove_if(events.begin(), events.end(),
                            [&](const IndexEvent& e) { return e.resource_key == resource_key; });
  events_ -= static_cast<int64_t>(events.end() - end);
  events.erase(end, events.end());
}

void Index::Reindex(domain::PatientIndex p, const std::vector<uint32_t>& codes_before) {
  std::sort(patients_[p].events.begin(), patients_[p].events.end(), EventBefore);
  std::vector<uint32_t> after = CodesOf(patients_[p]);
  std::vector<uint32_t> gone;
  std::set_difference(codes_before.begin(), codes_before.end(), after.begin(), after.end(),
                      std::back_inserter(gone));
  for (uint32_t c : gone) by_code_[c].Remove(p);
  for (uint32_t c : after) {
    if (c >= by_code_.size()) by_code_.resize(c + 1);
    by_code_[c].Add(p);
  }
}

ApplyCounts Index::Apply(const Batch& batch) {
  ApplyCounts counts;
  // The best version of each resource within the batch itself.
  // (Not needed when the producer says each key comes once.)
  const bool unique = batch.unique_keys;
  FlatMap64<const Version*>& best = scratch_best_;
  best.clear();
  resources_.reserve(resources_.size() + batch.patients.size() + batch.resources.size());
  if (!unique) {
    best.reserve(batch.patients.size() + batch.resources.size());
    auto consider = [&](uint64_t key, const Version& v) {
      const Version*& slot = best[key];
      if (slot == nullptr || v > *slot) slot = &v;
    };
    for (const PatientRecord& r : batch.patients) consider(r.resource_key, r.version);
    for (const ResourceRecord& r : batch.resources) consider(r.resource_key, r.version);
  }

  std::map<domain::PatientIndex, std::vector<uint32_t>> touched;  // patient -> codes before
  auto touch = [&](domain::PatientIndex p) {
    if (with_events_ && !touched.count(p)) touched[p] = CodesOf(patients_[p]);
  };
  // Resource key -> its version won (true: not deleted). With unique keys, only the keys
  // whose events do not count (lost or deleted) are kept: usually none.
  FlatMap64<bool>& winners = scratch_winners_;
  winners.clear();
  if (!unique) winners.reserve(batch.resources.size() + batch.patients.size());
  // Applies one resource version if it wins; returns whether it did.
  auto judge = [&](uint64_t key, const Version& v, bool deleted, domain::PatientIndex p,
                   bool is_row) -> bool {
    if (!unique && best[key] != &v) return false;  // a better version of it is in this batch
    // One probe of the (large) version map per resource.
    auto [slot, inserted] = resources_.try_emplace(key);
    if (!inserted && v == slot->version) ++counts.duplicates;
    if (!inserted && v < slot->version) ++counts.outdated;
    if (!inserted && v <= slot->version) {
      if (unique) winners[key] = false;
      return false;
    }
    if (!inserted) {
      const Winner old = *slot;
      touch(old.patient);
      // A Patient resource's events (its death) go with its row.
      if (old.is_patient_row) patients_[old.patient].row.reset();
      RemoveResourceEvents(old.patient, key);
      if (deleted && !old.deleted) ++counts.removed;
      if (!deleted) ++counts.replaced;
    } else if (!deleted) {
      ++counts.added;
    }
    *slot = {v, deleted, p, is_row};
    if (!unique || deleted) winners[key] = !deleted;
    touch(p);
    return true;
  };
  // The version map is large (one slot per resource stored): its lines are fetched a few
  // resources ahead.
  constexpr size_t kAhead = 24;
  for (size_t i = 0; i < batch.patients.size(); ++i) {
    if (i + kAhead < batch.patients.size()) {
      resources_.prefetch(batch.patients[i + kAhead].resource_key);
    }
    const PatientRecord& r = batch.patients[i];
    domain::PatientIndex p = PatientFor(r.key);
    if (judge(r.resource_key, r.version, r.deleted, p, true) && !r.deleted) patients_[p].row = r;
  }
  for (size_t i = 0; i < batch.resources.size(); ++i) {
    if (i + kAhead < batch.resources.size()) {
      resources_.prefetch(batch.resources[i + kAhead].resource_key);
    }
    const ResourceRecord& r = batch.resources[i];
    judge(r.resource_key, r.version, r.deleted, PatientFor(r.patient), false);
  }
  for (const EventRecord& e : batch.events) {
    const bool* w = winners.size() == 0 ? nullptr : winners.find(e.resource_key);
    if (unique) {
      if (w != nullptr) continue;  // its resource lost, or is a deletion
    } else {
      if (w == nullptr || !*w) continue;
      const Version* v = best[e.resource_key];
      if (v == nullptr || v->content_hash != e.content_hash) continue;
    }
    ++counts.events_by_domain[static_cast<size_t>(e.domain)];
    if (!with_events_) continue;
    const Winner& winner = *resources_.find(e.resource_key);
    IndexEvent ie{e.date, e.end_date, e.domain, e.unit, e.source, e.value, e.codes, e.resource_key};
    patients_[winner.patient].events.push_back(std::move(ie));
    ++events_;
  }
  for (const auto& [p, codes_before] : touched) Reindex(p, codes_before);
  return counts;
}

}  // namespace p4dp::store
