-- An empty entry: any domain, any code, so every patient with at least one event (of any
-- kind, a death included) is a candidate; patients without any event are not, although
-- they are in the patients table. "age min 0" holds for every patient with a birth year,
-- so its negation keeps those without one (known only through their events).
WITH candidates AS (
  SELECT patient_id, min(date) AS index_date FROM events GROUP BY patient_id
),
ruled AS (
  SELECT c.patient_id,
         p.sex = 'other' OR p.sex = 'unknown' AS r1,
         p.birth_year IS NULL AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'rule 1', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'no birth year', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
