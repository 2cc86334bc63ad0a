#include "store/index.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <new>
#include <span>

#include "base/assert.h"

namespace p4dp::store {
namespace {

const PatientSet& EmptySet() {
  static const PatientSet kEmpty;
  return kEmpty;
}

// The codes of the given kinds, sorted, no repeats.
std::vector<uint32_t> CodesOfKinds(std::vector<uint32_t> kinds, const EventKinds& dictionary) {
  std::sort(kinds.begin(), kinds.end());
  kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
  std::vector<uint32_t> codes;
  for (uint32_t k : kinds) {
    std::span<const uint32_t> c = dictionary.codes(k);
    codes.insert(codes.end(), c.begin(), c.end());
  }
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  return codes;
}

// The kinds of a patient's events.
std::vector<uint32_t> KindsOf(const PatientEvents& events) {
  std::vector<uint32_t> kinds;
  for (const PatientEvents::Group& g : events.groups()) kinds.push_back(g.kind);
  return kinds;
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

void Index::Stage(domain::PatientIndex p, const EventRecord& e) {
  uint32_t kind = kinds_.Intern(e.domain, e.source, e.unit, {e.codes.begin(), e.codes.end()});
  staged_.push_back({p, {e.date, e.end_date, kind, e.value, e.resource_key}});
}

void Index::Repack() {
  if (staged_.empty() && removals_.empty()) return;
  std::sort(staged_.begin(), staged_.end(), [&](const Staged& a, const Staged& b) {
    return a.patient != b.patient ? a.patient < b.patient : PatientEvents::RowBefore(a.row, b.row);
  });
  std::sort(removals_.begin(), removals_.end(), [](const Removal& a, const Removal& b) {
    return a.patient != b.patient ? a.patient < b.patient : a.resource_key < b.resource_key;
  });
  size_t i = 0, j = 0;
  while (i < staged_.size() || j < removals_.size()) {
    domain::PatientIndex p = std::min(
        i < staged_.size() ? staged_[i].patient : std::numeric_limits<domain::PatientIndex>::max(),
        j < removals_.size() ? removals_[j].patient
                             : std::numeric_limits<domain::PatientIndex>::max());
    size_t i_end = i, j_end = j;
    while (i_end < staged_.size() && staged_[i_end].patient == p) ++i_end;
    while (j_end < removals_.size() && removals_[j_end].patient == p) ++j_end;
    RepackPatient(p, std::span(staged_).subspan(i, i_end - i),
                  std::span(removals_).subspan(j, j_end - j));
    i = i_end;
    j = j_end;
  }
  staged_.clear();
  removals_.clear();
}

// The patient's kept events and the added ones (each in order) are merged, then packed once.
void Index::RepackPatient(domain::PatientIndex p, std::span<const Staged> added,
                          std::span<const Removal> removed) {
  PatientEvents& events = patients_[p].events;
  std::vector<uint64_t>& removed_keys = scratch_keys_;
  removed_keys.clear();
  for (const Removal& r : removed) removed_keys.push_back(r.resource_key);  // sorted
  std::vector<uint32_t> codes_before;
  if (!removed.empty()) {
    codes_before = CodesOfKinds(KindsOf(events), kinds_);
  }
  std::vector<PatientEvents::Row>& rows = rows_;
  rows.clear();
  rows.reserve(events.size() + added.size());
  events.AppendRows(rows);
  int64_t dropped = 0;
  if (!removed_keys.empty()) {
    dropped = static_cast<int64_t>(std::erase_if(rows, [&](const PatientEvents::Row& r) {
      return std::binary_search(removed_keys.begin(), removed_keys.end(), r.resource_key);
    }));
  }
  if (dropped == 0 && added.empty()) return;
  // Both sorted: merged.
  const auto kept = static_cast<std::ptrdiff_t>(rows.size());
  for (const Staged& s : added) rows.push_back(s.row);
  std::inplace_merge(rows.begin(), rows.begin() + kept, rows.end(), PatientEvents::RowBefore);
  events_ += static_cast<int64_t>(added.size()) - dropped;
  events = PatientEvents::Pack(rows);

  auto add = [&](uint32_t c) {
    if (c >= by_code_.size()) by_code_.resize(c + 1);
    by_code_[c].Add(p);
  };
  if (removed.empty()) {
    // Only additions: the codes before all stay.
    std::vector<uint32_t> added_kinds;
    for (const Staged& s : added) added_kinds.push_back(s.row.kind);
    for (uint32_t c : CodesOfKinds(std::move(added_kinds), kinds_)) add(c);
    return;
  }
  std::vector<uint32_t> after = CodesOfKinds(KindsOf(events), kinds_);
  std::vector<uint32_t> gone;
  std::set_difference(codes_before.begin(), codes_before.end(), after.begin(), after.end(),
                      std::back_inserter(gone));
  for (uint32_t c : gone) by_code_[c].Remove(p);
  for (uint32_t c : after) add(c);
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
      // A Patient resource's events (its death) go with its row.
      if (old.is_patient_row) patients_[old.patient].row.reset();
      // Its stored events go (this batch's events are staged after every removal).
      if (with_events_) removals_.push_back({old.patient, key});
      if (deleted && !old.deleted) ++counts.removed;
      if (!deleted) ++counts.replaced;
    } else if (!deleted) {
      ++counts.added;
    }
    *slot = {v, deleted, false, p, is_row};
    if (!unique || deleted) winners[key] = !deleted;
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
    Stage(resources_.find(e.resource_key)->patient, e);
  }
  Repack();
  return counts;
}

// Why this gives what Apply would have kept: the events of a resource in the index are those
// of the batch where its winning version first won, which is the first batch that holds that
// version (an equal version later is a duplicate, and no greater one exists). Apply kept that
// batch's events of the resource that carry the version's content hash (segments are read
// without unique_keys), for the winner's patient, unless the winner is a deletion.
void Index::AddEventsOf(const Batch& batch) {
  P4DP_ASSERT(!with_events_);
  FlatMap64<Take>& take = scratch_take_;
  take.clear();
  auto consider = [&](uint64_t key, const Version& v) {
    Winner* w = resources_.find(key);
    if (w == nullptr || w->deleted || w->version != v) return;
    if (w->events_loaded) {
      // Taken from an earlier batch, unless that batch was this one (a repeated record).
      const Take* t = take.find(key);
      if (t == nullptr) return;
    }
    w->events_loaded = true;
    take[key] = {w->patient, v.content_hash};
  };
  for (const PatientRecord& r : batch.patients) consider(r.resource_key, r.version);
  for (const ResourceRecord& r : batch.resources) consider(r.resource_key, r.version);
  if (take.size() == 0) return;
  for (const EventRecord& e : batch.events) {
    const Take* t = take.find(e.resource_key);
    if (t == nullptr || t->content_hash != e.content_hash) continue;
    Stage(t->patient, e);
  }
  Repack();
}

void Index::EndEventsLoad() {
  P4DP_ASSERT(!with_events_);
  Compact();
  with_events_ = true;
}

void Index::FreeDeleter::operator()(std::byte* p) const { std::free(p); }

// Blocks of up to kArenaBytesMax, each filled with the events of consecutive patients; each
// patient's own allocation is freed as soon as it is copied, so the peak stays near one block
// above the events' size.
void Index::AddPostings(domain::PatientIndex p, const PatientEvents& events) {
  std::span<const PatientEvents::Group> groups = events.groups();
  uint32_t begin = 0, rank = 0;
  for (const PatientEvents::Group& g : groups) {
    if (g.kind >= postings_.size()) postings_.resize(g.kind + 1);
    uint32_t values = 0;
    for (uint32_t i = begin; i < g.end; ++i) values += events.has_value(i) ? 1 : 0;
    postings_[g.kind].push_back({p, begin, g.end, rank, values});
    rank += values;
    begin = g.end;
  }
}

void Index::Compact() {
  P4DP_ASSERT(postings_.empty());
  constexpr size_t kArenaBytesMax = size_t{256} << 20;
  constexpr size_t kHugePageBytes = size_t{2} << 20;
  size_t p = 0;
  while (p < patients_.size()) {
    size_t bytes = 0, q = p;
    for (; q < patients_.size(); ++q) {
      const PatientEvents& events = patients_[q].events;
      const size_t b = events.owns_memory() ? events.MemoryBytes() : 0;
      if (q > p && bytes + b > kArenaBytesMax) break;
      bytes += b;  // a multiple of 8
    }
    if (bytes > 0) {
      const size_t size = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
      auto* arena = static_cast<std::byte*>(std::aligned_alloc(kHugePageBytes, size));
      if (arena == nullptr) throw std::bad_alloc();
      // Advice only: without transparent huge pages the block works the same.
      (void)madvise(arena, size, MADV_HUGEPAGE);
      size_t offset = 0;
      for (size_t r = p; r < q; ++r) {
        PatientEvents& events = patients_[r].events;
        if (!events.owns_memory() || events.empty()) continue;
        const size_t b = events.MemoryBytes();
        events = events.CopyTo(arena + offset);
        offset += b;
        AddPostings(static_cast<domain::PatientIndex>(r), events);
      }
      arenas_.emplace_back(arena);
      arena_bytes_ += static_cast<int64_t>(size);
    }
    p = q;
  }
  for (std::vector<KindPosting>& list : postings_) list.shrink_to_fit();
}

void Index::DropEvents() {
  for (IndexPatient& p : patients_) p.events = PatientEvents();
  arenas_.clear();
  arena_bytes_ = 0;
  postings_.clear();
  resources_.for_each_value([](Winner& w) { w.events_loaded = false; });
  by_code_.clear();
  kinds_ = EventKinds();
  staged_.clear();
  removals_.clear();
  events_ = 0;
  with_events_ = false;
}

IndexMemory Index::Memory() const {
  IndexMemory m;
  size_t bytes = patients_.capacity() * sizeof(IndexPatient);
  bytes += static_cast<size_t>(arena_bytes_);
  for (const IndexPatient& p : patients_) {
    if (p.events.owns_memory()) bytes += p.events.MemoryBytes();
    if (p.row) {
      bytes += p.row->registrations.capacity() * sizeof(Registration);
      // A string's own buffer holds up to 15 characters; a longer one is on the heap.
      if (p.row->departement.capacity() > 15) bytes += p.row->departement.capacity() + 1;
    }
  }
  // The patient map: one node (next pointer, key, index) per patient, and the buckets.
  bytes += by_key_.size() * (sizeof(void*) + sizeof(std::pair<domain::PatientKey, uint32_t>)) +
           by_key_.bucket_count() * sizeof(void*);
  bytes += by_code_.capacity() * sizeof(PatientSet);
  for (const PatientSet& s : by_code_) bytes += s.MemoryBytes();
  bytes += kinds_.MemoryBytes();
  bytes += postings_.capacity() * sizeof(std::vector<KindPosting>);
  for (const auto& list : postings_) bytes += list.capacity() * sizeof(KindPosting);
  m.index_bytes = static_cast<int64_t>(bytes);
  m.version_map_bytes =
      static_cast<int64_t>(resources_.memory_bytes() + scratch_best_.memory_bytes() +
                           scratch_winners_.memory_bytes() + scratch_take_.memory_bytes());
  return m;
}

}  // namespace p4dp::store
