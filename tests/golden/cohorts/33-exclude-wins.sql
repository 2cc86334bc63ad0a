-- An excluded code is out even if another entry of the set names it: the set is every ICD-10
-- code starting with I except I10, here atrial fibrillation (I489) and stroke (I639).
WITH circulatory AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE system = 'icd10' AND replace(code, '.', '') LIKE 'I%'
    AND replace(code, '.', '') <> 'I10'
),
candidates AS (
  SELECT patient_id, min(date) AS index_date
  FROM events
  WHERE domain = 'condition' AND event_id IN (SELECT event_id FROM circulatory)
  GROUP BY patient_id
),
ruled AS (
  SELECT c.patient_id,
         EXISTS (SELECT 1 FROM events e JOIN event_codes ec ON ec.event_id = e.event_id
                 WHERE e.patient_id = c.patient_id AND e.domain = 'condition'
                   AND ec.system = 'icd10' AND replace(ec.code, '.', '') = 'I10'
                   AND e.date BETWEEN c.index_date - 3650 AND c.index_date) AS r1,
         coalesce(extract(year FROM c.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 70, false) AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'hypertension in the ten years before', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, '70 or over', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
