-- A patient without a birth year fails every age rule, so "not (age >= 18)" holds for them:
-- the NULL of the SQL comparison must count as false before the negation.
WITH hba1c AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE system = 'loinc' AND replace(code, '.', '') = '4548-4'
),
candidates AS (
  SELECT DISTINCT patient_id, date AS index_date
  FROM events
  WHERE domain = 'measurement' AND event_id IN (SELECT event_id FROM hba1c)
),
ruled AS (
  SELECT c.patient_id,
         NOT coalesce(extract(year FROM c.index_date) - p.birth_year
                        - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                               THEN 1 ELSE 0 END >= 18, false) AS r1,
         p.sex IN ('unknown', 'other') AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'not 18 or over', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'sex unknown or other', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2)
  FROM ruled
) attrition ORDER BY step;
