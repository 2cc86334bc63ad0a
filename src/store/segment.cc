#include "store/segment.h"

#include <array>

#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include "store/bytes.h"

namespace p4dp::store {
namespace {

constexpr std::string_view kHeaderMagic = "P4DPSEG\x01";
constexpr std::string_view kTrailerMagic = "P4DPEND\x01";
constexpr size_t kHeaderBytes = 16;   // magic + segment id
constexpr size_t kTrailerBytes = 12;  // footer length + magic
constexpr int kZstdLevel = 1;

enum class BlockKind : uint8_t { kPatients = 1, kResources = 2, kEvents = 3 };

struct BlockEntry {
  BlockKind kind;
  uint64_t offset;  // of the sealed bytes
  uint32_t sealed_bytes;
  uint32_t rows;
};

std::string BlockAd(uint64_t segment_id, size_t block) {
  return "p4dp segment " + std::to_string(segment_id) + " block " + std::to_string(block);
}
std::string FooterAd(uint64_t segment_id) {
  return "p4dp segment " + std::to_string(segment_id) + " footer";
}

void PutKey(ByteWriter& w, const domain::PatientKey& k) {
  w.Bytes(std::string_view(reinterpret_cast<const char*>(k.bytes.data()), k.bytes.size()));
}
domain::PatientKey GetKey(ByteReader& r) {
  domain::PatientKey k;
  std::string_view b = r.Bytes(k.bytes.size());
  if (b.size() == k.bytes.size()) std::memcpy(k.bytes.data(), b.data(), b.size());
  return k;
}
void PutVersion(ByteWriter& w, const Version& v) {
  w.I32(v.last_updated);
  w.Varint(v.version_id);
  w.U64(v.content_hash);
}
Version GetVersion(ByteReader& r) {
  Version v;
  v.last_updated = r.I32();
  v.version_id = static_cast<uint32_t>(r.Varint());
  v.content_hash = r.U64();
  return v;
}

std::string EncodePatients(const std::vector<PatientRecord>& rows, size_t begin, size_t end) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(BlockKind::kPatients));
  w.Varint(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const PatientRecord& p = rows[i];
    PutKey(w, p.key);
    w.U64(p.resource_key);
    PutVersion(w, p.version);
    w.U8(p.deleted ? 1 : 0);
    w.Varint(p.source);
    w.U8(static_cast<uint8_t>(p.sex));
    w.Varint(static_cast<uint64_t>(static_cast<uint16_t>(p.birth_year)));
    w.U8(static_cast<uint8_t>(p.birth_month));
    w.I32(p.death);
    w.String(p.departement);
    w.Varint(p.registrations.size());
    for (const Registration& reg : p.registrations) {
      w.U64(reg.practice);
      w.I32(reg.start);
      w.I32(reg.end);
    }
  }
  return w.Take();
}

Status DecodePatients(ByteReader& r, std::vector<PatientRecord>& out) {
  uint64_t n = r.Varint();
  if (n > kBlockRowsMax) return Status::Corruption("too many patient rows");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    PatientRecord p;
    p.key = GetKey(r);
    p.resource_key = r.U64();
    p.version = GetVersion(r);
    p.deleted = r.U8() != 0;
    p.source = static_cast<uint32_t>(r.Varint());
    p.sex = static_cast<domain::Sex>(std::min<uint8_t>(r.U8(), 3));
    p.birth_year = static_cast<int16_t>(static_cast<uint16_t>(r.Varint()));
    p.birth_month = static_cast<int8_t>(r.U8());
    p.death = r.I32();
    p.departement = std::string(r.String());
    uint64_t regs = r.Varint();
    if (regs > 10'000) return Status::Corruption("too many registrations");
    for (uint64_t k = 0; k < regs && r.ok(); ++k) {
      Registration reg;
      reg.practice = r.U64();
      reg.start = r.I32();
      reg.end = r.I32();
      p.registrations.push_back(reg);
    }
    out.push_back(std::move(p));
  }
  return r.Check("patient block");
}

