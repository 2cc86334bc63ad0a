-- As 09 with every occurrence: the woman born 1960-06-15 is 59 on 2020-05-31 but 60 on
-- 2020-06-01, her second candidate, so she is in.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'icpc2' AND replace(c.code, '.', '') = 'A98'
),
ruled AS (
  SELECT c.patient_id,
         coalesce(extract(year FROM c.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                           THEN 1 ELSE 0 END = 60, false) AS r1,
         p.sex = 'female' AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL SELECT 1, 'aged 60', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'women', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
