#include "cli/rights_commands.h"

#include <CLI/CLI.hpp>

#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "access/audit.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/file_system.h"
#include "cli/operator.h"
#include "cli/warehouse_access.h"
#include "crypto/keys.h"
#include "ingest/fhir_mapper.h"
#include "ingest/pipeline.h"
#include "ingest/pseudonymiser.h"
#include "store/backup.h"
#include "store/warehouse.h"

namespace p4dp::cli {
namespace {

// Which patient: by national identifier, or by a source's local id.
struct PatientArgs {
  std::string nir;
  std::string source;
  std::string id;
  bool given() const { return !nir.empty() || !id.empty(); }
};

// The patient key the warehouse uses for the patient: the keyed hash of the NIR; for a
// local id, the key its source's records were linked to, else the key such records would
// get (a patient not ingested yet). The identifiers are never stored or printed.
Result<domain::PatientKey> PatientKeyOf(store::Warehouse& w, const PatientArgs& a) {
  ingest::Pseudonymiser p(w.pseudonym_key());
  if (!a.nir.empty()) {
    std::string nir = ingest::NormaliseNir(a.nir);
    if (nir.empty()) {
      return Status::InvalidArgument("--nir is not a valid NIR/INS (15 characters, valid key)");
    }
    return p.FromNir(nir);
  }
  if (a.source.empty() || a.id.empty()) {
    return Status::InvalidArgument("give --nir, or both --source and --id");
  }
  std::optional<domain::PatientKey> linked;
  P4DP_TRY(w.Read([&](const store::Index&, const store::Catalog& c) {
    linked = c.FindPatientLink(p.Link(a.source, a.id));
  }));
  if (linked) return *linked;
  return p.FromLocalId(a.source, a.id);
}

// Every "reference" string of a JSON value.
void CollectReferences(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (key == "reference" && value.is_string()) out.push_back(value.get<std::string>());
      CollectReferences(value, out);
    }
  } else if (j.is_array()) {
    for (const auto& value : j) CollectReferences(value, out);
  }
}

// The quarantined records of patients who objected: those whose patient references (or,
// for a Patient, its own id) resolve, through any source's links, to an objecting patient.
Result<std::vector<int64_t>> QuarantineOfObjected(store::Warehouse& w) {
  auto objections = P4DP_TRY(w.Objections());
  if (objections.empty()) return std::vector<int64_t>();
  constexpr int64_t kAll = std::numeric_limits<int64_t>::max();
  auto rows = P4DP_TRY(w.Quarantined(kAll));
  auto texts = P4DP_TRY(ingest::ReadQuarantine(w, kAll));
  if (rows.size() != texts.size()) return Status::Internal("quarantine changed while read");
  ingest::Pseudonymiser p(w.pseudonym_key());
  std::vector<int64_t> ids;
  P4DP_TRY(w.Read([&](const store::Index&, const store::Catalog& catalog) {
    auto objected_link = [&](std::string_view target) {
      for (const std::string& source : catalog.sources()) {
        auto key = catalog.FindPatientLink(p.Link(source, target));
        if (key && w.IsObjected(*key)) return true;
      }
      return false;
    };
    constexpr std::string_view kByNir = "Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|";
    for (size_t i = 0; i < rows.size(); ++i) {
      auto q = nlohmann::json::parse(texts[i], nullptr, false);
      if (q.is_discarded()) continue;
      std::vector<std::string> refs;
      if (q.contains("resource")) CollectReferences(q["resource"], refs);
      bool hit = false;
      if (q.value("resource_type", "") == "Patient" && q.contains("id") && q["id"].is_string()) {
        std::string id = q["id"].get<std::string>();
        hit = objected_link(id);
        for (const std::string& source : catalog.sources()) {
          hit = hit || w.IsObjected(p.FromLocalId(source, id));
        }
      }
      for (const std::string& ref : refs) {
        if (hit) break;
        if (ref.rfind(kByNir, 0) == 0) {
          std::string nir = ingest::NormaliseNir(ref.substr(kByNir.size()));
          hit = !nir.empty() && w.IsObjected(p.FromNir(nir));
          continue;
        }
        size_t at = ref.rfind("Patient/");
        hit = objected_link(ref) || (at != std::string::npos && objected_link(ref.substr(at + 8)));
      }
      if (hit) ids.push_back(rows[i].id);
    }
  }));
  return ids;
}

