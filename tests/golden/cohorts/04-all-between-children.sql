-- Every ILI diagnosis of the winter is a candidate ("all"); a patient counts in a row when
-- one of their candidates satisfies the rules up to that row.
WITH ili AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE (system = 'icpc2' AND replace(code, '.', '') = 'R80')
     OR (system = 'icd10' AND replace(code, '.', '') LIKE 'J11%')
),
candidates AS (
  SELECT DISTINCT patient_id, date AS index_date
  FROM events
  WHERE domain = 'condition' AND event_id IN (SELECT event_id FROM ili)
    AND date BETWEEN DATE '2022-10-01' AND DATE '2023-03-31'
),
ruled AS (
  SELECT c.patient_id,
         coalesce(extract(year FROM c.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                           THEN 1 ELSE 0 END <= 14, false) AS r1,
         p.sex = 'female' AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL SELECT 1, 'rule 1', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'girls', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
