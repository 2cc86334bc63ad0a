-- No event has the code: no candidate, so every row is 0 (and all rows are still there).
WITH candidates AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'icd10' AND replace(c.code, '.', '') = 'Z999'
  GROUP BY e.patient_id
),
ruled AS (
  SELECT c.patient_id,
         p.sex = 'female' AS r1,
         coalesce(extract(year FROM c.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 18, false) AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
-- Aggregates without GROUP BY return one row even on no input: count(*) is then 0.
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'women', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'rule 2', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
