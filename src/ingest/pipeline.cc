#include "ingest/pipeline.h"

#include <xxhash.h>

#include <simdjson.h>
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/clock.h"

namespace p4dp::ingest {

// Where one resource's version sits in the staged batch: its row (in patients or
// resources) and its events (a range of the batch's events).
struct Ingester::Staged {
  uint64_t resource_key = 0;
  store::Version version;
  bool is_patient = false;
  uint32_t row = 0;
  uint32_t first_event = 0;
  uint32_t events = 0;
};

namespace {

constexpr int64_t kProgressIntervalMicros = 2'000'000;
constexpr size_t kResolvedReferencesMax = 1'000'000;
constexpr const char* kQuarantineAd = "p4dp quarantine record";

// "Patient/123" → "123"; "https://host/fhir/Patient/123" → "123"; "urn:uuid:..." as is.
std::string_view ReferenceTarget(std::string_view reference, std::string_view type) {
  if (reference.rfind("urn:", 0) == 0) return reference;
  std::string prefix = std::string(type) + "/";
  size_t pos = reference.rfind(prefix);
  if (pos == std::string_view::npos || (pos > 0 && reference[pos - 1] != '/')) return {};
  std::string_view rest = reference.substr(pos + prefix.size());
  size_t history = rest.find("/_history");
  return rest.substr(0, history);
}

uint32_t NumericVersion(const std::string& v) {
  uint64_t n = 0;
  if (v.empty() || v.size() > 9) return 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return static_cast<uint32_t>(n);
}

int64_t NowMicros() { return SystemClock().MonotonicMicros(); }

// Records are read in chunks by a reader thread and mapped (simdjson) by whichever thread
// is free: the reader when the queue is full, a mapping helper thread, or the ingesting
// thread when the chunk it needs next is not mapped yet. Chunks leave the queue in input
// order, so the result is the same as with one thread.
constexpr size_t kChunkRecords = 1024;
constexpr size_t kChunksQueued = 6;  // bounds memory: at most this many chunks in flight

struct MappedItem {
  MappedResource mapped;
  uint64_t content_hash = 0;
  size_t json_offset = 0;  // the record's text, in the chunk's buffer
  size_t json_size = 0;
  size_t full_url_offset = 0;
  size_t full_url_size = 0;
  const std::string* file = nullptr;
  int64_t line = 0;
  int64_t bundle_entry = -1;
  bool too_large = false;
};

struct MappedChunk {
  enum class State : uint8_t { kRaw, kMapping, kMapped };
  ByteBuffer text;  // the records' text, then simdjson's padding
  // The records: the first `count` of `items` (the others are kept for reuse, with the
  // capacity of their strings and vectors).
  std::vector<MappedItem> items;
  size_t count = 0;
  Status status;      // a read error ends the stream
  bool last = false;  // no chunk follows
  State state = State::kRaw;
};

// Maps every record of a chunk whose text is complete (and padded).
void MapChunk(MappedChunk& chunk, FhirMapper& mapper) {
  for (size_t i = 0; i < chunk.count; ++i) {
    MappedItem& item = chunk.items[i];
    if (item.too_large) continue;
    std::string_view json(chunk.text.data() + item.json_offset, item.json_size);
    mapper.Map(json, /*padded=*/true, item.mapped);
    item.content_hash = XXH3_64bits(json.data(), json.size());
  }
}

class ChunkQueue {
 public:
  // Blocks while the queue is full, mapping queued chunks meanwhile with `mapper`; returns
  // false once the consumer has stopped.
  bool Push(std::unique_ptr<MappedChunk> chunk, FhirMapper& mapper) {
    chunk->text.append(simdjson::SIMDJSON_PADDING, ' ');
    std::unique_lock lock(mu_);
    for (;;) {
      if (stopped_) return false;
      if (queue_.size() < kChunksQueued) break;
      if (!MapOneLocked(lock, mapper)) cv_.wait(lock);
    }
    queue_.push_back(std::move(chunk));
    cv_.notify_all();
    return true;
  }
  // The next chunk in input order, mapped (by this thread with `mapper` if nobody has
  // started it).
  std::unique_ptr<MappedChunk> Pop(FhirMapper& mapper) {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return !queue_.empty(); });
      MappedChunk& head = *queue_.front();
      if (head.state == MappedChunk::State::kMapped) break;
      if (head.state == MappedChunk::State::kRaw) {
        head.state = MappedChunk::State::kMapping;
        lock.unlock();
        MapChunk(head, mapper);
        lock.lock();
        head.state = MappedChunk::State::kMapped;
        break;
      }
      cv_.wait(lock, [&] { return head.state == MappedChunk::State::kMapped; });
    }
    auto chunk = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return chunk;
  }
  // The mapping helper: maps queued chunks until the queue stops.
  void MapUntilStopped(FhirMapper& mapper) {
    std::unique_lock lock(mu_);
    while (!stopped_) {
      if (!MapOneLocked(lock, mapper)) cv_.wait(lock);
    }
  }
  // Chunks go back to the reader once used, so that their buffers (text, items and the
  // strings in them) are reused instead of allocated and faulted in again.
  void Recycle(std::unique_ptr<MappedChunk> chunk) {
    std::lock_guard lock(mu_);
    if (free_.size() < kChunksQueued + 2) free_.push_back(std::move(chunk));
  }
  std::unique_ptr<MappedChunk> TakeFree() {
    std::unique_ptr<MappedChunk> chunk;
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        chunk = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!chunk) return std::make_unique<MappedChunk>();
    chunk->text.clear();
    chunk->count = 0;
    chunk->status = Status::Ok();
    chunk->last = false;
    chunk->state = MappedChunk::State::kRaw;
    return chunk;
  }
  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }

 private:
  // Maps the first chunk nobody has started, if any (the lock is released meanwhile; the
  // chunk stays in place, since only a mapped chunk leaves the queue).
  bool MapOneLocked(std::unique_lock<std::mutex>& lock, FhirMapper& mapper) {
    for (auto& chunk : queue_) {
      if (chunk->state != MappedChunk::State::kRaw) continue;
      MappedChunk& c = *chunk;
      c.state = MappedChunk::State::kMapping;
      lock.unlock();
      MapChunk(c, mapper);
      lock.lock();
      c.state = MappedChunk::State::kMapped;
      cv_.notify_all();
      return true;
    }
    return false;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<MappedChunk>> queue_;
  std::vector<std::unique_ptr<MappedChunk>> free_;
  bool stopped_ = false;
};