std::string EncodeResources(const std::vector<ResourceRecord>& rows, size_t begin, size_t end) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(BlockKind::kResources));
  w.Varint(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const ResourceRecord& res = rows[i];
    w.U64(res.resource_key);
    PutVersion(w, res.version);
    w.U8(res.deleted ? 1 : 0);
    PutKey(w, res.patient);
    w.Varint(res.source);
    w.U8(res.resource_type);
  }
  return w.Take();
}

Status DecodeResources(ByteReader& r, std::vector<ResourceRecord>& out) {
  uint64_t n = r.Varint();
  if (n > kBlockRowsMax) return Status::Corruption("too many resource rows");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    ResourceRecord res;
    res.resource_key = r.U64();
    res.version = GetVersion(r);
    res.deleted = r.U8() != 0;
    res.patient = GetKey(r);
    res.source = static_cast<uint32_t>(r.Varint());
    res.resource_type = r.U8();
    out.push_back(res);
  }
  return r.Check("resource block");
}

// Events column by column: the block's patient keys once, then each column of all rows, so
// that zstd sees long runs of similar values.
std::string EncodeEvents(const std::vector<EventRecord>& rows, size_t begin, size_t end) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(BlockKind::kEvents));
  w.Varint(end - begin);
  std::vector<uint32_t> ordinal(end - begin);
  std::vector<const domain::PatientKey*> keys;
  for (size_t i = begin; i < end; ++i) {
    if (keys.empty() || !(*keys.back() == rows[i].patient)) keys.push_back(&rows[i].patient);
    ordinal[i - begin] = static_cast<uint32_t>(keys.size() - 1);
  }
  w.Varint(keys.size());
  for (const auto* k : keys) PutKey(w, *k);
  for (uint32_t o : ordinal) w.Varint(o);
  Days previous = 0;
  for (size_t i = begin; i < end; ++i) {
    w.SignedVarint(static_cast<int64_t>(rows[i].date) - previous);
    previous = rows[i].date;
  }
  for (size_t i = begin; i < end; ++i) {
    w.SignedVarint(
        rows[i].end_date == kNoDay ? 0 : static_cast<int64_t>(rows[i].end_date) - rows[i].date + 1);
  }
  for (size_t i = begin; i < end; ++i) w.U8(static_cast<uint8_t>(rows[i].domain));
  for (size_t i = begin; i < end; ++i) {
    w.Varint(rows[i].codes.size());
    for (uint32_t c : rows[i].codes) w.Varint(c);
  }
  for (size_t i = begin; i < end; ++i) w.F64(rows[i].value);
  for (size_t i = begin; i < end; ++i) w.Varint(rows[i].unit);
  for (size_t i = begin; i < end; ++i) w.Varint(rows[i].source);
  for (size_t i = begin; i < end; ++i) w.U64(rows[i].resource_key);
  for (size_t i = begin; i < end; ++i) w.U64(rows[i].content_hash);
  return w.Take();
}

Status DecodeEvents(ByteReader& r, std::vector<EventRecord>& out) {
  uint64_t n = r.Varint();
  if (n > kBlockEventsMax) return Status::Corruption("too many events");
  uint64_t key_count = r.Varint();
  if (key_count > n) return Status::Corruption("too many patients in an event block");
  std::vector<domain::PatientKey> keys(key_count);
  for (auto& k : keys) k = GetKey(r);
  size_t base = out.size();
  out.resize(base + n);
  auto row = [&](uint64_t i) -> EventRecord& { return out[base + static_cast<size_t>(i)]; };
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t o = r.Varint();
    if (o >= key_count) return Status::Corruption("event block: bad patient ordinal");
    row(i).patient = keys[static_cast<size_t>(o)];
  }
  int64_t previous = 0;
  for (uint64_t i = 0; i < n; ++i) {
    previous += r.SignedVarint();
    row(i).date = static_cast<Days>(previous);
  }
  for (uint64_t i = 0; i < n; ++i) {
    int64_t d = r.SignedVarint();
    row(i).end_date = d == 0 ? kNoDay : static_cast<Days>(row(i).date + d - 1);
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint8_t d = r.U8();
    if (d >= domain::kDomainCount) return Status::Corruption("event block: bad domain");
    row(i).domain = static_cast<domain::Domain>(d);
  }
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    uint64_t count = r.Varint();
    if (count > 1000) return Status::Corruption("event block: too many codes");
    row(i).codes.resize(static_cast<size_t>(count));
    for (auto& c : row(i).codes) c = static_cast<uint32_t>(r.Varint());
  }
  for (uint64_t i = 0; i < n; ++i) row(i).value = r.F64();
  for (uint64_t i = 0; i < n; ++i) row(i).unit = static_cast<uint32_t>(r.Varint());
  for (uint64_t i = 0; i < n; ++i) row(i).source = static_cast<uint32_t>(r.Varint());
  for (uint64_t i = 0; i < n; ++i) row(i).resource_key = r.U64();
  for (uint64_t i = 0; i < n; ++i) row(i).content_hash = r.U64();
  return r.Check("event block");
}

