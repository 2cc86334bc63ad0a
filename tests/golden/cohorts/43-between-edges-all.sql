-- As 42 with every occurrence: the 2020-06-01 A98 of the patient first seen on 2020-05-31
-- is now a candidate. Ages: born 1960-06 (60 on 2020-06-01), 1960-06 (60), 1960-12 (59 on
-- 2020-11-30), 1950-02 (70 on 2021-01-10).
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE c.system = 'icpc2' AND replace(c.code, '.', '') = 'A98'
    AND e.date BETWEEN DATE '2020-06-01' AND DATE '2021-01-10'
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM candidates
  UNION ALL
  SELECT 1, '60 or over', count(DISTINCT c.patient_id)
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
  WHERE extract(year FROM c.index_date) - p.birth_year
          - CASE WHEN extract(month FROM c.index_date) < p.birth_month THEN 1 ELSE 0 END >= 60
) attrition ORDER BY step;