// Reads every file, in order, into `queue`; always ends with a `last` chunk unless the
// consumer stopped first. NDJSON files are read a block of lines at a time straight into
// the chunk's buffer; Bundles record by record, their text copied.
void ReadChunks(const std::vector<std::string>& files, Days today, ChunkQueue& queue) {
  FhirMapper mapper(MapperOptions{today});
  auto chunk = queue.TakeFree();
  std::vector<LineRef> lines;
  bool open = true;
  auto push = [&] {
    open = queue.Push(std::move(chunk), mapper);
    chunk = queue.TakeFree();
    return open;
  };
  auto next_item = [&](const std::string& file) -> MappedItem& {
    if (chunk->count == chunk->items.size()) chunk->items.emplace_back();
    MappedItem& item = chunk->items[chunk->count++];
    item.content_hash = 0;
    item.file = &file;
    item.bundle_entry = -1;
    item.full_url_offset = item.full_url_size = 0;
    return item;
  };
  for (const std::string& file : files) {
    Status s;
    if (IsNdjsonFile(file)) {
      if (chunk->count > 0 && !push()) return;
      Result<bool> read = [&]() -> Result<bool> {
        auto reader = P4DP_TRY(LineBlockReader::Open(file));
        for (;;) {
          bool more = P4DP_TRY(reader->Next(chunk->text, lines, kChunkRecords));
          if (!more) return true;
          for (const LineRef& l : lines) {
            MappedItem& item = next_item(file);
            item.line = l.line;
            item.too_large = l.too_large;
            item.json_offset = l.offset;
            item.json_size = l.size;
          }
          if (chunk->count > 0 && !push()) return false;
        }
      }();
      if (!open) return;
      if (!read.ok()) s = read.status();
    } else {
      s = ReadRecords(file, [&](const RawRecord& r) {
        if (!open) return;
        MappedItem& item = next_item(file);
        item.line = r.line;
        item.bundle_entry = r.bundle_entry;
        item.too_large = r.too_large;
        item.json_offset = chunk->text.size();
        item.json_size = r.json.size();
        chunk->text.append(r.json);
        item.full_url_offset = chunk->text.size();
        item.full_url_size = r.full_url.size();
        chunk->text.append(r.full_url);
        if (chunk->count >= kChunkRecords) push();
      });
      if (!open) return;
    }
    if (!s.ok()) {
      chunk->status = s;
      break;
    }
  }
  chunk->last = true;
  queue.Push(std::move(chunk), mapper);
}

}  // namespace