Result<std::string> Compress(std::string_view plain) {
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), kZstdLevel);
  if (ZSTD_isError(n)) return Status::Internal(ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Result<std::string> Decompress(std::string_view packed) {
  unsigned long long size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
      size > kSegmentBlockBytesMax) {
    return Status::Corruption("bad compressed block");
  }
  std::string out(static_cast<size_t>(size), '\0');
  size_t n = ZSTD_decompress(out.data(), out.size(), packed.data(), packed.size());
  if (ZSTD_isError(n) || n != out.size()) return Status::Corruption("bad compressed block");
  return out;
}

struct ParsedFile {
  std::vector<BlockEntry> blocks;
};

// Checks the header and trailer and opens the footer (the block index).
Result<ParsedFile> ParseFrame(std::string_view file, uint64_t segment_id, const crypto::Key& key) {
  if (file.size() < kHeaderBytes + kTrailerBytes || file.substr(0, 8) != kHeaderMagic) {
    return Status::Corruption("header: not a p4dp segment");
  }
  ByteReader header(file.substr(8, 8));
  if (header.U64() != segment_id) return Status::Corruption("header: wrong segment id");
  std::string_view trailer = file.substr(file.size() - kTrailerBytes);
  if (trailer.substr(4) != kTrailerMagic) return Status::Corruption("footer: bad trailer");
  ByteReader tr(trailer.substr(0, 4));
  uint32_t footer_bytes = tr.U32();
  if (footer_bytes > file.size() - kHeaderBytes - kTrailerBytes) {
    return Status::Corruption("footer: bad length");
  }
  std::string_view sealed = file.substr(file.size() - kTrailerBytes - footer_bytes, footer_bytes);
  auto footer = crypto::Open(key, sealed, FooterAd(segment_id));
  if (!footer.ok()) return Status::Corruption("footer: authentication failed");
  ByteReader r(*footer);
  ParsedFile parsed;
  uint64_t count = r.Varint();
  uint64_t limit = file.size() - kTrailerBytes - footer_bytes;
  for (uint64_t i = 0; i < count && r.ok(); ++i) {
    BlockEntry b;
    b.kind = static_cast<BlockKind>(r.U8());
    b.offset = r.U64();
    b.sealed_bytes = r.U32();
    b.rows = r.U32();
    if (b.offset < kHeaderBytes || b.offset + b.sealed_bytes > limit) {
      return Status::Corruption("footer: block " + std::to_string(i) + " out of the file");
    }
    parsed.blocks.push_back(b);
  }
  P4DP_TRY(r.Check("footer"));
  // The blocks and the footer must tile the file: no byte is left outside a tag.
  uint64_t expected = kHeaderBytes;
  for (const BlockEntry& b : parsed.blocks) {
    if (b.offset != expected) return Status::Corruption("footer: blocks do not tile the file");
    expected = b.offset + b.sealed_bytes;
  }
  if (expected != limit) return Status::Corruption("footer: blocks do not tile the file");
  return parsed;
}