nlohmann::ordered_json EraseJson(const store::EraseResult& r) {
  nlohmann::ordered_json j;
  j["segments_rewritten"] = r.segments_rewritten;
  j["segments_removed"] = r.segments_removed;
  j["patient_rows_erased"] = r.patients_erased;
  j["resources_erased"] = r.resources_erased;
  j["events_erased"] = r.events_erased;
  j["events_purged"] = r.events_purged;
  j["quarantined_erased"] = r.quarantined_erased;
  j["links_redirected"] = r.links_redirected;
  return j;
}

// Erases the data of every objection recorded so far (and purges before `purge_before`).
Result<store::EraseResult> EraseAll(store::Warehouse& w, Days today, Days purge_before) {
  store::EraseOptions options;
  options.today = today;
  options.purge_before = purge_before;
  options.quarantine_ids = P4DP_TRY(QuarantineOfObjected(w));
  return w.Erase(options);
}

nlohmann::ordered_json StatusJson(const store::ObjectionStatus& s) {
  nlohmann::ordered_json j;
  j["objection"] = s.number;
  j["recorded"] = FormatIsoDate(s.recorded);
  j["erasure"] = s.erased ? "complete" : "pending";
  if (s.erased) j["erased"] = FormatIsoDate(*s.erased);
  return j;
}

struct OptoutArgs {
  std::string data, key_file;
  PatientArgs patient;
  bool status = false;
  bool no_erase = false;
};