// {"visit": n, "condition": n, ...}
nlohmann::ordered_json DomainCounts(const std::array<int64_t, domain::kDomainCount>& counts) {
  nlohmann::ordered_json j;
  for (int d = 0; d < domain::kDomainCount; ++d) {
    j[std::string(domain::DomainName(static_cast<domain::Domain>(d)))] =
        counts[static_cast<size_t>(d)];
  }
  return j;
}

std::string StatsToJson(const store::Stats& stats, int indent) {
  nlohmann::ordered_json j;
  j["patients"] = stats.patients;
  j["patients_with_events"] = stats.patients_with_events;
  j["resources"] = stats.resources;
  j["events"] = stats.events;
  j["events_by_domain"] = DomainCounts(stats.events_by_domain);
  j["events_by_source"] = stats.events_by_source;
  j["segments"] = stats.segments;
  j["bytes_on_disk"] = stats.bytes_on_disk;
  j["index_bytes"] = stats.index_bytes;
  j["version_map_bytes"] = stats.version_map_bytes;
  j["quarantined_by_reason"] = stats.quarantined_by_reason;
  return j.dump(indent);
}

std::string IngestSummary::ToJson() const {
  nlohmann::ordered_json j;
  j["files"] = files;
  j["records"] = records;
  j["accepted"] = accepted;
  j["replaced"] = replaced;
  j["duplicates"] = duplicates;
  j["outdated"] = outdated;
  j["removed"] = removed;
  j["rejected"] = rejected;
  j["rejected_by_reason"] = rejected_by_reason;
  j["skipped_by_type"] = skipped_by_type;
  j["practices"] = practices;
  j["medications"] = medications;
  j["events_by_domain"] = DomainCounts(events_by_domain);
  j["bytes"] = bytes;
  j["seconds"] = std::round(seconds * 100) / 100;
  j["publish_seconds"] = std::round(publish_seconds * 100) / 100;
  return j.dump();
}

Ingester::Ingester(store::Warehouse& warehouse, IngestOptions options)
    : warehouse_(warehouse),
      options_(std::move(options)),
      pseudonymiser_(warehouse.pseudonym_key()),
      mapper_(MapperOptions{options_.today}) {}

Ingester::~Ingester() = default;

Status Ingester::EnsureTransaction() {
  if (txn_) return Status::Ok();
  staged_slots_.reserve(static_cast<size_t>(options_.batch_resources_max));
  ReserveBatch();
  txn_ = P4DP_TRY(warehouse_.Begin());
  source_id_ = P4DP_TRY(txn_->catalog().SourceId(options_.source));
  return Status::Ok();
}

