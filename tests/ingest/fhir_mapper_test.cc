// Tests of FhirMapper against shared/spec/fhir-mapping.md: every row of the mapping table
// with small hand-written resources, components, entered-in-error, each quarantine reason,
// unknown code systems, the stripping of identifying fields and NIR normalisation.
// NIRs are made up, with keys checked in tests/domain/patient_test.cc.
#include "ingest/fhir_mapper.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace p4dp::ingest {
namespace {

using domain::Domain;

Days Day(int y, int m, int d) { return ToDays({y, m, d}); }

MappedResource Map(std::string_view json) {
  FhirMapper mapper({.today = Day(2025, 6, 30)});
  return mapper.Map(json);
}

std::vector<std::pair<std::string, std::string>> Codes(const MappedEvent& event) {
  std::vector<std::pair<std::string, std::string>> codes;
  for (const auto& c : event.codes) codes.emplace_back(c.system, c.code);
  return codes;
}

using CodeList = std::vector<std::pair<std::string, std::string>>;

void ExpectQuarantined(const MappedResource& r, QuarantineReason reason, std::string_view detail) {
  EXPECT_EQ(r.kind, MappedKind::kQuarantined);
  EXPECT_EQ(QuarantineReasonName(r.reason), QuarantineReasonName(reason));
  EXPECT_EQ(r.reason_detail, detail);
  EXPECT_TRUE(r.events.empty());
}

TEST(FhirMapperPatient, AllFields) {
  auto r = Map(R"({"resourceType":"Patient","id":"p1",
    "meta":{"versionId":"3","lastUpdated":"2024-05-01T23:30:00Z"},
    "extension":[
      {"url":"http://example.org/other","valueString":"x"},
      {"extension":[{"url":"practice","valueReference":{"reference":"Organization/o1"}},
                    {"url":"period","valuePeriod":{"start":"2019-01-01","end":"2020-06-30"}}],
       "url":"https://p4dp.fr/fhir/StructureDefinition/practice-registration"},
      {"url":"https://p4dp.fr/fhir/StructureDefinition/practice-registration",
       "extension":[{"url":"practice","valueReference":{"reference":"Organization/o2"}},
                    {"url":"period","valuePeriod":{"start":"2020-07-01"}}]}],
    "identifier":[{"system":"https://p4dp.fr/fhir/local-id/o1","value":"12345"},
                  {"system":"urn:oid:1.2.250.1.213.1.4.8","value":"2 85 06 13 055 123 12"}],
    "name":[{"family":"Martin","given":["Jeanne"]}],
    "telecom":[{"system":"phone","value":"01 02 03 04 05"}],
    "gender":"female","birthDate":"1985-06-17",
    "deceasedDateTime":"2021-03-04T23:30:00Z",
    "address":[{"line":["3 rue X"],"city":"Ajaccio","postalCode":"20100","country":"FR"},
               {"postalCode":"75001"}],
    "generalPractitioner":[{"reference":"Organization/o2"},{"reference":"Practitioner/x"}]})");
  ASSERT_EQ(r.kind, MappedKind::kPatient) << r.reason_detail;
  EXPECT_EQ(r.resource_type, "Patient");
  EXPECT_EQ(r.id, "p1");
  EXPECT_EQ(r.version, "3");
  EXPECT_EQ(r.last_updated, Day(2024, 5, 2));
  const MappedPatient& p = r.patient;
  EXPECT_EQ(p.nir, "285061305512312");
  EXPECT_EQ(p.sex, domain::Sex::kFemale);
  EXPECT_EQ(p.birth_year, 1985);
  EXPECT_EQ(p.birth_month, 6);
  EXPECT_EQ(p.death, Day(2021, 3, 5));  // 23:30 UTC is 00:30 in Paris (winter time)
  EXPECT_EQ(p.departement, "2A");
  ASSERT_EQ(p.registrations.size(), 2u);
  EXPECT_EQ(p.registrations[0].practice_reference, "Organization/o1");
  EXPECT_EQ(p.registrations[0].start, Day(2019, 1, 1));
  EXPECT_EQ(p.registrations[0].end, Day(2020, 6, 30));
  EXPECT_EQ(p.registrations[1].practice_reference, "Organization/o2");
  EXPECT_EQ(p.registrations[1].start, Day(2020, 7, 1));
  EXPECT_EQ(p.registrations[1].end, kNoDate);
  EXPECT_EQ(p.general_practitioner, "Organization/o2");
  EXPECT_TRUE(r.events.empty());
}

TEST(FhirMapperPatient, PartialBirthDateAndDeathWithoutDate) {
  auto r = Map(R"({"resourceType":"Patient","id":"p2","gender":"male","birthDate":"1950",
                   "deceasedBoolean":true})");
  ASSERT_EQ(r.kind, MappedKind::kPatient);
  EXPECT_EQ(r.patient.sex, domain::Sex::kMale);
  EXPECT_EQ(r.patient.birth_year, 1950);
  EXPECT_EQ(r.patient.birth_month, 0);
  EXPECT_EQ(r.patient.death, kNoDate);
  EXPECT_EQ(r.patient.nir, "");
  EXPECT_EQ(r.patient.departement, "");

  auto ym = Map(R"({"resourceType":"Patient","birthDate":"1950-04","deceasedDateTime":"2020"})");
  ASSERT_EQ(ym.kind, MappedKind::kPatient);
  EXPECT_EQ(ym.patient.birth_month, 4);
  EXPECT_EQ(ym.patient.death, kNoDate);
  EXPECT_EQ(ym.patient.sex, domain::Sex::kUnknown);
}

