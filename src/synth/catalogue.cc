#include "synth/catalogue.h"

#include "base/assert.h"

namespace p4dp::synth {
namespace {

constexpr std::string_view kIcpc2 = "http://hl7.org/fhir/sid/icpc-2";
constexpr std::string_view kIcd10 = "http://hl7.org/fhir/sid/icd-10-fr";
constexpr std::string_view kAtc = "http://www.whocc.no/atc";
constexpr std::string_view kCip13 = "urn:oid:1.2.250.1.213.2.3.1";
constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kCcam = "urn:oid:1.2.250.1.213.2.5";
constexpr std::string_view kCvx = "http://hl7.org/fhir/sid/cvx";

// INSEE, population by sex and age on 1 January 2024 (provisional), grouped in 10-year
// bands, percent of the total population. Each row: men, women.
constexpr std::array<PyramidBand, 10> kPyramid = {{
    {5.53, 5.28},  // 0-9
    {6.21, 5.93},  // 10-19
    {5.62, 5.56},  // 20-29
    {5.93, 6.16},  // 30-39
    {6.13, 6.30},  // 40-49
    {6.34, 6.62},  // 50-59
    {5.75, 6.33},  // 60-69
    {4.39, 5.24},  // 70-79
    {1.98, 2.93},  // 80-89
    {0.39, 0.99},  // 90+
}};

// CIP13 = "34009" + a CIP7 of the ATC class in the SNDS table IR_CIP_V + EAN-13 key.
constexpr std::array<Drug, 22> kDrugs = {{
    {"metformin", {kAtc, "A10BA02", "metformin"}, {kCip13, "3400930280973", "metformine"}},
    {"gliclazide", {kAtc, "A10BB09", "gliclazide"}, {kCip13, "3400930281055", "gliclazide"}},
    {"insulin_glargine",
     {kAtc, "A10AE04", "insulin glargine"},
     {kCip13, "3400930330005", "insuline glargine"}},
    {"amlodipine", {kAtc, "C08CA01", "amlodipine"}, {kCip13, "3400930545805", "amlodipine"}},
    {"ramipril", {kAtc, "C09AA05", "ramipril"}, {kCip13, "3400932683581", "ramipril"}},
    {"hydrochlorothiazide",
     {kAtc, "C03AA03", "hydrochlorothiazide"},
     {kCip13, "3400930373576", "hydrochlorothiazide"}},
    {"atorvastatin", {kAtc, "C10AA05", "atorvastatin"}, {kCip13, "3400931320210", "atorvastatine"}},
    {"rosuvastatin", {kAtc, "C10AA07", "rosuvastatin"}, {kCip13, "3400931502722", "rosuvastatine"}},
    {"salbutamol", {kAtc, "R03AC02", "salbutamol"}, {kCip13, "3400930032817", "salbutamol"}},
    {"budesonide_formoterol",
     {kAtc, "R03AK07", "formoterol and budesonide"},
     {kCip13, "3400930080191", "budésonide/formotérol"}},
    {"tiotropium",
     {kAtc, "R03BB04", "tiotropium bromide"},
     {kCip13, "3400930317686", "tiotropium"}},
    {"sertraline", {kAtc, "N06AB06", "sertraline"}, {kCip13, "3400930043462", "sertraline"}},
    {"escitalopram", {kAtc, "N06AB10", "escitalopram"}, {kCip13, "3400930043523", "escitalopram"}},
    {"levothyroxine",
     {kAtc, "H03AA01", "levothyroxine sodium"},
     {kCip13, "3400930099643", "lévothyroxine"}},
    {"apixaban", {kAtc, "B01AF02", "apixaban"}, {kCip13, "3400930167632", "apixaban"}},
    {"bisoprolol", {kAtc, "C07AB07", "bisoprolol"}, {kCip13, "3400930089538", "bisoprolol"}},
    {"amoxicillin", {kAtc, "J01CA04", "amoxicillin"}, {kCip13, "3400930010693", "amoxicilline"}},
    {"paracetamol", {kAtc, "N02BE01", "paracetamol"}, {kCip13, "3400930051047", "paracétamol"}},
    {"oseltamivir", {kAtc, "J05AH02", "oseltamivir"}, {kCip13, "3400932227358", "oseltamivir"}},
    {"racecadotril", {kAtc, "A07XA04", "racecadotril"}, {kCip13, "3400930060551", "racécadotril"}},
    {"ibuprofen", {kAtc, "M01AE01", "ibuprofen"}, {kCip13, "3400930027905", "ibuprofène"}},
    {"flu_vaccine",
     {kAtc, "J07BB02", "influenza, inactivated, split virus or surface antigen"},
     {kCip13, "3400930037720", "vaccin grippal"}},
}};

constexpr std::array<ConditionInfo, kConditionCount> kConditions = {{
    {Condition::kHypertension,
     "hypertension",
     {kIcpc2, "K86", "Hypertension non compliquée"},
     {kIcd10, "I10", "Hypertension essentielle (primitive)"},
     {0, 0.02, 0.06, 0.13, 0.15, 0.28, 0.42, 0.55, 0.65, 0.68},
     0.95,
     1.05,
     20,
     35,
     {"amlodipine", "ramipril"}},
    {Condition::kType2Diabetes,
     "type2_diabetes",
     {kIcpc2, "T90", "Diabète non insulino-dépendant"},
     {kIcd10, "E119", "Diabète sucré de type 2, sans complication"},
     {0, 0.001, 0.003, 0.01, 0.03, 0.07, 0.12, 0.16, 0.15, 0.12},
     0.8,
     1.2,
     5,
     9,
     {"metformin", "gliclazide"}},
    {Condition::kDyslipidaemia,
     "dyslipidaemia",
     {kIcpc2, "T93", "Trouble du métabolisme des lipides"},
     {kIcd10, "E785", "Hyperlipidémie, sans précision"},
     {0, 0.002, 0.01, 0.04, 0.09, 0.18, 0.30, 0.36, 0.33, 0.25},
     0.9,
     1.1,
     10,
     25,
     {"atorvastatin", "rosuvastatin"}},
    {Condition::kAsthma,
     "asthma",
     {kIcpc2, "R96", "Asthme"},
     {kIcd10, "J459", "Asthme, sans précision"},
     {0.07, 0.09, 0.07, 0.065, 0.065, 0.06, 0.06, 0.055, 0.055, 0.05},
     1.1,
     0.9,
     5,
     8,
     {"salbutamol", "budesonide_formoterol"}},
    {Condition::kCopd,
     "copd",
     {kIcpc2, "R95", "Maladie pulmonaire obstructive chronique"},
     {kIcd10, "J449", "Maladie pulmonaire obstructive chronique, sans précision"},
     {0, 0, 0.002, 0.005, 0.02, 0.05, 0.08, 0.11, 0.12, 0.10},
     0.7,
     1.3,
     3,
     8,
     {"tiotropium", "salbutamol"}},
    {Condition::kDepression,
     "depression",
     {kIcpc2, "P76", "Dépression"},
     {kIcd10, "F329", "Épisode dépressif, sans précision"},
     {0, 0.03, 0.13, 0.12, 0.12, 0.11, 0.09, 0.08, 0.09, 0.09},
     1.35,
     0.62,
     8,
     15,
     {"sertraline", "escitalopram"}},
    {Condition::kHypothyroidism,
     "hypothyroidism",
     {kIcpc2, "T86", "Hypothyroïdie, myxœdème"},
     {kIcd10, "E039", "Hypothyroïdie, sans précision"},
     {0.001, 0.004, 0.015, 0.025, 0.035, 0.05, 0.065, 0.075, 0.08, 0.08},
     1.6,
     0.35,
     3,
     6,
     {"levothyroxine", ""}},
    {Condition::kAtrialFibrillation,
     "atrial_fibrillation",
     {kIcpc2, "K78", "Fibrillation auriculaire, flutter"},
     {kIcd10, "I489", "Fibrillation et flutter auriculaires, sans précision"},
     {0, 0, 0, 0.001, 0.003, 0.008, 0.02, 0.05, 0.10, 0.13},
     0.8,
     1.2,
     1,
     3,
     {"apixaban", "bisoprolol"}},
    {Condition::kChronicKidneyDisease,
     "chronic_kidney_disease",
     {kIcpc2, "U99", "Autre maladie urinaire"},
     {kIcd10, "N183", "Maladie rénale chronique, stade 3"},
     {0, 0, 0.004, 0.007, 0.013, 0.027, 0.055, 0.11, 0.18, 0.22},
     1.0,
     1.0,
     4,
     10,
     {"ramipril", ""}},
    {Condition::kStroke,
     "stroke",
     {kIcpc2, "K90", "Accident vasculaire cérébral"},
     {kIcd10, "I639", "Infarctus cérébral, sans précision"},
     {0, 0, 0, 0.001, 0.003, 0.008, 0.015, 0.03, 0.05, 0.06},
     0.9,
     1.1,
     0,
     100,
     {"atorvastatin", ""}},
}};

constexpr std::array<IndicatorInfo, kIndicatorCount> kIndicators = {{
    {Indicator::kIli,
     "ili",
     {kIcpc2, "R80", "Grippe"},
     {kIcd10, "J111", "Grippe avec d'autres manifestations respiratoires, virus non identifié"},
     25,
     {2.0, 2.2, 0.9, 0.5},
     "paracetamol"},
    {Indicator::kGastro,
     "gastro",
     {kIcpc2, "D73", "Gastro-entérite présumée infectieuse"},
     {kIcd10, "A099", "Gastro-entérite et colite d'origine non précisée"},
     60,
     {3.0, 1.5, 0.8, 0.7},
     "racecadotril"},
    {Indicator::kBronchiolitis,
     "bronchiolitis",
     {kIcpc2, "R78", "Bronchite aiguë, bronchiolite"},
     {kIcd10, "J219", "Bronchiolite aiguë, sans précision"},
     4,
     {1.0, 0, 0, 0},
     "paracetamol"},
    {Indicator::kVaricella,
     "varicella",
     {kIcpc2, "A72", "Varicelle"},
     {kIcd10, "B019", "Varicelle sans complication"},
     8,
     {4.0, 3.0, 0.1, 0.05},
     "paracetamol"},
    {Indicator::kCovid,
     "covid",
     {kIcpc2, "A77", "Autre maladie virale"},
     {kIcd10, "U071", "COVID-19, virus identifié"},
     0,
     {0.6, 0.8, 1.1, 1.0},
     "paracetamol"},
    {Indicator::kMeasles,
     "measles",
     {kIcpc2, "A71", "Rougeole"},
     {kIcd10, "B059", "Rougeole sans complication"},
     0.05,
     {2.0, 2.0, 0.8, 0.2},
     "paracetamol"},
}};

constexpr Labs kLabs = {
    {{kLoinc, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"}, "%", "%"},
    {{kLoinc, "13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation"},
     "g/L",
     "g/L"},
    {{kLoinc, "14682-9", "Creatinine [Moles/volume] in Serum or Plasma"}, "umol/L", "µmol/L"},
    {{kLoinc, "62238-1", "Glomerular filtration rate/1.73 sq M.predicted (CKD-EPI)"},
     "mL/min/{1.73_m2}",
     "mL/min/1,73 m²"},
    {{kLoinc, "8480-6", "Systolic blood pressure"}, "mm[Hg]", "mmHg"},
    {{kLoinc, "8462-4", "Diastolic blood pressure"}, "mm[Hg]", "mmHg"},
    {{kLoinc, "85354-9", "Blood pressure panel with all children optional"}, "", ""},
    {{kLoinc, "29463-7", "Body weight"}, "kg", "kg"},
    {{kLoinc, "39156-5", "Body mass index (BMI) [Ratio]"}, "kg/m2", "kg/m²"},
};

constexpr std::array<RoutineReason, 9> kRoutine = {{
    {{kIcpc2, "A97", "Pas de maladie"}, {kIcd10, "Z000", "Examen médical général"}, 3.0, ""},
    {{kIcpc2, "R74", "Infection aiguë des voies respiratoires supérieures"},
     {kIcd10, "J069", "Infection des voies respiratoires supérieures, sans précision"},
     2.5,
     "paracetamol"},
    {{kIcpc2, "L03", "Symptôme et plainte des lombes"},
     {kIcd10, "M545", "Lombalgie basse"},
     1.5,
     "ibuprofen"},
    {{kIcpc2, "R76", "Amygdalite aiguë"},
     {kIcd10, "J029", "Pharyngite aiguë, sans précision"},
     1.0,
     "amoxicillin"},
    {{kIcpc2, "R78", "Bronchite aiguë, bronchiolite"},
     {kIcd10, "J209", "Bronchite aiguë, sans précision"},
     0.8,
     "amoxicillin"},
    {{kIcpc2, "N01", "Mal de tête"}, {kIcd10, "R51", "Céphalée"}, 0.7, "paracetamol"},
    {{kIcpc2, "S88", "Dermatite de contact, allergique"},
     {kIcd10, "L239", "Dermite allergique de contact, cause non précisée"},
     0.5,
     ""},
    {{kIcpc2, "H71", "Otite moyenne aiguë"},
     {kIcd10, "H669", "Otite moyenne, sans précision"},
     0.8,
     "amoxicillin"},
    {{kIcpc2, "U71", "Cystite, autre infection urinaire"},
     {kIcd10, "N390", "Infection des voies urinaires, siège non précisé"},
     0.7,
     "amoxicillin"},
}};

constexpr Procedures kProcedures = {
    {kCcam, "DEQP003", "Électrocardiographie sur au moins 12 dérivations"},
    {kCcam, "JKHD001", "Prélèvement cervicovaginal"},
};

constexpr Vaccine kFluVaccine = {
    {kAtc, "J07BB02", "influenza, inactivated, split virus or surface antigen"},
    {kCvx, "158", "influenza, injectable, quadrivalent, contains preservative"},
    {kCip13, "3400930037720", "vaccin grippal"},
};

constexpr std::array<std::string_view, 30> kFemale = {
    "Marie",   "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Anne",   "Christine",
    "Monique", "Valérie",  "Sandrine", "Jeanne", "Céline",    "Camille",   "Léa",    "Manon",
    "Chloé",   "Emma",     "Inès",     "Louise", "Julie",     "Aurélie",   "Élodie", "Sophie",
    "Martine", "Nicole",   "Chantal",  "Jade",   "Alice",     "Lina"};
constexpr std::array<std::string_view, 30> kMale = {
    "Jean",      "Philippe", "Michel",   "Alain",   "Patrick",  "Nicolas", "Christophe", "Pierre",
    "Christian", "Éric",     "Frédéric", "Laurent", "Stéphane", "David",   "Julien",     "Thomas",
    "Lucas",     "Hugo",     "Louis",    "Gabriel", "Arthur",   "Jules",   "Maxime",     "Antoine",
    "Bernard",   "Daniel",   "Gérard",   "Léo",     "Raphaël",  "Noah"};
constexpr std::array<std::string_view, 40> kFamily = {
    "Martin",   "Bernard", "Thomas",   "Petit",     "Robert",   "Richard", "Durand",   "Dubois",
    "Moreau",   "Laurent", "Simon",    "Michel",    "Lefèvre",  "Leroy",   "Roux",     "David",
    "Bertrand", "Morel",   "Fournier", "Girard",    "Bonnet",   "Dupont",  "Lambert",  "Fontaine",
    "Rousseau", "Vincent", "Muller",   "Lefebvre",  "Faure",    "André",   "Mercier",  "Blanc",
    "Guérin",   "Boyer",   "Garnier",  "Chevalier", "François", "Legrand", "Gauthier", "Garcia"};
constexpr std::array<std::string_view, 20> kStreets = {
    "rue de la République", "rue Victor Hugo",    "avenue Jean Jaurès",      "rue Pasteur",
    "place de l'Église",    "rue du Moulin",      "chemin des Vignes",       "rue des Écoles",
    "allée des Tilleuls",   "boulevard Gambetta", "rue de la Gare",          "impasse des Lilas",
    "route de Paris",       "rue Jules Ferry",    "avenue de la Libération", "rue du Château",
    "rue des Jardins",      "quai de la Loire",   "rue Nationale",           "rue de la Paix"};
constexpr std::array<std::string_view, 16> kTowns = {
    "Saint-Martin",   "Villeneuve",  "Montigny",        "Beaumont",
    "Fontaine",       "Châteauneuf", "Saint-Pierre",    "Neuville",
    "Bellevue",       "Rochefort",   "Mont-Saint-Jean", "Belleville",
    "Clairefontaine", "Saint-Denis", "Villefranche",    "Bourg-la-Reine"};

}  // namespace

std::span<const PyramidBand, 10> FrenchPyramid() { return kPyramid; }
std::span<const ConditionInfo, kConditionCount> Conditions() { return kConditions; }
const ConditionInfo& InfoOf(Condition c) { return kConditions[static_cast<size_t>(c)]; }
std::span<const IndicatorInfo, kIndicatorCount> Indicators() { return kIndicators; }
const IndicatorInfo& InfoOf(Indicator i) { return kIndicators[static_cast<size_t>(i)]; }
const Labs& LabCodes() { return kLabs; }
std::span<const RoutineReason> RoutineReasons() { return kRoutine; }
const Procedures& ProcedureCodes() { return kProcedures; }
const Vaccine& FluVaccine() { return kFluVaccine; }
std::span<const std::string_view> FemaleGivenNames() { return kFemale; }
std::span<const std::string_view> MaleGivenNames() { return kMale; }
std::span<const std::string_view> FamilyNames() { return kFamily; }
std::span<const std::string_view> StreetNames() { return kStreets; }
std::span<const std::string_view> TownNames() { return kTowns; }

const Drug& FindDrug(std::string_view key) {
  for (const Drug& d : kDrugs) {
    if (d.key == key) return d;
  }
  P4DP_ASSERT(false && "unknown drug key");
  return kDrugs[0];
}

}  // namespace p4dp::synth