// Two threads: one reads, decompresses and maps records (simdjson), this one resolves,
// pseudonymises and publishes them. Records keep their order, so the result is the same as
// with one thread.
Status Ingester::IngestPaths(const std::vector<std::string>& paths) {
  start_us_ = NowMicros();
  bulk_ = true;
  auto files = P4DP_TRY(ListInputFiles(paths));
  summary_.files = static_cast<int64_t>(files.size());
  ChunkQueue queue;
  std::thread reader([&] { ReadChunks(files, options_.today, queue); });
  std::thread helper([&] {
    FhirMapper mapper(MapperOptions{options_.today});
    queue.MapUntilStopped(mapper);
  });
  Status status;
  for (;;) {
    std::unique_ptr<MappedChunk> chunk = queue.Pop(mapper_);
    for (size_t i = 0; i < chunk->count; ++i) {
      MappedItem& item = chunk->items[i];
      if (!status.ok()) break;
      RawRecord r;
      r.json = chunk->text.view().substr(item.json_offset, item.json_size);
      r.full_url = chunk->text.view().substr(item.full_url_offset, item.full_url_size);
      r.file = item.file;
      r.line = item.line;
      r.bundle_entry = item.bundle_entry;
      r.too_large = item.too_large;
      current_file_ = *item.file;
      status = OnMapped(r, item.mapped, item.content_hash);
    }
    if (status.ok() && !chunk->status.ok()) status = chunk->status;
    if (chunk->last || !status.ok()) break;
    queue.Recycle(std::move(chunk));
  }
  queue.Stop();
  reader.join();
  helper.join();
  P4DP_TRY(status);
  P4DP_TRY(Finish());
  Progress(true);
  summary_.seconds = static_cast<double>(NowMicros() - start_us_) / 1e6;
  return Status::Ok();
}

Status Ingester::IngestBody(std::string_view body, const std::string& name) {
  start_us_ = NowMicros();
  current_file_ = name;
  Status s = ReadBody(body, name, [&](const RawRecord& r) {
    if (deferred_.ok()) deferred_ = OnRecord(r);
  });
  P4DP_TRY(deferred_);
  P4DP_TRY(s);
  P4DP_TRY(Finish());
  summary_.seconds = static_cast<double>(NowMicros() - start_us_) / 1e6;
  return Status::Ok();
}

void Ingester::Progress(bool force) {
  if (!options_.on_progress) return;
  int64_t now = NowMicros();
  if (!force && now - last_progress_us_ < kProgressIntervalMicros) return;
  last_progress_us_ = now;
  options_.on_progress({summary_.records, summary_.bytes, current_file_});
}

Status Ingester::OnRecord(const RawRecord& record) {
  MappedResource mapped;
  uint64_t content_hash = 0;
  if (!record.too_large) {
    mapped = mapper_.Map(record.json, record.padded);
    content_hash = XXH3_64bits(record.json.data(), record.json.size());
  }
  return OnMapped(record, mapped, content_hash);
}

Status Ingester::OnMapped(const RawRecord& record, MappedResource& mapped, uint64_t content_hash) {
  ++summary_.records;
  summary_.bytes += static_cast<int64_t>(record.json.size()) + 1;
  if ((summary_.records & 1023) == 0) Progress(false);
  P4DP_TRY(EnsureTransaction());
  if (record.too_large) {
    return Quarantine(record, QuarantineReason::kTooLarge, "", "", "");
  }
  P4DP_TRY(HandleMapped(record, mapped, content_hash));
  if (static_cast<int64_t>(staged_slots_.size()) >= options_.batch_resources_max ||
      static_cast<int64_t>(staged_.events.size()) >= kIngestBatchEventsMax) {
    P4DP_TRY(Flush());
  }
  return Status::Ok();
}

uint64_t Ingester::KeyOf(const std::string& type, const std::string& id,
                         uint64_t content_hash) const {
  // A resource without an id can only be recognised by its content.
  if (id.empty())
    return pseudonymiser_.ResourceKey(options_.source, type, "#" + std::to_string(content_hash));
  return pseudonymiser_.ResourceKey(options_.source, type, id);
}