TEST(FhirMapperPatient, IdentifierSystemsAndKeys) {
  // The INS-NIR wins over the test NIR whatever the order; a wrong key is not a NIR.
  auto r = Map(R"({"resourceType":"Patient","identifier":[
      {"system":"urn:oid:1.2.250.1.213.1.4.10","value":"180017512345660"},
      {"system":"urn:oid:1.2.250.1.213.1.4.8","value":"178032a12345653"}]})");
  EXPECT_EQ(r.patient.nir, "178032A12345653");
  auto test_only = Map(R"({"resourceType":"Patient","identifier":[
      {"system":"urn:oid:1.2.250.1.213.1.4.10","value":"180017512345660"}]})");
  EXPECT_EQ(test_only.patient.nir, "180017512345660");
  auto nia = Map(R"({"resourceType":"Patient","identifier":[
      {"system":"urn:oid:1.2.250.1.213.1.4.9","value":"285052B00100250"}]})");
  EXPECT_EQ(nia.patient.nir, "285052B00100250");
  auto bad_key = Map(R"({"resourceType":"Patient","identifier":[
      {"system":"urn:oid:1.2.250.1.213.1.4.8","value":"180017512345661"}]})");
  EXPECT_EQ(bad_key.kind, MappedKind::kPatient);
  EXPECT_EQ(bad_key.patient.nir, "");
  auto other_system = Map(R"({"resourceType":"Patient","identifier":[
      {"system":"http://hl7.org/fhir/sid/us-ssn","value":"180017512345660"}]})");
  EXPECT_EQ(other_system.patient.nir, "");
}

TEST(FhirMapperPatient, ForeignAddressGivesNoDepartement) {
  auto r = Map(R"({"resourceType":"Patient","address":[{"postalCode":"01701","country":"US"}]})");
  EXPECT_EQ(r.patient.departement, "");
  auto overseas = Map(R"({"resourceType":"Patient","address":[{"postalCode":"97411"}]})");
  EXPECT_EQ(overseas.patient.departement, "974");
}

TEST(FhirMapperPatient, BadBirthDateIsQuarantined) {
  ExpectQuarantined(Map(R"({"resourceType":"Patient","id":"p","birthDate":"1850-01-01"})"),
                    QuarantineReason::kDateBefore1900, "birthDate");
  ExpectQuarantined(Map(R"({"resourceType":"Patient","id":"p","birthDate":19800101})"),
                    QuarantineReason::kWrongType, "birthDate");
  ExpectQuarantined(Map(R"({"resourceType":"Patient","id":"p","birthDate":"1980-02-30"})"),
                    QuarantineReason::kNoUsableDate, "birthDate");
  ExpectQuarantined(Map(R"({"resourceType":"Patient","id":"p","birthDate":"2030-01"})"),
                    QuarantineReason::kDateInFuture, "birthDate");
  auto r = Map(R"({"resourceType":"Patient","id":"p","birthDate":"1850-01-01"})");
  EXPECT_EQ(r.resource_type, "Patient");
  EXPECT_EQ(r.id, "p");
  EXPECT_EQ(r.patient.birth_year, 0);
}

TEST(FhirMapperOther, OrganizationAndMedication) {
  auto o = Map(R"({"resourceType":"Organization","id":"o1","name":"Cabinet du Port",
                   "address":[{"postalCode":"13002"}]})");
  ASSERT_EQ(o.kind, MappedKind::kOrganization);
  EXPECT_EQ(o.organization_name, "Cabinet du Port");
  EXPECT_EQ(o.id, "o1");
  auto m = Map(R"({"resourceType":"Medication","id":"m1","code":{"coding":[
      {"system":"http://www.whocc.no/atc","code":"A10BA02"},
      {"system":"urn:oid:1.2.250.1.213.2.3.1","code":"3400930280973","display":"metformine"}]}})");
  ASSERT_EQ(m.kind, MappedKind::kMedication);
  EXPECT_EQ(m.medication_codes.size(), 2u);
  EXPECT_EQ(m.medication_codes[0].system, "atc");
  EXPECT_EQ(m.medication_codes[0].code, "A10BA02");
  EXPECT_EQ(m.medication_codes[1].system, "cip13");
}

