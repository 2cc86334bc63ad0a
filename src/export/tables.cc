#include "export/tables.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "domain/patient.h"

namespace p4dp::exporter {
namespace {

// A CSV file written through a temporary name, renamed into place when complete.
class CsvFile {
 public:
  static Result<std::unique_ptr<CsvFile>> Open(const std::string& path, const char* header) {
    std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) return Status::IoError("cannot write '" + tmp + "'");
    std::unique_ptr<CsvFile> file(new CsvFile(path, tmp, f));
    file->Raw(header);
    file->Raw("\n");
    return file;
  }
  ~CsvFile() {
    if (f_ != nullptr) {
      std::fclose(f_);
      std::remove(tmp_.c_str());
    }
  }
  void Raw(std::string_view text) {
    out_.append(text);
    Drain(false);
  }
  // A text cell: quoted when it holds a comma, a quote or a line break.
  void Text(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
      out_.append(text);
    } else {
      out_ += '"';
      for (char c : text) {
        if (c == '"') out_ += '"';
        out_ += c;
      }
      out_ += '"';
    }
  }
  void Int(int64_t n) { out_ += std::to_string(n); }
  void Date(Days d) {
    if (d != store::kNoDay) out_ += FormatIsoDate(d);
  }
  void Number(double v) {
    if (std::isnan(v)) return;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    out_ += buf;
  }
  void Comma() { out_ += ','; }
  void EndRow() {
    out_ += '\n';
    Drain(false);
  }
  Status Close() {
    Drain(true);
    bool failed = std::ferror(f_) != 0;
    failed = std::fclose(f_) != 0 || failed;
    f_ = nullptr;
    if (failed) {
      std::remove(tmp_.c_str());
      return Status::IoError("cannot write '" + tmp_ + "' (disk full?)");
    }
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) return Status::IoError("cannot rename '" + tmp_ + "': " + ec.message());
    return Status::Ok();
  }

 private:
  CsvFile(std::string path, std::string tmp, FILE* f)
      : path_(std::move(path)), tmp_(std::move(tmp)), f_(f) {}
  void Drain(bool all) {
    if (out_.size() < (1 << 20) && !all) return;
    std::fwrite(out_.data(), 1, out_.size(), f_);
    out_.clear();
  }
  std::string path_, tmp_;
  FILE* f_;
  std::string out_;
};

}  // namespace

Result<ExportCounts> ExportTables(const store::Index& index, const store::Catalog& catalog,
                                  const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create '" + dir + "': " + ec.message());
  auto patients = P4DP_TRY(
      CsvFile::Open(dir + "/patients.csv",
                    "patient_id,patient_key,sex,birth_year,birth_month,departement,death_date"));
  auto registrations =
      P4DP_TRY(CsvFile::Open(dir + "/registrations.csv", "patient_id,start_date,end_date"));
  auto events = P4DP_TRY(CsvFile::Open(
      dir + "/events.csv", "event_id,patient_id,date,end_date,domain,value,unit,source"));
  auto codes = P4DP_TRY(CsvFile::Open(dir + "/event_codes.csv", "event_id,system,code"));
  const auto& names = catalog.codes();
  const auto& units = catalog.units();
  const auto& sources = catalog.sources();
  ExportCounts counts;
  int64_t event_id = 0;
  for (domain::PatientIndex p = 0; p < index.patient_count(); ++p) {
    const store::IndexPatient& patient = index.patient(p);
    // A patient known only by events (no Patient resource) is still a row, fields empty.
    patients->Int(p);
    patients->Comma();
    patients->Raw(patient.key.ToHex());
    patients->Comma();
    if (patient.row) {
      const store::PatientRecord& row = *patient.row;
      patients->Raw(domain::SexName(row.sex));
      patients->Comma();
      if (row.birth_year != 0) patients->Int(row.birth_year);
      patients->Comma();
      if (row.birth_month != 0) patients->Int(row.birth_month);
      patients->Comma();
      patients->Text(row.departement);
      patients->Comma();
      patients->Date(row.death);
      for (const store::Registration& r : row.registrations) {
        registrations->Int(p);
        registrations->Comma();
        registrations->Date(r.start);
        registrations->Comma();
        registrations->Date(r.end);
        registrations->EndRow();
        ++counts.registrations;
      }
    } else {
      patients->Raw("unknown,,,,");
    }
    patients->EndRow();
    ++counts.patients;
    for (const store::IndexEvent& e : index.Events(p)) {
      ++event_id;
      events->Int(event_id);
      events->Comma();
      events->Int(p);
      events->Comma();
      events->Date(e.date);
      events->Comma();
      events->Date(e.end_date);
      events->Comma();
      events->Raw(domain::DomainName(e.domain));
      events->Comma();
      events->Number(e.value);
      events->Comma();
      if (e.unit < units.size()) events->Text(units[e.unit]);
      events->Comma();
      if (e.source < sources.size()) events->Text(sources[e.source]);
      events->EndRow();
      ++counts.events;
      for (uint32_t c : e.codes) {
        if (c >= names.size()) continue;
        codes->Int(event_id);
        codes->Comma();
        codes->Text(names[c].system);
        codes->Comma();
        codes->Text(names[c].code);
        codes->EndRow();
        ++counts.event_codes;
      }
    }
  }
  P4DP_TRY(patients->Close());
  P4DP_TRY(registrations->Close());
  P4DP_TRY(events->Close());
  P4DP_TRY(codes->Close());
  return counts;
}

}  // namespace p4dp::exporter