Status Ingester::HandleMapped(const RawRecord& record, MappedResource& m, uint64_t content_hash) {
  store::Version version{m.last_updated == kNoDate ? store::kNoDay : m.last_updated,
                         NumericVersion(m.version), content_hash};
  switch (m.kind) {
    case MappedKind::kQuarantined:
      // A plain JSON file beside FHIR data (a manifest, p4dp synth's truth/summary.json) is
      // not a record: it is counted, not quarantined.
      if (m.reason == QuarantineReason::kNoResourceType && record.bundle_entry < 0 &&
          record.file != nullptr && record.file->size() > 5 &&
          record.file->compare(record.file->size() - 5, 5, ".json") == 0) {
        ++summary_.skipped_by_type["(not FHIR)"];
        return Status::Ok();
      }
      return Quarantine(record, m.reason, m.resource_type, m.id, m.reason_detail);
    case MappedKind::kSkipped:
      ++summary_.skipped_by_type[m.resource_type.empty() ? "?" : m.resource_type];
      return Status::Ok();
    case MappedKind::kOrganization: ++summary_.practices; return Status::Ok();
    case MappedKind::kMedication:
      ++summary_.medications;
      medications_["Medication/" + m.id] = m.medication_codes;
      if (!record.full_url.empty()) medications_[std::string(record.full_url)] = m.medication_codes;
      return Status::Ok();
    case MappedKind::kPatient: return HandlePatient(record, m, version);
    case MappedKind::kEnteredInError: {
      uint64_t resource_key = KeyOf(m.resource_type, m.id, content_hash);
      if (m.resource_type == "Patient") {
        Admit(resource_key, version, true);
        store::PatientRecord& row = staged_.patients.emplace_back();
        row.deleted = true;
        row.resource_key = resource_key;
        row.version = version;
        auto key = ResolvePatient("Patient/" + m.id);
        if (key) row.key = *key;
        return Status::Ok();
      }
      Admit(resource_key, version, false);
      store::ResourceRecord& row = staged_.resources.emplace_back();
      row.resource_key = resource_key;
      row.version = version;
      row.deleted = true;
      row.source = source_id_;
      auto key = ResolvePatient(m.subject_reference);
      if (key) row.patient = *key;
      return Status::Ok();
    }
    case MappedKind::kEvents: return HandleEvents(record, m, version);
  }
  return Status::Ok();
}

Status Ingester::HandlePatient(const RawRecord& record, const MappedResource& m,
                               const store::Version& version) {
  const MappedPatient& mp = m.patient;
  domain::PatientKey key = mp.nir.empty() ? pseudonymiser_.FromLocalId(options_.source, m.id)
                                          : pseudonymiser_.FromNir(mp.nir);
  store::Catalog& catalog = txn_->catalog();
  if (!m.id.empty())
    P4DP_TRY(catalog.AddPatientLink(pseudonymiser_.Link(options_.source, m.id), key));
  if (!record.full_url.empty()) {
    P4DP_TRY(catalog.AddPatientLink(pseudonymiser_.Link(options_.source, record.full_url), key));
  }
  uint64_t resource_key = KeyOf("Patient", m.id, version.content_hash);
  Admit(resource_key, version, true);
  store::PatientRecord& row = staged_.patients.emplace_back();
  row.key = key;
  row.resource_key = resource_key;
  row.version = version;
  row.source = source_id_;
  row.sex = mp.sex;
  row.birth_year = static_cast<int16_t>(mp.birth_year);
  row.birth_month = static_cast<int8_t>(mp.birth_month);
  row.death = mp.death == kNoDate ? store::kNoDay : mp.death;
  row.departement = mp.departement;
  for (const MappedRegistration& r : mp.registrations) {
    std::string_view target = ReferenceTarget(r.practice_reference, "Organization");
    row.registrations.push_back(
        {target.empty() ? 0 : pseudonymiser_.PracticeKey(options_.source, target),
         r.start == kNoDate ? store::kNoDay : r.start, r.end == kNoDate ? store::kNoDay : r.end});
  }
  // The death is an event of its own (domain death), carried by the Patient resource.
  if (mp.death != kNoDate) {
    store::EventRecord& death = staged_.events.emplace_back();
    death.patient = key;
    death.date = mp.death;
    death.domain = domain::Domain::kDeath;
    death.source = source_id_;
    death.resource_key = resource_key;
    death.content_hash = version.content_hash;
    ++staged_slots_.back().events;
  }
  return Status::Ok();
}

