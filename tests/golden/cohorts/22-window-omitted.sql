-- No window: all of the patient's data, before and after the index date.
WITH first_asthma AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition'
    AND ((c.system = 'icpc2' AND replace(c.code, '.', '') = 'R96')
      OR (c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'J45%'))
  GROUP BY e.patient_id
),
salbutamol AS (
  SELECT e.patient_id, count(DISTINCT e.event_id) AS n
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'drug' AND c.system = 'atc' AND replace(c.code, '.', '') = 'R03AC02'
  GROUP BY e.patient_id
),
copd AS (
  SELECT DISTINCT e.patient_id
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition'
    AND ((c.system = 'icpc2' AND replace(c.code, '.', '') = 'R95')
      OR (c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'J44%'))
),
ruled AS (
  SELECT f.patient_id,
         coalesce(s.n, 0) >= 5 AS r1,
         f.patient_id NOT IN (SELECT patient_id FROM copd) AS r2
  FROM first_asthma f LEFT JOIN salbutamol s ON s.patient_id = f.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, '5 salbutamol, any time', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'never COPD', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