TEST(FhirMapperOther, TypesOutsideTheTableAreSkipped) {
  auto r = Map(R"({"resourceType":"DocumentReference","id":"d1","status":"current",
                   "content":[{"attachment":{"data":"aGVsbG8="}}]})");
  EXPECT_EQ(r.kind, MappedKind::kSkipped);
  EXPECT_EQ(r.resource_type, "DocumentReference");
  EXPECT_EQ(r.id, "d1");
  // Even when it lacks what a clinical type would need.
  EXPECT_EQ(Map(R"({"resourceType":"AllergyIntolerance","patient":3})").kind, MappedKind::kSkipped);
}

TEST(FhirMapperEvents, Encounter) {
  auto r = Map(R"({"resourceType":"Encounter","id":"e1","status":"finished",
    "subject":{"reference":"Patient/p1","display":"Jeanne Martin"},
    "period":{"start":"2021-03-04T10:00:00+01:00","end":"2021-03-04T10:15:00+01:00"},
    "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
    "type":[{"coding":[{"system":"http://snomed.info/sct","code":"11429006"}]},
            {"coding":[{"system":"http://hl7.org/fhir/sid/icpc-2","code":"A97"}]}]})");
  ASSERT_EQ(r.kind, MappedKind::kEvents) << r.reason_detail;
  EXPECT_EQ(r.subject_reference, "Patient/p1");
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].domain, Domain::kVisit);
  EXPECT_EQ(r.events[0].date, Day(2021, 3, 4));
  EXPECT_EQ(r.events[0].end_date, kNoDate);
  EXPECT_EQ(Codes(r.events[0]),
            (CodeList{{"http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"},
                      {"snomed", "11429006"},
                      {"icpc2", "A97"}}));
  EXPECT_TRUE(std::isnan(r.events[0].value));
  EXPECT_EQ(r.encounter_reference, "");

  // A class without a system is read in v3-ActCode.
  auto bare = Map(R"({"resourceType":"Encounter","subject":{"reference":"Patient/p1"},
                      "period":{"start":"2021-03-04"},"class":{"code":"HH"}})");
  ASSERT_EQ(bare.kind, MappedKind::kEvents);
  EXPECT_EQ(Codes(bare.events[0]),
            (CodeList{{"http://terminology.hl7.org/CodeSystem/v3-ActCode", "HH"}}));
}

TEST(FhirMapperEvents, ConditionDates) {
  constexpr std::string_view kHead =
      R"({"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},
          "encounter":{"reference":"Encounter/e1"},
          "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icpc-2","code":"K86"},
                            {"system":"http://hl7.org/fhir/sid/icd-10-fr","code":"I10"}]})";
  auto with = [&](std::string_view dates) { return Map(std::string(kHead) + std::string(dates)); };
  auto onset = with(R"(,"onsetDateTime":"2020-01-02","recordedDate":"2020-02-03"})");
  ASSERT_EQ(onset.kind, MappedKind::kEvents);
  ASSERT_EQ(onset.events.size(), 1u);
  EXPECT_EQ(onset.events[0].domain, Domain::kCondition);
  EXPECT_EQ(onset.events[0].date, Day(2020, 1, 2));
  EXPECT_EQ(Codes(onset.events[0]), (CodeList{{"icpc2", "K86"}, {"icd10", "I10"}}));
  EXPECT_EQ(onset.encounter_reference, "");  // dated by itself

  auto period = with(R"(,"onsetPeriod":{"start":"2020-01-05"},"recordedDate":"2020-02-03"})");
  EXPECT_EQ(period.events.at(0).date, Day(2020, 1, 5));
  auto recorded = with(R"(,"onsetString":"childhood","recordedDate":"2020-02-03"})");
  EXPECT_EQ(recorded.events.at(0).date, Day(2020, 2, 3));

  // No date of its own: dated later by the caller from its encounter.
  auto by_encounter = with("}");
  ASSERT_EQ(by_encounter.kind, MappedKind::kEvents);
  EXPECT_EQ(by_encounter.events.at(0).date, kNoDate);
  EXPECT_EQ(by_encounter.encounter_reference, "Encounter/e1");

  auto nothing = Map(R"({"resourceType":"Condition","subject":{"reference":"Patient/p1"},
                         "code":{"coding":[{"system":"http://snomed.info/sct","code":"1"}]}})");
  ExpectQuarantined(nothing, QuarantineReason::kNoUsableDate, "onsetDateTime");

  // A present but unusable first candidate is not replaced by a later one.
  ExpectQuarantined(with(R"(,"onsetDateTime":"2020-02-30","recordedDate":"2020-02-03"})"),
                    QuarantineReason::kNoUsableDate, "onsetDateTime");
}