std::optional<domain::PatientKey> Ingester::ResolvePatient(std::string_view reference) {
  if (reference.empty()) return std::nullopt;
  // A conditional reference by national identifier needs no link.
  constexpr std::string_view kByNir = "Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|";
  if (reference.rfind(kByNir, 0) == 0) {
    std::string nir = NormaliseNir(reference.substr(kByNir.size()));
    if (nir.empty()) return std::nullopt;
    return pseudonymiser_.FromNir(nir);
  }
  ReferenceHash h = HashReference("", reference);
  const ResolvedReference* cached = resolved_.find(h.key);
  if (cached != nullptr && cached->check == h.check) return cached->key;
  std::string_view target = ReferenceTarget(reference, "Patient");
  if (target.empty()) return std::nullopt;
  auto key = txn_->catalog().FindPatientLink(pseudonymiser_.Link(options_.source, target));
  if (key) {
    if (resolved_.size() >= kResolvedReferencesMax) resolved_.clear();
    resolved_[h.key] = {h.check, *key};
  }
  return key;
}

Status Ingester::HandleEvents(const RawRecord& record, MappedResource& m,
                              const store::Version& version) {
  if (m.subject_reference.empty()) {
    return Quarantine(record, QuarantineReason::kNoSubject, m.resource_type, m.id, "subject");
  }
  auto patient = ResolvePatient(m.subject_reference);
  if (!patient) {
    return Quarantine(record, QuarantineReason::kUnresolvableSubject, m.resource_type, m.id,
                      "subject");
  }
  if (m.resource_type == "Encounter" && !m.events.empty() && !m.id.empty()) {
    Days date = m.events.front().date;
    auto remember = [&](std::string_view prefix, std::string_view id) {
      ReferenceHash h = HashReference(prefix, id);
      encounter_dates_[h.key] = {h.check, date};
    };
    remember("Encounter/", m.id);
    if (!record.full_url.empty()) remember("", record.full_url);
  }
  if (!m.medication_reference.empty()) {
    auto it = medications_.find(m.medication_reference);
    if (it != medications_.end()) {
      for (auto& e : m.events) e.codes = it->second;
    }
  }
  for (auto& e : m.events) {
    if (e.date != kNoDate) continue;
    ReferenceHash h = HashReference("", m.encounter_reference);
    const DatedReference* known =
        m.encounter_reference.empty() ? nullptr : encounter_dates_.find(h.key);
    if (known == nullptr || known->check != h.check) {
      return Quarantine(record, QuarantineReason::kNoUsableDate, m.resource_type, m.id,
                        "no date of its own and no known encounter");
    }
    e.date = known->date;
  }
  // Code and unit ids first: a catalog error then leaves nothing half-staged.
  store::Catalog& catalog = txn_->catalog();
  code_scratch_.clear();
  unit_scratch_.clear();
  for (const MappedEvent& e : m.events) {
    for (const MappedCode& c : e.codes) {
      code_scratch_.push_back(c.hash != 0 ? P4DP_TRY(catalog.CodeId(c.system, c.code, c.hash))
                                          : P4DP_TRY(catalog.CodeId(c.system, c.code)));
    }
    unit_scratch_.push_back(P4DP_TRY(catalog.UnitId(e.unit)));
  }
  uint64_t resource_key = KeyOf(m.resource_type, m.id, version.content_hash);
  Admit(resource_key, version, false);
  store::ResourceRecord& row = staged_.resources.emplace_back();
  row.resource_key = resource_key;
  row.version = version;
  row.patient = *patient;
  row.source = source_id_;
  size_t next_code = 0;
  for (size_t i = 0; i < m.events.size(); ++i) {
    const MappedEvent& e = m.events[i];
    store::EventRecord& ev = staged_.events.emplace_back();
    ev.patient = *patient;
    ev.date = e.date;
    ev.end_date = e.end_date == kNoDate ? store::kNoDay : e.end_date;
    ev.domain = e.domain;
    ev.codes.assign(code_scratch_.begin() + static_cast<ptrdiff_t>(next_code),
                    code_scratch_.begin() + static_cast<ptrdiff_t>(next_code + e.codes.size()));
    next_code += e.codes.size();
    std::sort(ev.codes.begin(), ev.codes.end());
    ev.codes.erase(std::unique(ev.codes.begin(), ev.codes.end()), ev.codes.end());
    ev.value = e.value;
    ev.unit = unit_scratch_[i];
    ev.source = source_id_;
    ev.resource_key = resource_key;
    ev.content_hash = version.content_hash;
  }
  staged_slots_.back().events = static_cast<uint32_t>(m.events.size());
  return Status::Ok();
}

