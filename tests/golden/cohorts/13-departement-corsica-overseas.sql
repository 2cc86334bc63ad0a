-- No code set: the first condition of any code. Départements are INSEE codes as text
-- ('2A', '971'); a patient without one (no address, no Patient resource) is in no list.
WITH candidates AS (
  SELECT DISTINCT patient_id FROM events WHERE domain = 'condition'
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM candidates
  UNION ALL
  SELECT 1, 'Corsica, overseas, Calvados', count(*)
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
  WHERE p.departement IN ('2A', '2B', '971', '972', '973', '974', '976', '14')
  UNION ALL
  -- Corsica is inside the first list, so this row is simply the Corsicans.
  SELECT 2, 'Corsica', count(*)
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
  WHERE p.departement IN ('2A', '2B')
) attrition ORDER BY step;
