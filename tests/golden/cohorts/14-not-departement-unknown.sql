-- "not" of a département list: a patient whose département is unknown is in no list, so
-- "not in the list" holds for them. In SQL, NULL NOT IN (...) is NULL, hence the explicit
-- IS NULL test. The patient known only by events has sex 'unknown', not NULL.
WITH candidates AS (
  SELECT DISTINCT e.patient_id
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE c.system = 'icpc2' AND replace(c.code, '.', '') = 'A98'
),
ruled AS (
  SELECT c.patient_id,
         (p.departement IS NULL OR p.departement NOT IN ('14', '75')) AS r1,
         p.sex <> 'female' AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'not Calvados or Paris', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'not women', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
