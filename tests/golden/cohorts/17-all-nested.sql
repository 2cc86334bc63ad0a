-- One rule made of three criteria joined by "all". The insulin criterion has no window: all
-- time, before and after the index date.
WITH first_t2d AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e
  WHERE e.domain = 'condition'
    AND e.event_id IN (SELECT event_id FROM event_codes
                       WHERE (system = 'icd10' AND replace(code, '.', '') LIKE 'E11%')
                          OR (system = 'icpc2' AND replace(code, '.', '') = 'T90'))
  GROUP BY e.patient_id
),
metformin AS (
  SELECT e.patient_id, e.date FROM events e
  WHERE e.domain = 'drug'
    AND e.event_id IN (SELECT event_id FROM event_codes
                       WHERE (system = 'atc' AND replace(code, '.', '') = 'A10BA02')
                          OR (system = 'cip13' AND replace(code, '.', '') = '3400930280973'))
),
insulin AS (
  SELECT e.patient_id, e.date FROM events e
  WHERE e.domain = 'drug'
    AND e.event_id IN (SELECT event_id FROM event_codes
                       WHERE system = 'atc' AND replace(code, '.', '') LIKE 'A10A%')
),
ruled AS (
  SELECT f.patient_id,
         coalesce(extract(year FROM f.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM f.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 50, false)
         AND EXISTS (SELECT 1 FROM metformin m
                     WHERE m.patient_id = f.patient_id
                       AND m.date BETWEEN f.index_date - 30 AND f.index_date + 365)
         AND NOT EXISTS (SELECT 1 FROM insulin i WHERE i.patient_id = f.patient_id) AS r1
  FROM first_t2d f JOIN patients p ON p.patient_id = f.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'over 50, metformin, no insulin', count(*) FILTER (WHERE r1) FROM ruled
) attrition ORDER BY step;