TEST(FhirMapperEvents, ConditionEnteredInError) {
  auto r = Map(R"({"resourceType":"Condition","id":"c9","meta":{"versionId":"2"},
    "verificationStatus":{"coding":[
      {"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                     "code":"entered-in-error"}]},
    "subject":{"reference":"Patient/p1"},"onsetDateTime":"2020-01-02"})");
  EXPECT_EQ(r.kind, MappedKind::kEnteredInError);
  EXPECT_EQ(r.resource_type, "Condition");
  EXPECT_EQ(r.id, "c9");
  EXPECT_EQ(r.version, "2");
  EXPECT_TRUE(r.events.empty());
}

TEST(FhirMapperEvents, ObservationMeasurementAndObservation) {
  auto m = Map(R"({"resourceType":"Observation","id":"o1","status":"final",
    "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2021-07-14T22:30:00+00:00",
    "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},
    "valueQuantity":{"value":7.1,"unit":"percent","system":"http://unitsofmeasure.org",
                     "code":"%"}})");
  ASSERT_EQ(m.kind, MappedKind::kEvents) << m.reason_detail;
  ASSERT_EQ(m.events.size(), 1u);
  EXPECT_EQ(m.events[0].domain, Domain::kMeasurement);
  EXPECT_EQ(m.events[0].date, Day(2021, 7, 15));  // 00:30 in Paris (summer time)
  EXPECT_DOUBLE_EQ(m.events[0].value, 7.1);
  EXPECT_EQ(m.events[0].unit, "%");
  EXPECT_EQ(Codes(m.events[0]), (CodeList{{"loinc", "4548-4"}}));

  auto unit_only = Map(R"({"resourceType":"Observation","subject":{"reference":"Patient/p1"},
    "effectivePeriod":{"start":"2021-01-01"},"valueQuantity":{"value":80,"unit":"kg"}})");
  ASSERT_EQ(unit_only.kind, MappedKind::kEvents);
  EXPECT_EQ(unit_only.events[0].date, Day(2021, 1, 1));
  EXPECT_EQ(unit_only.events[0].unit, "kg");
  EXPECT_TRUE(unit_only.events[0].codes.empty());

  auto o = Map(R"({"resourceType":"Observation","subject":{"reference":"Patient/p1"},
    "issued":"2021-01-02T08:00:00.000+01:00",
    "code":{"coding":[{"system":"http://snomed.info/sct","code":"229819007"}]},
    "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"8517006"}]}})");
  ASSERT_EQ(o.kind, MappedKind::kEvents);
  EXPECT_EQ(o.events[0].domain, Domain::kObservation);
  EXPECT_EQ(o.events[0].date, Day(2021, 1, 2));
  EXPECT_TRUE(std::isnan(o.events[0].value));
  EXPECT_EQ(Codes(o.events[0]), (CodeList{{"snomed", "229819007"}}));
}

TEST(FhirMapperEvents, ObservationComponents) {
  auto r = Map(R"({"resourceType":"Observation","id":"bp","status":"final",
    "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2022-02-03T09:00:00+01:00",
    "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
    "component":[
      {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
       "valueQuantity":{"value":142,"unit":"mmHg","code":"mm[Hg]"}},
      {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},
       "valueQuantity":{"value":88,"unit":"mmHg","code":"mm[Hg]"}},
      {"code":{"coding":[{"system":"http://loinc.org","code":"8478-0"}]},
       "valueCodeableConcept":{"text":"no quantity: not an event"}}]})");
  ASSERT_EQ(r.kind, MappedKind::kEvents) << r.reason_detail;
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].domain, Domain::kObservation);  // the panel has no value
  EXPECT_EQ(Codes(r.events[0]), (CodeList{{"loinc", "85354-9"}}));
  for (int i : {1, 2}) {
    EXPECT_EQ(r.events[i].domain, Domain::kMeasurement);
    EXPECT_EQ(r.events[i].date, Day(2022, 2, 3));
    EXPECT_EQ(r.events[i].unit, "mm[Hg]");
  }
  EXPECT_EQ(Codes(r.events[1]), (CodeList{{"loinc", "8480-6"}}));
  EXPECT_DOUBLE_EQ(r.events[1].value, 142);
  EXPECT_EQ(Codes(r.events[2]), (CodeList{{"loinc", "8462-4"}}));
  EXPECT_DOUBLE_EQ(r.events[2].value, 88);
}

TEST(FhirMapperEvents, ObservationEnteredInError) {
  auto r = Map(R"({"resourceType":"Observation","id":"o7","meta":{"versionId":"4"},
                   "status":"entered-in-error","subject":{"reference":"Patient/p1"}})");
  EXPECT_EQ(r.kind, MappedKind::kEnteredInError);
  EXPECT_EQ(r.resource_type, "Observation");
  EXPECT_EQ(r.id, "o7");
  EXPECT_EQ(r.version, "4");
  EXPECT_TRUE(r.events.empty());
}

MappedResource Prescription(std::string_view duration) {
  return Map(std::string(R"({"resourceType":"MedicationRequest","id":"m1","status":"active",
    "subject":{"reference":"Patient/p1"},"authoredOn":"2021-05-10",
    "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"C09AA05"},
      {"system":"urn:oid:1.2.250.1.213.2.3.1","code":"3400932683581"}]},
    "dispenseRequest":{"expectedSupplyDuration":)") +
             std::string(duration) + "}}");
}

