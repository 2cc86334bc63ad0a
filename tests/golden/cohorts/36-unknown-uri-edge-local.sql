-- The edge patient with the local code has sex 'other' and no address.
WITH candidates AS (
  SELECT DISTINCT e.patient_id
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE c.system = 'urn:p4dp:edge-local-codes' AND c.code = 'LOC-1'
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM candidates
  UNION ALL
  SELECT 1, 'sex other', count(*)
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id WHERE p.sex = 'other'
  UNION ALL
  SELECT 2, 'no departement', count(*)
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
  WHERE p.sex = 'other'
    AND (p.departement IS NULL OR p.departement NOT IN ('01', '2A', '75', '971'))
) attrition ORDER BY step;