Ingester::ReferenceHash Ingester::HashReference(std::string_view prefix, std::string_view id) {
  reference_scratch_.assign(prefix);
  reference_scratch_.append(id);
  XXH128_hash_t h = XXH3_128bits(reference_scratch_.data(), reference_scratch_.size());
  return {h.low64, h.high64};
}

// Room for a whole batch (files only), so that staging never moves the events already
// staged.
void Ingester::ReserveBatch() {
  if (!bulk_) return;  // a request body is usually far smaller than a batch
  auto resources = static_cast<size_t>(options_.batch_resources_max);
  staged_.resources.reserve(resources);
  staged_.events.reserve(std::min(static_cast<size_t>(kIngestBatchEventsMax), resources * 16) +
                         1024);
}

// Stages a resource version: the caller appends its row (and events) next. Repeats of a
// resource within the batch are resolved at Flush.
void Ingester::Admit(uint64_t resource_key, const store::Version& version, bool is_patient) {
  Staged& staged = staged_slots_.emplace_back();
  staged.resource_key = resource_key;
  staged.version = version;
  staged.is_patient = is_patient;
  staged.row =
      static_cast<uint32_t>(is_patient ? staged_.patients.size() : staged_.resources.size());
  staged.first_event = static_cast<uint32_t>(staged_.events.size());
}

// Keeps one version of each resource staged more than once in the batch: the best (the
// first staged among equal ones); the others' rows and events are marked dead. Counts, for
// each resource, every repeat of a version as a duplicate and every version that lost as
// outdated: the same whatever the order of the input. Sorting the keys (cache-friendly)
// costs less than a hash map probed for every record.
void Ingester::ResolveRepeats() {
  repeat_order_.clear();
  repeat_order_.reserve(staged_slots_.size());
  for (uint32_t i = 0; i < staged_slots_.size(); ++i) {
    repeat_order_.push_back({staged_slots_[i].resource_key, i});
  }
  // By key, then version, then staging order (versions are read only for equal keys).
  std::sort(repeat_order_.begin(), repeat_order_.end(), [&](const auto& x, const auto& y) {
    if (x.first != y.first) return x.first < y.first;
    const store::Version& vx = staged_slots_[x.second].version;
    const store::Version& vy = staged_slots_[y.second].version;
    if (vx != vy) return vx < vy;
    return x.second < y.second;
  });
  for (size_t begin = 0; begin < repeat_order_.size();) {
    size_t end = begin + 1;
    while (end < repeat_order_.size() && repeat_order_[end].first == repeat_order_[begin].first) {
      ++end;
    }
    if (end - begin > 1) {
      // The best version is the last run of the group; its first staged slot is kept.
      size_t kept = end - 1;
      while (kept > begin && staged_slots_[repeat_order_[kept - 1].second].version ==
                                 staged_slots_[repeat_order_[end - 1].second].version) {
        --kept;
      }
      for (size_t i = begin; i < end; ++i) {
        if (i == kept) continue;
        const Staged& held = staged_slots_[repeat_order_[i].second];
        bool repeat =
            i > begin && staged_slots_[repeat_order_[i - 1].second].version == held.version;
        if (repeat) {
          ++summary_.duplicates;
        } else {
          ++summary_.outdated;
        }
        (held.is_patient ? dead_patients_ : dead_resources_).push_back(held.row);
        for (uint32_t e = 0; e < held.events; ++e) dead_events_.push_back(held.first_event + e);
      }
    }
    begin = end;
  }
}

