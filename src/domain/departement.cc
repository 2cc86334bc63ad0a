#include "domain/departement.h"

#include <array>

namespace p4dp::domain {
namespace {

// INSEE region codes of the 2016 reform; the five overseas regions keep their one-département
// codes 01..06 (05 is unused since Saint-Pierre-et-Miquelon is not a région).
constexpr std::array<Region, 18> kRegions = {{
    {"01", "Guadeloupe"},
    {"02", "Martinique"},
    {"03", "Guyane"},
    {"04", "La Réunion"},
    {"06", "Mayotte"},
    {"11", "Île-de-France"},
    {"24", "Centre-Val de Loire"},
    {"27", "Bourgogne-Franche-Comté"},
    {"28", "Normandie"},
    {"32", "Hauts-de-France"},
    {"44", "Grand Est"},
    {"52", "Pays de la Loire"},
    {"53", "Bretagne"},
    {"75", "Nouvelle-Aquitaine"},
    {"76", "Occitanie"},
    {"84", "Auvergne-Rhône-Alpes"},
    {"93", "Provence-Alpes-Côte d'Azur"},
    {"94", "Corse"},
}};

// Populations are INSEE's "populations municipales" of the legal populations 2021, rounded to
// the nearest thousand (docs/sources.md). Mayotte's figure is its latest legal population,
// from the 2017 census, since its rolling census had not yet produced one for 2021.
constexpr std::array<Departement, 101> kDepartements = {{
    {"01", "Ain", "84", 658'000},
    {"02", "Aisne", "32", 529'000},
    {"03", "Allier", "84", 336'000},
    {"04", "Alpes-de-Haute-Provence", "93", 167'000},
    {"05", "Hautes-Alpes", "93", 141'000},
    {"06", "Alpes-Maritimes", "93", 1'104'000},
    {"07", "Ardèche", "84", 329'000},
    {"08", "Ardennes", "44", 269'000},
    {"09", "Ariège", "76", 155'000},
    {"10", "Aube", "44", 310'000},
    {"11", "Aude", "76", 378'000},
    {"12", "Aveyron", "76", 280'000},
    {"13", "Bouches-du-Rhône", "93", 2'070'000},
    {"14", "Calvados", "28", 700'000},
    {"15", "Cantal", "84", 144'000},
    {"16", "Charente", "75", 352'000},
    {"17", "Charente-Maritime", "75", 659'000},
    {"18", "Cher", "24", 299'000},
    {"19", "Corrèze", "75", 240'000},
    {"2A", "Corse-du-Sud", "94", 161'000},
    {"2B", "Haute-Corse", "94", 183'000},
    {"21", "Côte-d'Or", "27", 534'000},
    {"22", "Côtes-d'Armor", "53", 602'000},
    {"23", "Creuse", "75", 116'000},
    {"24", "Dordogne", "75", 413'000},
    {"25", "Doubs", "27", 545'000},
    {"26", "Drôme", "84", 521'000},
    {"27", "Eure", "28", 600'000},
    {"28", "Eure-et-Loir", "24", 432'000},
    {"29", "Finistère", "53", 922'000},
    {"30", "Gard", "76", 753'000},
    {"31", "Haute-Garonne", "76", 1'434'000},
    {"32", "Gers", "76", 192'000},
    {"33", "Gironde", "75", 1'657'000},
    {"34", "Hérault", "76", 1'196'000},
    {"35", "Ille-et-Vilaine", "53", 1'108'000},
    {"36", "Indre", "24", 217'000},
    {"37", "Indre-et-Loire", "24", 613'000},
    {"38", "Isère", "84", 1'280'000},
    {"39", "Jura", "27", 259'000},
    {"40", "Landes", "75", 421'000},
    {"41", "Loir-et-Cher", "24", 329'000},
    {"42", "Loire", "84", 768'000},
    {"43", "Haute-Loire", "84", 228'000},
    {"44", "Loire-Atlantique", "52", 1'459'000},
    {"45", "Loiret", "24", 684'000},
    {"46", "Lot", "76", 175'000},
    {"47", "Lot-et-Garonne", "75", 333'000},
    {"48", "Lozère", "76", 77'000},
    {"49", "Maine-et-Loire", "52", 823'000},
    {"50", "Manche", "28", 495'000},
    {"51", "Marne", "44", 564'000},
    {"52", "Haute-Marne", "44", 171'000},
    {"53", "Mayenne", "52", 308'000},
    {"54", "Meurthe-et-Moselle", "44", 733'000},
    {"55", "Meuse", "44", 182'000},
    {"56", "Morbihan", "53", 765'000},
    {"57", "Moselle", "44", 1'047'000},
    {"58", "Nièvre", "27", 200'000},
    {"59", "Nord", "32", 2'611'000},
    {"60", "Oise", "32", 830'000},
    {"61", "Orne", "28", 277'000},
    {"62", "Pas-de-Calais", "32", 1'462'000},
    {"63", "Puy-de-Dôme", "84", 664'000},
    {"64", "Pyrénées-Atlantiques", "75", 691'000},
    {"65", "Hautes-Pyrénées", "76", 230'000},
    {"66", "Pyrénées-Orientales", "76", 482'000},
    {"67", "Bas-Rhin", "44", 1'153'000},
    {"68", "Haut-Rhin", "44", 768'000},
    {"69", "Rhône", "84", 1'899'000},
    {"70", "Haute-Saône", "27", 234'000},
    {"71", "Saône-et-Loire", "27", 551'000},
    {"72", "Sarthe", "52", 565'000},
    {"73", "Savoie", "84", 441'000},
    {"74", "Haute-Savoie", "84", 840'000},
    {"75", "Paris", "11", 2'133'000},
    {"76", "Seine-Maritime", "28", 1'254'000},
    {"77", "Seine-et-Marne", "11", 1'435'000},
    {"78", "Yvelines", "11", 1'455'000},
    {"79", "Deux-Sèvres", "75", 376'000},
    {"80", "Somme", "32", 568'000},
    {"81", "Tarn", "76", 392'000},
    {"82", "Tarn-et-Garonne", "76", 263'000},
    {"83", "Var", "93", 1'097'000},
    {"84", "Vaucluse", "93", 564'000},
    {"85", "Vendée", "52", 695'000},
    {"86", "Vienne", "75", 440'000},
    {"87", "Haute-Vienne", "75", 372'000},
    {"88", "Vosges", "44", 362'000},
    {"89", "Yonne", "27", 333'000},
    {"90", "Territoire de Belfort", "27", 139'000},
    {"91", "Essonne", "11", 1'319'000},
    {"92", "Hauts-de-Seine", "11", 1'629'000},
    {"93", "Seine-Saint-Denis", "11", 1'661'000},
    {"94", "Val-de-Marne", "11", 1'416'000},
    {"95", "Val-d'Oise", "11", 1'257'000},
    {"971", "Guadeloupe", "01", 384'000},
    {"972", "Martinique", "02", 361'000},
    {"973", "Guyane", "03", 287'000},
    {"974", "La Réunion", "04", 871'000},
    {"976", "Mayotte", "06", 257'000},
}};

constexpr bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::span<const Departement> AllDepartements() { return kDepartements; }

std::span<const Region> AllRegions() { return kRegions; }

// Linear scans: the tables are small, and the département order ("19", "2A", "2B", "21") is
// not the byte order a binary search would need.
const Departement* FindDepartement(std::string_view code) {
  for (const Departement& departement : kDepartements) {
    if (departement.code == code) return &departement;
  }
  return nullptr;
}

const Region* FindRegion(std::string_view code) {
  for (const Region& region : kRegions) {
    if (region.code == code) return &region;
  }
  return nullptr;
}

// The returned view always points into the static table, never into `postal_code`.
std::optional<std::string_view> DepartementOfPostalCode(std::string_view postal_code) {
  if (postal_code.size() != 5) return std::nullopt;
  for (char c : postal_code) {
    if (!IsAsciiDigit(c)) return std::nullopt;
  }
  std::string_view code = postal_code.substr(0, 2);
  if (code == "97") {
    code = postal_code.substr(0, 3);
  } else if (code == "20") {
    // Corsica: 200xx-201xx are in Corse-du-Sud, 202xx-206xx in Haute-Corse.
    char third = postal_code[2];
    if (third <= '1') {
      code = "2A";
    } else if (third <= '6') {
      code = "2B";
    } else {
      return std::nullopt;
    }
  }
  const Departement* departement = FindDepartement(code);
  if (departement == nullptr) return std::nullopt;
  return departement->code;
}

}  // namespace p4dp::domain