Status DecodeBlock(std::string_view file, uint64_t segment_id, const crypto::Key& key, size_t i,
                   const BlockEntry& entry, Batch& out) {
  auto where = [&](std::string_view what) {
    return Status::Corruption("block " + std::to_string(i) + ": " + std::string(what));
  };
  auto plain =
      crypto::Open(key, file.substr(entry.offset, entry.sealed_bytes), BlockAd(segment_id, i));
  if (!plain.ok()) return where("authentication failed");
  auto raw = Decompress(*plain);
  if (!raw.ok()) return where(raw.status().message());
  ByteReader r(*raw);
  auto kind = static_cast<BlockKind>(r.U8());
  if (kind != entry.kind) return where("kind differs from the footer's");
  Status s;
  switch (kind) {
    case BlockKind::kPatients: s = DecodePatients(r, out.patients); break;
    case BlockKind::kResources: s = DecodeResources(r, out.resources); break;
    case BlockKind::kEvents: s = DecodeEvents(r, out.events); break;
    default: return where("unknown kind");
  }
  if (!s.ok()) return where(s.message());
  if (!r.AtEnd()) return where("trailing bytes");
  return Status::Ok();
}

}  // namespace

Result<SegmentInfo> WriteSegment(FileSystem& fs, const std::string& path, uint64_t segment_id,
                                 const crypto::Key& key, Batch& batch) {
  // Sort compact keys (the patient key as four big-endian words, the date, the position),
  // then move each event once: events are large (their codes vector), and comparing keys
  // in place would chase them all over memory. The order: patient, date, domain, resource,
  // codes, then the position (so it is the stable one).
  struct SortKey {
    std::array<uint64_t, 4> patient;
    Days date;
    uint32_t index;
  };
  std::vector<SortKey> keys(batch.events.size());
  for (uint32_t i = 0; i < keys.size(); ++i) {
    const EventRecord& e = batch.events[i];
    for (size_t w = 0; w < 4; ++w) {
      uint64_t word = 0;
      for (size_t b = 0; b < 8; ++b) word = word << 8 | e.patient.bytes[w * 8 + b];
      keys[i].patient[w] = word;
    }
    keys[i].date = e.date;
    keys[i].index = i;
  }
  std::sort(keys.begin(), keys.end(), [&](const SortKey& a, const SortKey& b) {
    // Word by word (keys are hashes: the first word nearly always decides), not through
    // std::array's operators, which call memcmp twice.
    for (size_t w = 0; w < 4; ++w) {
      if (a.patient[w] != b.patient[w]) return a.patient[w] < b.patient[w];
    }
    if (a.date != b.date) return a.date < b.date;
    // Same patient and date: the rest of EventBefore's order.
    const EventRecord& ea = batch.events[a.index];
    const EventRecord& eb = batch.events[b.index];
    if (ea.domain != eb.domain) return ea.domain < eb.domain;
    if (ea.resource_key != eb.resource_key) return ea.resource_key < eb.resource_key;
    if (ea.codes != eb.codes) return ea.codes < eb.codes;
    return a.index < b.index;
  });
  std::vector<EventRecord> sorted;
  sorted.reserve(batch.events.size());
  for (const SortKey& k : keys) sorted.push_back(std::move(batch.events[k.index]));
  batch.events = std::move(sorted);
  std::sort(batch.patients.begin(), batch.patients.end(),
            [](const PatientRecord& a, const PatientRecord& b) { return a.key < b.key; });
  std::string file(kHeaderMagic);
  ByteWriter id;
  id.U64(segment_id);
  file += id.buffer();
  // Blocks are encoded, compressed and sealed independently, on two threads (the reader
  // thread of an ingest waits meanwhile), then laid out in order.
  struct Job {
    BlockKind kind;
    size_t begin, end;
    std::string sealed = {};
    Status status = {};
  };
  std::vector<Job> jobs;
  for (size_t b = 0; b < batch.patients.size(); b += kBlockRowsMax) {
    jobs.push_back({BlockKind::kPatients, b, std::min(batch.patients.size(), b + kBlockRowsMax)});
  }
  for (size_t b = 0; b < batch.resources.size(); b += kBlockRowsMax) {
    jobs.push_back({BlockKind::kResources, b, std::min(batch.resources.size(), b + kBlockRowsMax)});
  }
  for (size_t b = 0; b < batch.events.size(); b += kBlockEventsMax) {
    jobs.push_back({BlockKind::kEvents, b, std::min(batch.events.size(), b + kBlockEventsMax)});
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      Job& job = jobs[i];
      std::string plain =
          job.kind == BlockKind::kPatients    ? EncodePatients(batch.patients, job.begin, job.end)
          : job.kind == BlockKind::kResources ? EncodeResources(batch.resources, job.begin, job.end)
                                              : EncodeEvents(batch.events, job.begin, job.end);
      auto packed = Compress(plain);
      if (!packed.ok()) {
        job.status = packed.status();
        continue;
      }
      job.sealed = crypto::Seal(key, *packed, BlockAd(segment_id, i));
    }
  };
  std::thread helper;
  if (jobs.size() > 1) helper = std::thread(work);
  work();
  if (helper.joinable()) helper.join();
  std::vector<BlockEntry> blocks;
  for (Job& job : jobs) {
    P4DP_TRY(job.status);
    blocks.push_back({job.kind, file.size(), static_cast<uint32_t>(job.sealed.size()),
                      static_cast<uint32_t>(job.end - job.begin)});
    file += job.sealed;
  }
  ByteWriter footer;
  footer.Varint(blocks.size());
  for (const BlockEntry& b : blocks) {
    footer.U8(static_cast<uint8_t>(b.kind));
    footer.U64(b.offset);
    footer.U32(b.sealed_bytes);
    footer.U32(b.rows);
  }
  std::string sealed_footer = crypto::Seal(key, footer.buffer(), FooterAd(segment_id));
  file += sealed_footer;
  ByteWriter trailer;
  trailer.U32(static_cast<uint32_t>(sealed_footer.size()));
  file += trailer.buffer();
  file += kTrailerMagic;
  Status written = WriteFileAtomically(fs, path, file);
  if (!written.ok()) return written.WithContext("segment " + path);
  SegmentInfo info;
  info.events = static_cast<int64_t>(batch.events.size());
  info.patients = static_cast<int64_t>(batch.patients.size());
  info.resources = static_cast<int64_t>(batch.resources.size());
  info.bytes = static_cast<int64_t>(file.size());
  info.blocks = static_cast<int64_t>(blocks.size());
  return info;
}