namespace {

// Removes the elements at `dead` (positions, any order, no repeats) from `rows`.
template <typename T>
void RemoveDead(std::vector<T>& rows, std::vector<uint32_t>& dead) {
  if (dead.empty()) return;
  std::sort(dead.begin(), dead.end());
  size_t out = 0, next = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (next < dead.size() && dead[next] == i) {
      ++next;
      continue;
    }
    if (out != i) rows[out] = std::move(rows[i]);
    ++out;
  }
  rows.resize(out);
  dead.clear();
}

}  // namespace

Status Ingester::Flush() {
  if (!txn_) return Status::Ok();
  int64_t flush_start = NowMicros();
  struct AddTime {
    int64_t start;
    double& total;
    ~AddTime() { total += static_cast<double>(NowMicros() - start) / 1e6; }
  } add_time{flush_start, summary_.publish_seconds};
  ResolveRepeats();
  RemoveDead(staged_.patients, dead_patients_);
  RemoveDead(staged_.resources, dead_resources_);
  RemoveDead(staged_.events, dead_events_);
  store::Batch batch = std::move(staged_);
  batch.unique_keys = true;  // ResolveRepeats kept one version of each resource
  staged_ = store::Batch();
  ReserveBatch();
  staged_slots_.clear();
  return txn_->Publish(std::move(batch));
}

Status Ingester::Finish() {
  P4DP_TRY(Flush());
  if (!txn_) return Status::Ok();
  int64_t start = NowMicros();
  auto counts = txn_->Finish();
  txn_.reset();
  summary_.publish_seconds += static_cast<double>(NowMicros() - start) / 1e6;
  if (!counts.ok()) return counts.status();
  summary_.accepted += counts->added;
  summary_.replaced += counts->replaced;
  summary_.duplicates += counts->duplicates;
  summary_.outdated += counts->outdated;
  summary_.removed += counts->removed;
  for (size_t d = 0; d < counts->events_by_domain.size(); ++d) {
    summary_.events_by_domain[d] += counts->events_by_domain[d];
  }
  return Status::Ok();
}

Status Ingester::Quarantine(const RawRecord& record, QuarantineReason reason,
                            const std::string& resource_type, const std::string& id,
                            const std::string& detail) {
  std::string reason_name(QuarantineReasonName(reason));
  ++summary_.rejected;
  ++summary_.rejected_by_reason[reason_name];
  nlohmann::ordered_json q;
  q["file"] = record.file ? *record.file : current_file_;
  q["line"] = record.line;
  if (record.bundle_entry >= 0) q["bundle_entry"] = record.bundle_entry;
  q["resource_type"] = resource_type;
  q["id"] = id;
  q["reason"] = reason_name;
  q["detail"] = detail;
  // Invalid JSON is kept by file and line only: it cannot be stripped of identifying fields.
  std::string stripped = reason == QuarantineReason::kInvalidJson || record.too_large
                             ? std::string()
                             : FhirMapper::StripForQuarantine(record.json);
  if (!stripped.empty()) q["resource"] = nlohmann::json::parse(stripped, nullptr, false);
  std::string sealed = crypto::Seal(warehouse_.quarantine_key(), q.dump(), kQuarantineAd);
  store::LinkHash record_key = pseudonymiser_.Link(
      options_.source, "quarantine:" + q["file"].get<std::string>() + ":" +
                           std::to_string(record.line) + ":" + std::to_string(record.bundle_entry) +
                           ":" +
                           std::to_string(XXH3_64bits(record.json.data(), record.json.size())));
  return txn_->catalog().AddQuarantine(record_key, reason_name, resource_type, sealed);
}

Result<std::vector<std::string>> ReadQuarantine(store::Warehouse& warehouse, int64_t limit) {
  auto rows = P4DP_TRY(warehouse.Quarantined(limit));
  std::vector<std::string> out;
  for (const auto& row : rows) {
    auto plain = crypto::Open(warehouse.quarantine_key(), row.sealed, kQuarantineAd);
    if (!plain.ok()) {
      return Status::Corruption("quarantine record " + std::to_string(row.id) +
                                ": authentication failed");
    }
    out.push_back(std::move(*plain));
  }
  return out;
}

}  // namespace p4dp::ingest