TEST(FhirMapperEvents, MedicationRequest) {
  auto r =
      Prescription(R"({"value":30,"unit":"days","system":"http://unitsofmeasure.org","code":"d"})");
  ASSERT_EQ(r.kind, MappedKind::kEvents) << r.reason_detail;
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].domain, Domain::kDrug);
  EXPECT_EQ(r.events[0].date, Day(2021, 5, 10));
  EXPECT_EQ(r.events[0].end_date, Day(2021, 6, 9));
  EXPECT_EQ(Codes(r.events[0]), (CodeList{{"atc", "C09AA05"}, {"cip13", "3400932683581"}}));
  EXPECT_EQ(r.medication_reference, "");

  EXPECT_EQ(Prescription(R"({"value":2,"code":"wk"})").events.at(0).end_date, Day(2021, 5, 24));
  EXPECT_EQ(Prescription(R"({"value":3,"code":"mo"})").events.at(0).end_date, Day(2021, 8, 8));
  EXPECT_EQ(Prescription(R"({"value":28,"unit":"days"})").events.at(0).end_date, Day(2021, 6, 7));
  EXPECT_EQ(Prescription(R"({"value":1,"code":"a"})").events.at(0).end_date, Day(2022, 5, 10));
  EXPECT_EQ(Prescription(R"({"value":5,"code":"furlong"})").events.at(0).end_date, kNoDate);
  EXPECT_EQ(Prescription(R"({"value":-5,"code":"d"})").events.at(0).end_date, kNoDate);
}

TEST(FhirMapperEvents, MedicationReferences) {
  auto r = Map(R"({"resourceType":"MedicationRequest","subject":{"reference":"Patient/p1"},
    "authoredOn":"2021-05-10","medicationReference":{"reference":"Medication/med1"}})");
  ASSERT_EQ(r.kind, MappedKind::kEvents);
  EXPECT_EQ(r.medication_reference, "Medication/med1");
  EXPECT_TRUE(r.events.at(0).codes.empty());

  auto contained = Map(R"({"resourceType":"MedicationRequest",
    "contained":[{"resourceType":"Medication","id":"med","code":{"coding":[
        {"system":"http://www.whocc.no/atc","code":"N02BE01"}]}}],
    "subject":{"reference":"Patient/p1"},"authoredOn":"2021-05-10",
    "medicationReference":{"reference":"#med"}})");
  ASSERT_EQ(contained.kind, MappedKind::kEvents);
  EXPECT_EQ(contained.medication_reference, "");
  EXPECT_EQ(Codes(contained.events.at(0)), (CodeList{{"atc", "N02BE01"}}));
}

TEST(FhirMapperEvents, MedicationDispense) {
  auto r = Map(R"({"resourceType":"MedicationDispense","id":"d1","status":"completed",
    "subject":{"reference":"Patient/p1"},"whenHandedOver":"2021-05-11T18:00:00+02:00",
    "medicationCodeableConcept":{"coding":[
      {"system":"urn:oid:1.2.250.1.213.2.3.1","code":"3400932683581"}]},
    "quantity":{"value":2,"unit":"boîtes"}})");
  ASSERT_EQ(r.kind, MappedKind::kEvents) << r.reason_detail;
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].domain, Domain::kDispensing);
  EXPECT_EQ(r.events[0].date, Day(2021, 5, 11));
  EXPECT_DOUBLE_EQ(r.events[0].value, 2);
  EXPECT_EQ(r.events[0].unit, "boîtes");
  EXPECT_EQ(Codes(r.events[0]), (CodeList{{"cip13", "3400932683581"}}));
}

TEST(FhirMapperEvents, Immunization) {
  auto r = Map(R"({"resourceType":"Immunization","id":"i1","status":"completed",
    "vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"141"}]},
    "patient":{"reference":"Patient/p1"},"occurrenceDateTime":"2021-10-30T22:30:00Z"})");
  ASSERT_EQ(r.kind, MappedKind::kEvents) << r.reason_detail;
  EXPECT_EQ(r.subject_reference, "Patient/p1");
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].domain, Domain::kImmunization);
  EXPECT_EQ(r.events[0].date, Day(2021, 10, 31));
  EXPECT_EQ(Codes(r.events[0]), (CodeList{{"cvx", "141"}}));

  // Immunization names its patient `patient`: a `subject` does not count.
  auto wrong_key = Map(R"({"resourceType":"Immunization","subject":{"reference":"Patient/p1"},
                           "occurrenceDateTime":"2021-10-30"})");
  ExpectQuarantined(wrong_key, QuarantineReason::kNoSubject, "patient");
}

TEST(FhirMapperEvents, Procedure) {
  auto r = Map(R"({"resourceType":"Procedure","id":"pr1","status":"completed",
    "subject":{"reference":"urn:uuid:0c6b1f3d"},"performedDateTime":"2019-12-31T23:30:00Z",
    "code":{"coding":[{"system":"urn:oid:1.2.250.1.213.2.5","code":"DEQP003"}]}})");
  ASSERT_EQ(r.kind, MappedKind::kEvents) << r.reason_detail;
  EXPECT_EQ(r.subject_reference, "urn:uuid:0c6b1f3d");
  EXPECT_EQ(r.events.at(0).domain, Domain::kProcedure);
  EXPECT_EQ(r.events.at(0).date, Day(2020, 1, 1));
  EXPECT_EQ(Codes(r.events.at(0)), (CodeList{{"ccam", "DEQP003"}}));

  auto period = Map(R"({"resourceType":"Procedure","subject":{"reference":"Patient/p1"},
    "performedPeriod":{"start":"2019-06-01T10:00:00+02:00","end":"2019-06-01T11:00:00+02:00"}})");
  ASSERT_EQ(period.kind, MappedKind::kEvents);
  EXPECT_EQ(period.events.at(0).date, Day(2019, 6, 1));
}