Result<Batch> ReadSegment(FileSystem& fs, const std::string& path, uint64_t segment_id,
                          const crypto::Key& key, bool include_events) {
  std::string file = P4DP_TRY(fs.ReadFile(path));
  auto parsed = ParseFrame(file, segment_id, key);
  if (!parsed.ok()) return parsed.status().WithContext("segment " + path);
  Batch batch;
  for (size_t i = 0; i < parsed->blocks.size(); ++i) {
    if (!include_events && parsed->blocks[i].kind == BlockKind::kEvents) continue;
    Status s = DecodeBlock(file, segment_id, key, i, parsed->blocks[i], batch);
    if (!s.ok()) return s.WithContext("segment " + path);
  }
  return batch;
}

Result<std::vector<std::string>> VerifySegment(FileSystem& fs, const std::string& path,
                                               uint64_t segment_id, const crypto::Key& key) {
  std::string file = P4DP_TRY(fs.ReadFile(path));
  std::vector<std::string> problems;
  auto parsed = ParseFrame(file, segment_id, key);
  if (!parsed.ok()) {
    problems.push_back(parsed.status().message());
    return problems;
  }
  // Each block on its own: one bad block does not hide another.
  for (size_t i = 0; i < parsed->blocks.size(); ++i) {
    Batch scratch;
    Status s = DecodeBlock(file, segment_id, key, i, parsed->blocks[i], scratch);
    if (!s.ok()) problems.push_back(s.message());
  }
  return problems;
}

}  // namespace p4dp::store
