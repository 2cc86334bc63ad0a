-- The synthetic population has no MedicationDispense (no 'dispensing' event) and nobody
-- aged 120: the entry has patients, the rules none.
WITH candidates AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'E11%'
  GROUP BY e.patient_id
),
ruled AS (
  SELECT c.patient_id,
         EXISTS (SELECT 1 FROM events d
                 WHERE d.patient_id = c.patient_id AND d.domain = 'dispensing')
         OR coalesce(extract(year FROM c.index_date) - p.birth_year
                       - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                              THEN 1 ELSE 0 END >= 120, false) AS r1,
         p.sex = 'female' AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'a dispensing ever', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'women', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
