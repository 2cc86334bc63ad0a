-- The death is an event of its own (domain 'death', no code, dated deceasedDateTime); the
-- entry needs no code set.
WITH deaths AS (
  SELECT patient_id, min(date) AS index_date FROM events WHERE domain = 'death'
  GROUP BY patient_id
),
ruled AS (
  SELECT d.patient_id,
         coalesce(extract(year FROM d.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM d.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 80, false) AS r1,
         EXISTS (SELECT 1 FROM events e JOIN event_codes c ON c.event_id = e.event_id
                 WHERE e.patient_id = d.patient_id AND e.domain = 'condition'
                   AND ((c.system = 'icpc2' AND replace(c.code, '.', '') = 'K90')
                     OR (c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'I63%'))
                   AND e.date BETWEEN d.index_date - 3650 AND d.index_date) AS r2
  FROM deaths d JOIN patients p ON p.patient_id = d.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, '80 or over', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'stroke in the ten years before', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
