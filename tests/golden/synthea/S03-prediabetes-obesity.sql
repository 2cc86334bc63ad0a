-- SNOMED CT 15777000 prediabetes, 162864005 "body mass index 30+ - obesity" (a finding,
-- mapped as a condition); LOINC 39156-5 BMI with its value.
WITH first_prediabetes AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'snomed' AND c.code = '15777000'
  GROUP BY e.patient_id
),
ruled AS (
  SELECT f.patient_id,
         EXISTS (SELECT 1 FROM events e JOIN event_codes c ON c.event_id = e.event_id
                 WHERE e.patient_id = f.patient_id AND e.domain = 'condition'
                   AND c.system = 'snomed' AND c.code = '162864005') AS r1,
         EXISTS (SELECT 1 FROM events e JOIN event_codes c ON c.event_id = e.event_id
                 WHERE e.patient_id = f.patient_id AND e.domain = 'measurement'
                   AND c.system = 'loinc' AND c.code = '39156-5' AND e.value >= 28) AS r2,
         coalesce(extract(year FROM f.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM f.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 40, false) AS r3
  FROM first_prediabetes f JOIN patients p ON p.patient_id = f.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'obesity recorded at any time', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'BMI of 28 or more at any time', count(*) FILTER (WHERE r1 AND r2) FROM ruled
  UNION ALL SELECT 3, '40 or over', count(*) FILTER (WHERE r1 AND r2 AND r3) FROM ruled
) attrition ORDER BY step;