int RunOptoutStatus(store::Warehouse& w, const OptoutArgs& a) {
  if (a.patient.given()) {
    auto key = PatientKeyOf(w, a.patient);
    if (!key.ok()) return Fail("optout: " + key.status().ToString());
    auto found = w.FindObjection(*key);
    if (!found.ok()) return Fail("optout: " + found.status().ToString());
    nlohmann::ordered_json j = *found ? StatusJson(**found) : nlohmann::ordered_json();
    if (!*found) j["objection"] = nullptr;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  auto all = w.Objections();
  if (!all.ok()) return Fail("optout: " + all.status().ToString());
  nlohmann::ordered_json j;
  int64_t pending = 0;
  j["objections"] = nlohmann::json::array();
  for (const auto& s : *all) {
    if (!s.erased) ++pending;
    j["objections"].push_back(StatusJson(s));
  }
  j["total"] = all->size();
  j["pending"] = pending;
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

int RunOptout(const OptoutArgs& a) {
  auto w = OpenWarehouse(a.data, a.key_file);
  if (!w.ok()) return Fail("optout: " + w.status().ToString());
  if (a.status) return RunOptoutStatus(**w, a);
  if (!a.patient.given()) return Fail("optout: give --nir, or --source and --id, or --status");
  auto key = PatientKeyOf(**w, a.patient);
  if (!key.ok()) return Fail("optout: " + key.status().ToString());
  Days today = SystemClock().Today();
  auto number = (*w)->RecordObjection(*key, today);
  if (!number.ok()) return Fail("optout: " + number.status().ToString());
  nlohmann::ordered_json j;
  if (!a.no_erase) {
    auto erased = EraseAll(**w, today, store::kNoDay);
    if (!erased.ok()) return Fail("optout: erasure: " + erased.status().ToString());
    j["erased_now"] = EraseJson(*erased);
  }
  auto found = (*w)->FindObjection(*key);
  if (!found.ok() || !*found) return Fail("optout: the objection was not found once recorded");
  nlohmann::ordered_json out = StatusJson(**found);
  if (j.contains("erased_now")) out["erased_now"] = j["erased_now"];
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

// `today` minus `years` calendar years (29 February gives 28 February).
Days YearsBefore(Days today, int years) {
  YearMonthDay ymd = ToYearMonthDay(today);
  ymd.year -= years;
  if (!IsValidDate(ymd.year, ymd.month, ymd.day)) ymd.day = 28;
  return ToDays(ymd);
}

struct PurgeArgs {
  std::string data, key_file, today;
  int years = store::kRetentionYearsDefault;
};

int RunPurge(const PurgeArgs& a) {
  Days today = SystemClock().Today();
  if (!a.today.empty()) {
    auto parsed = ParseIsoDate(a.today);
    if (!parsed.ok()) return Fail("purge: --today: " + parsed.status().ToString());
    today = *parsed;
  }
  auto w = OpenWarehouse(a.data, a.key_file);
  if (!w.ok()) return Fail("purge: " + w.status().ToString());
  Days cutoff = YearsBefore(today, a.years);
  auto erased = EraseAll(**w, today, cutoff);
  if (!erased.ok()) return Fail("purge: " + erased.status().ToString());
  nlohmann::ordered_json j;
  j["retention_years"] = a.years;
  j["purged_before"] = FormatIsoDate(cutoff);
  nlohmann::ordered_json what = EraseJson(*erased);
  for (auto& [k, v] : what.items()) j[k] = v;
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

nlohmann::ordered_json BackupJson(const std::string& file, const store::BackupInfo& info) {
  nlohmann::ordered_json j;
  j["backup"] = file;
  j["created"] = FormatIsoDate(info.created);
  j["files"] = info.files;
  j["segments"] = info.segments;
  j["bytes"] = info.bytes;
  return j;
}

int RunBackup(const std::string& data, const std::string& file, const std::string& key_file) {
  auto key = LoadMasterKey(data, key_file);
  if (!key.ok()) return Fail("backup: " + key.status().ToString());
  store::BackupOptions options;
  options.today = SystemClock().Today();
  // The warehouse is not opened (which would remove another process's unfinished segment):
  // the backup reads the catalog at one committed point and the segments it lists.
  auto info = store::WriteBackup(RealFileSystem(), data, *key, file, options);
  if (!info.ok()) return Fail("backup: " + info.status().ToString());
  std::printf("%s\n", BackupJson(file, *info).dump(2).c_str());
  return 0;
}

// Removes the warehouse's data from a folder just restored (the catalog and the segments),
// keeping the access catalog and the audit trail.
void RemoveRestoredWarehouse(const std::string& data) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(data + "/catalog.db" + suffix, ec);
  }
  std::filesystem::remove_all(data + "/segments", ec);
}

// Verifies the hash chain of the audit trail a backup carries, in a private scratch folder.
// Returns the verdict's line, or an error (Corruption when the chain is broken).
Result<std::string> VerifyCarriedTrail(const std::string& path, const crypto::Key& key) {
  auto trail = P4DP_TRY(store::ReadBackupFile(path, key, store::kBackupAuditName));
  if (!trail) return std::string("none (a backup of format version 1, or no trail yet)");
  auto head = P4DP_TRY(store::ReadBackupFile(path, key, store::kBackupAuditHeadName));
  std::string tmpl = (std::filesystem::temp_directory_path() / "p4dp-verify-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return Status::IoError("cannot make a scratch folder");
  const std::string scratch = tmpl;
  auto write = [&](const char* name, const std::string& bytes) -> Status {
    std::ofstream out(scratch + "/" + name, std::ios::binary);
    out << bytes;
    out.close();
    return out ? Status::Ok() : Status::IoError("cannot write the scratch copy of the trail");
  };
  auto verify = [&]() -> Result<std::string> {
    P4DP_TRY(write(store::kBackupAuditName, *trail));
    if (head) P4DP_TRY(write(store::kBackupAuditHeadName, *head));
    auto log = P4DP_TRY(access::AuditLog::Open(scratch));
    access::AuditVerdict verdict = P4DP_TRY(log->Verify());
    if (!verdict.ok) return Status::Corruption("the audit trail it carries: " + verdict.message);
    return verdict.message;
  };
  Result<std::string> line = verify();
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  return line;
}

int RunRestore(const std::string& file, const std::string& data, const std::string& key_file,
               const std::string& objections_from) {
  auto key = LoadMasterKey(data, key_file);
  if (!key.ok()) return Fail("restore: " + key.status().ToString());
  auto info = store::RestoreBackup(RealFileSystem(), file, *key, data);
  if (!info.ok()) return Fail("restore: " + info.status().ToString());
  // The restored access catalog says whether the operator may restore (docs/access.md).
  if (int checked = CheckRestoredOperator(data, *key); checked != 0) {
    RemoveRestoredWarehouse(data);
    if (checked == kExitRefused) {
      std::fprintf(stderr,
                   "p4dp: restore: the warehouse was not restored; %s keeps only the restored "
                   "access catalog and audit trail, which record the refusal\n",
                   data.c_str());
    }
    return checked;
  }
  auto w = store::Warehouse::Open(RealFileSystem(), data, *key);
  if (!w.ok()) return Fail("restore: " + w.status().ToString());
  if (!objections_from.empty()) {
    auto rows = store::Catalog::ReadObjections(objections_from + "/catalog.db");
    if (!rows.ok()) return Fail("restore: --objections-from: " + rows.status().ToString());
    Status s = (*w)->ImportObjections(*rows);
    if (!s.ok()) return Fail("restore: --objections-from: " + s.ToString());
  }
  // Objections the backup carries that were pending, and those imported: erased now.
  auto erased = EraseAll(**w, SystemClock().Today(), store::kNoDay);
  if (!erased.ok()) return Fail("restore: erasure: " + erased.status().ToString());
  auto objections = (*w)->Objections();
  if (!objections.ok()) return Fail("restore: " + objections.status().ToString());
  nlohmann::ordered_json j = BackupJson(file, *info);
  j["restored_into"] = data;
  j["access_catalog"] = info->access_catalog;
  j["audit_trail"] = info->audit_trail;
  j["objections_applied"] = objections->size();
  j["erased_now"] = EraseJson(*erased);
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

int RunRotate(const std::string& data, const std::string& key_file,
              const std::string& new_key_file) {
  auto old_key = LoadMasterKey(data, key_file);
  if (!old_key.ok()) return Fail("keys rotate: " + old_key.status().ToString());
  if (!RealFileSystem().Exists(new_key_file)) {
    Status s = crypto::WriteNewKeyFile(new_key_file);
    if (!s.ok()) return Fail("keys rotate: " + s.ToString());
    std::fprintf(stderr, "p4dp: new master key written to %s (keep it safe, outside DATA)\n",
                 new_key_file.c_str());
  }
  auto new_key = crypto::ReadKeyFile(new_key_file);
  if (!new_key.ok()) return Fail("keys rotate: " + new_key.status().ToString());
  if (crypto::KeyCheckValue(*new_key) == crypto::KeyCheckValue(*old_key)) {
    return Fail("keys rotate: the new key is the old key");
  }
  Status s = store::Warehouse::RotateMasterKey(data, *old_key, *new_key);
  if (!s.ok()) return Fail("keys rotate: " + s.ToString());
  nlohmann::ordered_json j;
  j["warehouse"] = data;
  j["rotated"] = true;
  j["new_key_file"] = new_key_file;
  std::printf("%s\n", j.dump(2).c_str());
  std::fprintf(stderr,
               "p4dp: the old master key no longer opens %s; keep it (offline) while backups "
               "made under it are kept\n",
               data.c_str());
  return 0;
}

}  // namespace

int RunVerifyBackup(const std::string& path, const std::string& key_file) {
  auto key = LoadMasterKey(path, key_file);
  if (!key.ok()) return Fail("verify: " + key.status().ToString());
  auto info = store::VerifyBackup(path, *key);
  if (!info.ok()) return Fail("verify: " + info.status().ToString());
  auto trail = VerifyCarriedTrail(path, *key);
  if (!trail.ok()) return Fail("verify: " + trail.status().ToString());
  nlohmann::ordered_json j = BackupJson(path, *info);
  j["format_version"] = info->version;
  j["access_catalog"] = info->access_catalog;
  j["audit_trail"] = *trail;
  j["verified"] = true;
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

void RegisterRightsCommands(CLI::App& app, RunFn& run) {
  {
    auto a = std::make_shared<OptoutArgs>();
    CLI::App* cmd = app.add_subcommand(
        "optout", "Record a patient's objection and erase their data (right to object)");
    cmd->add_option("DATA", a->data, "The warehouse folder")->required();
    AddKeyFileOption(cmd, a->key_file);
    cmd->add_option("--nir", a->patient.nir, "The patient's NIR or INS (never stored)");
    cmd->add_option("--source", a->patient.source, "With --id: the source of a local id");
    cmd->add_option("--id", a->patient.id, "With --source: the patient's id in that source");
    cmd->add_flag("--status", a->status,
                  "Report objections (this patient's, or all) as pending or complete");
    cmd->add_flag("--no-erase", a->no_erase,
                  "Record and hide now; erase at the next `p4dp purge` (or optout)");
    cmd->callback([&run, a] { run = [a] { return RunOptout(*a); }; });
  }
  {
    auto a = std::make_shared<PurgeArgs>();
    CLI::App* cmd = app.add_subcommand(
        "purge", "Erase events older than the retention limit, and pending objections");
    cmd->add_option("DATA", a->data, "The warehouse folder")->required();
    AddKeyFileOption(cmd, a->key_file);
    cmd->add_option("--retention-years", a->years, "Keep events of the last N years")
        ->check(CLI::Range(1, 200))
        ->capture_default_str();
    cmd->add_option("--today", a->today, "The day to count from (YYYY-MM-DD; default today)");
    cmd->callback([&run, a] { run = [a] { return RunPurge(*a); }; });
  }
  {
    auto a = std::make_shared<std::array<std::string, 3>>();  // data, file, key file
    CLI::App* cmd = app.add_subcommand(
        "backup", "Write a consistent encrypted backup (safe while ingestion runs)");
    cmd->add_option("DATA", (*a)[0], "The warehouse folder")->required();
    cmd->add_option("FILE", (*a)[1], "The backup file to create")->required();
    AddKeyFileOption(cmd, (*a)[2]);
    cmd->callback([&run, a] { run = [a] { return RunBackup((*a)[0], (*a)[1], (*a)[2]); }; });
  }
  {
    auto a = std::make_shared<std::array<std::string, 4>>();  // file, data, key, objections
    CLI::App* cmd = app.add_subcommand(
        "restore", "Restore a backup into a new folder and re-apply recorded objections");
    cmd->add_option("FILE", (*a)[0], "The backup file")->required();
    cmd->add_option("DATA", (*a)[1], "The folder to create (must not exist or be empty)")
        ->required();
    AddKeyFileOption(cmd, (*a)[2]);
    cmd->add_option("--objections-from", (*a)[3],
                    "Also re-apply the objections recorded in this warehouse (the source, "
                    "whose objections may be newer than the backup)");
    cmd->callback(
        [&run, a] { run = [a] { return RunRestore((*a)[0], (*a)[1], (*a)[2], (*a)[3]); }; });
  }
  {
    CLI::App* keys = app.add_subcommand("keys", "Master key management");
    auto a = std::make_shared<std::array<std::string, 3>>();  // data, old key, new key
    CLI::App* cmd = keys->add_subcommand(
        "rotate", "Rewrap the data key under a new master key (no data is rewritten)");
    cmd->add_option("DATA", (*a)[0], "The warehouse folder")->required();
    AddKeyFileOption(cmd, (*a)[1]);
    cmd->add_option("--new-key-file", (*a)[2],
                    "The new master key file (created, mode 0600, if it does not exist)")
        ->required();
    keys->require_subcommand(1);
    cmd->callback([&run, a] { run = [a] { return RunRotate((*a)[0], (*a)[1], (*a)[2]); }; });
  }
}

}  // namespace p4dp::cli
