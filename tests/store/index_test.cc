// The index's event columns: every field of every event comes back as applied (dates, end
// dates, domains, values including none, units, sources, several codes, patients with more
// than 64 events), a newer version of a resource replaces its events and a deletion removes
// them (by-code sets follow), and loading events into an index built without them
// (AddEventsOf, the warehouse's first read) gives exactly what Apply gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "store/index.h"

namespace p4dp::store {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

domain::PatientKey Key(uint8_t n) {
  domain::PatientKey k;
  k.bytes.fill(n);
  return k;
}

ResourceRecord Resource(uint64_t key, const Version& v, uint8_t patient, bool deleted = false) {
  ResourceRecord r;
  r.resource_key = key;
  r.version = v;
  r.deleted = deleted;
  r.patient = Key(patient);
  return r;
}

EventRecord Event(uint8_t patient, uint64_t resource_key, uint64_t content_hash, Days date,
                  domain::Domain domain, std::vector<uint32_t> codes, double value = kNaN,
                  uint32_t unit = 0, uint32_t source = 0, Days end_date = kNoDay) {
  EventRecord e;
  e.patient = Key(patient);
  e.resource_key = resource_key;
  e.content_hash = content_hash;
  e.date = date;
  e.domain = domain;
  std::sort(codes.begin(), codes.end());
  e.codes.assign(codes.begin(), codes.end());
  e.value = value;
  e.unit = unit;
  e.source = source;
  e.end_date = end_date;
  return e;
}

// An event as comparable values (a NaN value as "none").
using Flat =
    std::tuple<Days, Days, int, uint32_t, uint32_t, std::string, std::vector<uint32_t>, uint64_t>;

Flat FlatOf(Days date, Days end, domain::Domain domain, uint32_t unit, uint32_t source,
            double value, std::vector<uint32_t> codes, uint64_t key) {
  std::ostringstream v;
  if (std::isnan(value)) {
    v << "none";
  } else {
    v.precision(17);
    v << value;
  }
  return {date, end, static_cast<int>(domain), unit, source, v.str(), std::move(codes), key};
}

Flat FlatOf(const IndexEvent& e) {
  return FlatOf(e.date, e.end_date, e.domain, e.unit, e.source, e.value,
                {e.codes.begin(), e.codes.end()}, e.resource_key);
}

Flat FlatOf(const EventRecord& e) {
  return FlatOf(e.date, e.end_date, e.domain, e.unit, e.source, e.value, e.codes.ToVector(),
                e.resource_key);
}

// The readers' order: date, domain, resource key, codes, then the other fields.
bool ReaderBefore(const Flat& a, const Flat& b) {
  auto key = [](const Flat& f) {
    return std::tie(std::get<0>(f), std::get<2>(f), std::get<7>(f), std::get<6>(f), std::get<4>(f),
                    std::get<3>(f), std::get<1>(f));
  };
  if (key(a) != key(b)) return key(a) < key(b);
  const std::string &va = std::get<5>(a), &vb = std::get<5>(b);
  if (va == vb) return false;
  if (va == "none" || vb == "none") return va == "none";
  return std::stod(va) < std::stod(vb);
}

std::vector<Flat> EventsOf(const Index& index, uint8_t patient) {
  std::vector<Flat> out;
  auto p = index.Find(Key(patient));
  if (!p) return out;
  for (const IndexEvent& e : index.Events(*p)) out.push_back(FlatOf(e));
  return out;
}

// Many events of every kind of field for one patient: 150 resources of one or two events.
Batch RichBatch(uint64_t hash_salt) {
  Batch b;
  PatientRecord row;
  row.key = Key(1);
  row.resource_key = 900;
  row.version = {10, 1, 1};
  b.patients.push_back(row);
  for (uint64_t r = 1; r <= 150; ++r) {
    const uint64_t hash = r * 1000 + hash_salt;
    b.resources.push_back(Resource(r, {20, 1, hash}, 1));
    auto domain = static_cast<domain::Domain>(r % domain::kDomainCount);
    std::vector<uint32_t> codes;
    for (uint32_t c = 0; c <= r % 5; ++c) codes.push_back(static_cast<uint32_t>(10 + r % 7 + c));
    double value = r % 3 == 0 ? kNaN : (r % 3 == 1 ? -1.5 * static_cast<double>(r) : 0.0);
    Days end = r % 4 == 0 ? static_cast<Days>(20'000 + r) : kNoDay;
    // Dates repeat (several events a day) and go back before 1970.
    auto date = static_cast<Days>(static_cast<int64_t>(r % 40) * 97 - 1'000);
    b.events.push_back(Event(1, r, hash, date, domain, codes, value, static_cast<uint32_t>(r % 3),
                             static_cast<uint32_t>(r % 2), end));
    if (r % 10 == 0) {  // a second event of the same resource, same day, other codes
      b.events.push_back(Event(1, r, hash, date, domain, {99, static_cast<uint32_t>(r)}, 7.25));
    }
  }
  return b;
}

TEST(IndexEvents, RoundTripEveryField) {
  Batch batch = RichBatch(0);
  Index index;
  ApplyCounts counts = index.Apply(batch);
  EXPECT_EQ(counts.added, 151);
  std::vector<Flat> expected;
  for (const EventRecord& e : batch.events) expected.push_back(FlatOf(e));
  std::sort(expected.begin(), expected.end(), ReaderBefore);
  std::vector<Flat> got = EventsOf(index, 1);
  ASSERT_EQ(got.size(), 165u);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(index.event_count(), 165);

  // The columns agree with the events: values and end dates by rank, groups by kind.
  const PatientEvents& columns = index.patient(*index.Find(Key(1))).events;
  ASSERT_EQ(columns.size(), 165u);
  std::vector<PatientEvents::Row> rows;
  columns.AppendRows(rows);
  ASSERT_EQ(rows.size(), 165u);
  EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end(), PatientEvents::RowBefore));
  uint32_t g = 0;
  for (uint32_t i = 0; i < rows.size(); ++i) {
    while (columns.groups()[g].end <= i) ++g;
    EXPECT_EQ(columns.groups()[g].kind, rows[i].kind);
    EXPECT_EQ(columns.dates()[i], rows[i].date);
    EXPECT_EQ(columns.end_date(i), rows[i].end_date);
    EXPECT_EQ(columns.has_value(i), !std::isnan(rows[i].value));
    if (columns.has_value(i)) {
      EXPECT_EQ(columns.value(i), rows[i].value);
      EXPECT_EQ(columns.values()[columns.ValuesBefore(i)], rows[i].value);
    }
    EXPECT_EQ(columns.resource_keys()[i], rows[i].resource_key);
  }
  // Each group sorted by date.
  for (size_t k = 0; k < columns.groups().size(); ++k) {
    auto dates = columns.dates().subspan(columns.GroupBegin(k),
                                         columns.groups()[k].end - columns.GroupBegin(k));
    EXPECT_TRUE(std::is_sorted(dates.begin(), dates.end()));
  }
  EXPECT_GT(index.Memory().index_bytes, static_cast<int64_t>(columns.MemoryBytes()));
  for (uint32_t c = 10; c <= 20; ++c) EXPECT_TRUE(index.PatientsWithCode(c).Contains(0)) << c;
  EXPECT_TRUE(index.PatientsWithCode(99).Contains(0));
  EXPECT_FALSE(index.PatientsWithCode(98).Contains(0));
}

TEST(IndexEvents, NewerVersionsReplaceAndDeletionsRemoveTheirEvents) {
  Index index;
  index.Apply(RichBatch(0));
  // Resource 5 gets a newer version with other codes and values; resource 7 a newer version
  // for another patient; resource 30 (the only one with code 30 in its second event) is
  // deleted; resource 8 comes again in an older version (ignored).
  Batch b;
  b.resources.push_back(Resource(5, {30, 1, 55}, 1));
  b.resources.push_back(Resource(7, {30, 1, 77}, 2));
  b.resources.push_back(Resource(30, {30, 1, 0}, 1, /*deleted=*/true));
  b.resources.push_back(Resource(8, {5, 1, 88}, 1));
  b.events.push_back(Event(1, 5, 55, 123, domain::Domain::kDrug, {500, 501}, 3.5, 2, 1, 130));
  b.events.push_back(Event(1, 5, 55, 124, domain::Domain::kDrug, {500}));
  b.events.push_back(Event(2, 7, 77, 456, domain::Domain::kCondition, {700}));
  b.events.push_back(Event(1, 8, 88, 1, domain::Domain::kCondition, {800}));
  ApplyCounts counts = index.Apply(b);
  EXPECT_EQ(counts.replaced, 2);
  EXPECT_EQ(counts.removed, 1);
  EXPECT_EQ(counts.outdated, 1);

  Batch expected_batch = RichBatch(0);
  std::vector<Flat> expected;
  for (const EventRecord& e : expected_batch.events) {
    if (e.resource_key != 5 && e.resource_key != 7 && e.resource_key != 30) {
      expected.push_back(FlatOf(e));
    }
  }
  expected.push_back(FlatOf(b.events[0]));
  expected.push_back(FlatOf(b.events[1]));
  std::sort(expected.begin(), expected.end(), ReaderBefore);
  EXPECT_EQ(EventsOf(index, 1), expected);
  EXPECT_EQ(EventsOf(index, 2), std::vector<Flat>{FlatOf(b.events[2])});
  EXPECT_EQ(index.event_count(), static_cast<int64_t>(expected.size()) + 1);

  const domain::PatientIndex p1 = *index.Find(Key(1)), p2 = *index.Find(Key(2));
  EXPECT_TRUE(index.PatientsWithCode(500).Contains(p1));
  EXPECT_TRUE(index.PatientsWithCode(501).Contains(p1));
  EXPECT_TRUE(index.PatientsWithCode(700).Contains(p2));
  EXPECT_FALSE(index.PatientsWithCode(700).Contains(p1));
  EXPECT_FALSE(index.PatientsWithCode(30).Contains(p1)) << "only the deleted resource had it";
  EXPECT_FALSE(index.PatientsWithCode(800).Contains(p1)) << "an outdated version was indexed";
  EXPECT_TRUE(index.PatientsWithCode(99).Contains(p1)) << "other resources still have it";
}

// Random batches: versions of resources (some newer, older, repeated, deleted, moved to
// another patient), repeated records within a batch, events with random fields.
std::vector<Batch> RandomBatches(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return rng() % n; };
  std::vector<Batch> batches(12);
  for (Batch& b : batches) {
    for (int p = 1; p <= 6; ++p) {
      if (pick(3) != 0) continue;
      PatientRecord row;
      row.key = Key(static_cast<uint8_t>(p));
      row.resource_key = 10'000 + static_cast<uint64_t>(p);
      row.version = {static_cast<Days>(pick(4)), 1, pick(3)};
      row.birth_year = static_cast<int16_t>(1900 + pick(100));
      b.patients.push_back(row);
      if (pick(2) == 0) {  // a death event of the row
        b.events.push_back(Event(static_cast<uint8_t>(p), row.resource_key,
                                 row.version.content_hash, 30'000, domain::Domain::kDeath, {}));
      }
    }
    for (int r = 0; r < 40; ++r) {
      const uint64_t key = 1 + pick(60);
      const Version v{static_cast<Days>(pick(5)), static_cast<uint32_t>(pick(2)),
                      key * 100 + pick(3)};
      const auto patient = static_cast<uint8_t>(1 + pick(6));
      const bool deleted = pick(8) == 0;
      const int copies = pick(6) == 0 ? 2 : 1;  // a record repeated within the batch
      for (int c = 0; c < copies; ++c) {
        b.resources.push_back(Resource(key, v, patient, deleted));
        if (deleted) continue;
        for (uint64_t e = 0, n = pick(4); e < n; ++e) {
          std::vector<uint32_t> codes;
          for (uint64_t k = 0, m = pick(4); k < m; ++k) {
            codes.push_back(static_cast<uint32_t>(1 + pick(30)));
          }
          std::sort(codes.begin(), codes.end());
          codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
          b.events.push_back(Event(patient, key, v.content_hash, static_cast<Days>(pick(50)) - 10,
                                   static_cast<domain::Domain>(pick(domain::kDomainCount)), codes,
                                   pick(2) == 0 ? kNaN : static_cast<double>(pick(9)),
                                   static_cast<uint32_t>(pick(3)), static_cast<uint32_t>(pick(2)),
                                   pick(3) == 0 ? static_cast<Days>(pick(90)) : kNoDay));
        }
      }
    }
    // An event whose resource is not in the batch: ignored.
    b.events.push_back(Event(1, 999'999, 1, 5, domain::Domain::kVisit, {1}));
  }
  return batches;
}

std::string Content(const Index& index) {
  std::ostringstream s;
  for (uint8_t p = 1; p <= 6; ++p) {
    s << "patient " << int{p} << "\n";
    for (const Flat& f : EventsOf(index, p)) {
      s << " " << std::get<0>(f) << " " << std::get<1>(f) << " " << std::get<2>(f) << " "
        << std::get<3>(f) << " " << std::get<4>(f) << " " << std::get<5>(f) << " " << std::get<7>(f)
        << " [";
      for (uint32_t c : std::get<6>(f)) s << c << " ";
      s << "]\n";
    }
  }
  s << "events " << index.event_count() << "\n";
  for (uint32_t c = 0; c <= 31; ++c) {
    s << "code " << c << ":";
    for (domain::PatientIndex p : index.PatientsWithCode(c).ToVector()) {
      s << " " << index.patient(p).key.bytes[0];
    }
    s << "\n";
  }
  return s.str();
}

TEST(IndexEvents, LoadingEventsAfterwardsGivesWhatApplyGives) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<Batch> batches = RandomBatches(seed);
    Index applied;
    Index loaded(/*with_events=*/false);
    for (const Batch& b : batches) {
      applied.Apply(b);
      loaded.Apply(b);
    }
    ASSERT_FALSE(loaded.with_events());
    EXPECT_EQ(loaded.event_count(), 0);
    for (const Batch& b : batches) loaded.AddEventsOf(b);
    loaded.EndEventsLoad();
    ASSERT_TRUE(loaded.with_events());
    const std::string expected = Content(applied);
    EXPECT_EQ(Content(loaded), expected);
    // A load that could not finish is undone, and a second load gives the same again.
    Index again(/*with_events=*/false);
    for (const Batch& b : batches) again.Apply(b);
    again.AddEventsOf(batches[0]);
    again.DropEvents();
    EXPECT_EQ(again.event_count(), 0);
    for (const Batch& b : batches) again.AddEventsOf(b);
    again.EndEventsLoad();
    EXPECT_EQ(Content(again), expected);
    // The loaded index goes on applying batches as the other does.
    Batch more = RandomBatches(seed + 1000)[0];
    applied.Apply(more);
    loaded.Apply(more);
    EXPECT_EQ(Content(loaded), Content(applied));
  }
}

}  // namespace
}  // namespace p4dp::store
