-- The first hypertension, kept when it falls in 2019-2024 (most first diagnoses are older).
WITH first_htn AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e
  WHERE e.domain = 'condition'
    AND e.event_id IN (SELECT event_id FROM event_codes
                       WHERE (system = 'icpc2' AND replace(code, '.', '') = 'K86')
                          OR (system = 'icd10' AND replace(code, '.', '') = 'I10'))
  GROUP BY e.patient_id
),
ruled AS (
  SELECT f.patient_id,
         p.sex = 'female' OR coalesce(p.departement IN ('14', '27', '50', '61', '76'), false)
           AS r1,
         coalesce(extract(year FROM f.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM f.index_date) < p.birth_month
                           THEN 1 ELSE 0 END NOT BETWEEN 50 AND 79, false) AS r2
  FROM first_htn f JOIN patients p ON p.patient_id = f.patient_id
  WHERE f.index_date BETWEEN DATE '2019-01-01' AND DATE '2024-12-31'
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'women, or anyone living in Normandy', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'under 50 or 80 and over', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