TEST(FhirMapperEvents, SubjectByIdentifier) {
  auto r = Map(R"({"resourceType":"Procedure","performedDateTime":"2019-06-01",
    "subject":{"identifier":{"system":"urn:oid:1.2.250.1.213.1.4.8","value":"180017512345660"}}})");
  ASSERT_EQ(r.kind, MappedKind::kEvents);
  EXPECT_EQ(r.subject_reference, "Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|180017512345660");
}

TEST(FhirMapperCodes, UnknownSystemsAreKeptAndNoCodingIsStillAnEvent) {
  auto r = Map(R"({"resourceType":"Condition","subject":{"reference":"Patient/p1"},
    "recordedDate":"2020-01-01","code":{"coding":[
      {"system":"urn:p4dp:unknown-code-system","code":"X1"},
      {"code":"NOSYS"},
      {"system":"http://snomed.info/sct","display":"no code: skipped"},
      {"system":"http://hl7.org/fhir/sid/icd-10","code":"E11"}]}})");
  ASSERT_EQ(r.kind, MappedKind::kEvents);
  EXPECT_EQ(Codes(r.events.at(0)),
            (CodeList{{"urn:p4dp:unknown-code-system", "X1"}, {"", "NOSYS"}, {"icd10", "E11"}}));
  auto none = Map(R"({"resourceType":"Condition","subject":{"reference":"Patient/p1"},
                      "recordedDate":"2020-01-01","code":{"text":"free text only"}})");
  ASSERT_EQ(none.kind, MappedKind::kEvents);
  ASSERT_EQ(none.events.size(), 1u);
  EXPECT_TRUE(none.events[0].codes.empty());
}

constexpr std::string_view kGoodEncounter =
    R"({"resourceType":"Encounter","id":"e1","subject":{"reference":"Patient/p1"},)";

MappedResource Encounter(std::string_view rest) {
  return Map(std::string(kGoodEncounter) + std::string(rest));
}

TEST(FhirMapperQuarantine, InvalidJson) {
  for (std::string_view text :
       {R"({"resourceType":"Encounter","id":"e1","subject":{"refer)",
        R"({"resourceType":"Encounter","id":"e1","subject":{"reference":"Patient/p1"})",
        R"({"resourceType":"Encounter"} trailing)", R"({"resourceType":"Encounter"}{})", "", "   ",
        "not json", R"({"resourceType":"Encounter","id":"e1","period":{"start":tru}})"}) {
    auto r = Map(text);
    EXPECT_EQ(r.kind, MappedKind::kQuarantined) << text;
    EXPECT_EQ(r.reason, QuarantineReason::kInvalidJson) << text;
    EXPECT_TRUE(r.events.empty());
  }
}

TEST(FhirMapperQuarantine, NoResourceType) {
  for (std::string_view text : {R"({"id":"x","subject":{"reference":"Patient/p1"}})",
                                R"({"resourceType":42})", "[1,2]", "42"}) {
    auto r = Map(text);
    EXPECT_EQ(r.kind, MappedKind::kQuarantined) << text;
    EXPECT_EQ(r.reason, QuarantineReason::kNoResourceType) << text;
  }
}

TEST(FhirMapperQuarantine, NoSubject) {
  auto r = Map(R"({"resourceType":"Encounter","id":"e1","period":{"start":"2021-01-01"}})");
  ExpectQuarantined(r, QuarantineReason::kNoSubject, "subject");
  EXPECT_EQ(r.resource_type, "Encounter");
  EXPECT_EQ(r.id, "e1");
  ExpectQuarantined(Map(R"({"resourceType":"Encounter","period":{"start":"2021-01-01"},
                            "subject":{"display":"x"}})"),
                    QuarantineReason::kNoSubject, "subject");
}

