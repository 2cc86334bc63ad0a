-- Every visit of 2024 is a candidate; a patient turning 65 during 2024 is 64 at the visits
-- before their birth month and 65 from it on.
WITH candidates AS (
  SELECT DISTINCT patient_id, date AS index_date
  FROM events
  WHERE domain = 'visit' AND date >= DATE '2024-01-01' AND date <= DATE '2024-12-31'
),
aged AS (
  SELECT c.patient_id, p.sex,
         extract(year FROM c.index_date) - p.birth_year
           - CASE WHEN extract(month FROM c.index_date) < p.birth_month THEN 1 ELSE 0 END
           AS age
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
),
ruled AS (
  SELECT patient_id,
         coalesce(age >= 65 AND age <= 65, false) AS r1,
         NOT coalesce(age >= 66, false) AS r2,
         sex = 'female' AS r3
  FROM aged
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL SELECT 1, '65 years old', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'not yet 66', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
  UNION ALL
  SELECT 3, 'women', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2 AND r3) FROM ruled
) attrition ORDER BY step;