TEST(FhirMapperQuarantine, Dates) {
  ExpectQuarantined(Encounter(R"("status":"finished"})"), QuarantineReason::kNoUsableDate,
                    "period.start");
  ExpectQuarantined(Encounter(R"("period":{"start":"2021-03"}})"), QuarantineReason::kNoUsableDate,
                    "period.start");
  ExpectQuarantined(Encounter(R"("period":{"start":"2021-02-30"}})"),
                    QuarantineReason::kNoUsableDate, "period.start");
  ExpectQuarantined(Encounter(R"("period":{"start":"2021-02-03T25:00:00Z"}})"),
                    QuarantineReason::kNoUsableDate, "period.start");
  ExpectQuarantined(Encounter(R"("period":{"start":20210203}})"), QuarantineReason::kWrongType,
                    "period.start");
  ExpectQuarantined(Encounter(R"("period":{"start":"1899-12-31"}})"),
                    QuarantineReason::kDateBefore1900, "period.start");
  ExpectQuarantined(Encounter(R"("period":{"start":"2025-07-01"}})"),
                    QuarantineReason::kDateInFuture, "period.start");
  // The day in Paris decides: 2025-06-30T22:30Z is already July 1st there.
  ExpectQuarantined(Encounter(R"("period":{"start":"2025-06-30T22:30:00Z"}})"),
                    QuarantineReason::kDateInFuture, "period.start");
  EXPECT_EQ(Encounter(R"("period":{"start":"2025-06-30T21:30:00Z"}})").kind, MappedKind::kEvents);
  EXPECT_EQ(Encounter(R"("period":{"start":"1900-01-01"}})").kind, MappedKind::kEvents);
}

TEST(FhirMapperQuarantine, WrongTypes) {
  ExpectQuarantined(Encounter(R"("period":"2021-01-01"})"), QuarantineReason::kWrongType, "period");
  ExpectQuarantined(Encounter(R"("period":{"start":"2021-01-01"},"type":{"coding":[]}})"),
                    QuarantineReason::kWrongType, "type");
  ExpectQuarantined(Map(R"({"resourceType":"Observation","subject":{"reference":"Patient/p"},
                            "effectiveDateTime":"2021-01-01","valueQuantity":{"value":"7.1"}})"),
                    QuarantineReason::kWrongType, "valueQuantity");
  ExpectQuarantined(Map(R"({"resourceType":"Condition","subject":"Patient/p",
                            "recordedDate":"2021-01-01"})"),
                    QuarantineReason::kWrongType, "subject");
  ExpectQuarantined(Map(R"({"resourceType":"Condition","subject":{"reference":"Patient/p"},
                            "recordedDate":"2021-01-01","code":{"coding":[{"code":42}]}})"),
                    QuarantineReason::kWrongType, "code");
}

TEST(FhirMapperQuarantine, TooLarge) {
  std::string big = std::string(kGoodEncounter) + R"("pad":")";
  big.append(kResourceBytesMax, 'x');
  big += R"(","period":{"start":"2021-01-01"}})";
  ExpectQuarantined(Map(big), QuarantineReason::kTooLarge, "");
}

TEST(FhirMapperQuarantine, ReasonNames) {
  std::set<std::string_view> names;
  for (int i = 0; i < kQuarantineReasonCount; ++i) {
    names.insert(QuarantineReasonName(static_cast<QuarantineReason>(i)));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kQuarantineReasonCount));
  EXPECT_EQ(QuarantineReasonName(QuarantineReason::kInvalidJson), "invalid_json");
  EXPECT_EQ(QuarantineReasonName(QuarantineReason::kNoUsableDate), "no_usable_date");
  EXPECT_EQ(QuarantineReasonName(QuarantineReason::kTooLarge), "too_large");
}

TEST(FhirMapperMisc, MapperIsReusableAndKeysMayBeEscaped) {
  FhirMapper mapper({.today = Day(2025, 6, 30)});
  for (int i = 0; i < 3; ++i) {
    auto bad = mapper.Map(R"({"resourceType":"Encounter")");
    EXPECT_EQ(bad.kind, MappedKind::kQuarantined);
    auto good =
        mapper.Map(R"({"resourceType":"Encounter","subj\u0065ct":{"reference":"Patient/p1"},)"
                   R"("period":{"start":"2021-01-01"}})");
    EXPECT_EQ(good.kind, MappedKind::kEvents) << good.reason_detail;
    EXPECT_EQ(good.subject_reference, "Patient/p1");
  }
}

// A record parsed where it lies (padded: bytes of the next records follow it) maps exactly
// as a copied one, including truncated records that the following bytes would "complete".
TEST(FhirMapperMisc, PaddedInputMapsAsACopyWhateverFollows) {
  FhirMapper mapper({.today = Day(2025, 6, 30)});
  const std::vector<std::string> records = {
      R"({"resourceType":"Encounter","subject":{"reference":"Patient/p1"},)"
      R"("period":{"start":"2021-01-01"}})",
      R"({"resourceType":"Encounter")",
      R"({"resourceType":"Observation","subject":{"reference":"Patient/p1"},)"
      R"("effectiveDateTime":"2021-02-03","valueQuantity":{"value":12)",
      R"({"resourceType":"Condition","subject":{"reference":"Patient/p1"},"onsetDateTime":"2021)",
      R"(12)",
      R"(tru)",
      R"({"resourceType":"Patient","id":"p1","birthDate":"1950-03-01"} x)",
  };
  const std::string tail = R"(.5,"unit":"kg"}}, "x": true}"-02"}} 3 e}
)";
  for (const std::string& json : records) {
    SCOPED_TRACE(json);
    MappedResource copied = mapper.Map(json);
    std::string buffer = json + tail + std::string(64, '}');
    MappedResource in_place = mapper.Map(std::string_view(buffer.data(), json.size()), true);
    EXPECT_EQ(in_place.kind, copied.kind);
    EXPECT_EQ(QuarantineReasonName(in_place.reason), QuarantineReasonName(copied.reason));
    EXPECT_EQ(in_place.events.size(), copied.events.size());
    EXPECT_EQ(in_place.subject_reference, copied.subject_reference);
  }
  EXPECT_EQ(mapper.Map(records[1]).kind, MappedKind::kQuarantined);
  EXPECT_EQ(mapper.Map(records[0]).kind, MappedKind::kEvents);
}

TEST(StripForQuarantine, DropsIdentifyingFieldsAtAnyDepth) {
  std::string stripped = FhirMapper::StripForQuarantine(R"({"resourceType":"Patient","id":"p1",
    "text":{"status":"generated","div":"<div>Jeanne Martin</div>"},
    "name":[{"family":"Martin"}],"telecom":[{"value":"0102030405"}],
    "photo":[{"data":"aGVsbG8="}],"note":[{"text":"lives alone"}],
    "identifier":[{"system":"urn:oid:1.2.250.1.213.1.4.8","value":"285061305512312"}],
    "birthDate":"1985-06-17",
    "address":[{"line":["3 rue X"],"city":"Ajaccio","district":"d","postalCode":"20100",
                "country":"FR"}],
    "extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                  "valueAddress":{"city":"Olathe","state":"Kansas","country":"US"}},
                 {"url":"http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
                  "valueString":"Dupont"}],
    "contact":[{"name":{"family":"Martin"},"telecom":[{"value":"06"}],
                "address":{"line":["x"],"postalCode":"75001"},
                "relationship":[{"coding":[{"system":"s","code":"N","display":"Next-of-Kin"}]}]}],
    "generalPractitioner":[{"reference":"Practitioner/1","display":"Dr. Who"}],
    "contained":[{"resourceType":"Observation","note":[{"text":"deep"}],
                  "code":{"text":"free","coding":[{"code":"1"}]}}]})");
  ASSERT_FALSE(stripped.empty());
  auto doc = nlohmann::json::parse(stripped);
  for (std::string_view word :
       {"Jeanne", "Martin", "0102030405", "aGVsbG8", "lives alone", "rue X", "Ajaccio", "Olathe",
        "Kansas", "Dupont", "Dr. Who", "deep", "free", "\"06\""}) {
    EXPECT_EQ(stripped.find(word), std::string::npos) << word << " in " << stripped;
  }
  EXPECT_EQ(doc["id"], "p1");
  EXPECT_EQ(doc["birthDate"], "1985-06-17");
  EXPECT_EQ(doc["identifier"][0]["value"], "285061305512312");
  EXPECT_EQ(doc["address"][0], (nlohmann::json{{"postalCode", "20100"}, {"country", "FR"}}));
  EXPECT_EQ(doc["extension"][0]["valueAddress"], (nlohmann::json{{"country", "US"}}));
  EXPECT_EQ(doc["contact"][0]["address"], (nlohmann::json{{"postalCode", "75001"}}));
  EXPECT_EQ(doc["contact"][0]["relationship"][0]["coding"][0]["display"], "Next-of-Kin");
  EXPECT_EQ(doc["generalPractitioner"][0], (nlohmann::json{{"reference", "Practitioner/1"}}));
  EXPECT_EQ(doc["contained"][0]["code"]["coding"][0]["code"], "1");
  EXPECT_FALSE(doc.contains("text"));
  EXPECT_FALSE(doc.contains("name"));
  // Compact output.
  EXPECT_EQ(stripped.find('\n'), std::string::npos);
  EXPECT_EQ(stripped.find(", "), std::string::npos);
}

TEST(StripForQuarantine, InvalidOrTooDeepGivesEmpty) {
  EXPECT_EQ(FhirMapper::StripForQuarantine(R"({"resourceType":"Patient","name":)"), "");
  EXPECT_EQ(FhirMapper::StripForQuarantine("not json"), "");
  EXPECT_EQ(FhirMapper::StripForQuarantine(std::string(100000, '[') + std::string(100000, ']')),
            "");
  EXPECT_EQ(FhirMapper::StripForQuarantine(R"( {"a":[1,{"b":null}]} )"), R"({"a":[1,{"b":null}]})");
}

TEST(NormaliseNir, SpacesCaseAndKey) {
  EXPECT_EQ(NormaliseNir("2 85 06 13 055 123 12"), "285061305512312");
  EXPECT_EQ(NormaliseNir("178032a12345653"), "178032A12345653");
  EXPECT_EQ(NormaliseNir("180017512345660"), "180017512345660");
  EXPECT_EQ(NormaliseNir("180017512345661"), "");   // wrong key
  EXPECT_EQ(NormaliseNir("18001751234566"), "");    // 14 characters
  EXPECT_EQ(NormaliseNir("1800175123456600"), "");  // 16 characters
  EXPECT_EQ(NormaliseNir("1-80-01-75-123-456-60"), "");
  EXPECT_EQ(NormaliseNir(""), "");
}

}  // namespace
}  // namespace p4dp::ingest
