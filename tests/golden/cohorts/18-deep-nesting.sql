-- Nesting four deep. The stroke criterion has no domain (any domain) and no window.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e
  WHERE e.domain = 'condition' AND e.date BETWEEN DATE '2022-01-01' AND DATE '2022-12-31'
    AND e.event_id IN (SELECT event_id FROM event_codes
                       WHERE (system = 'icpc2' AND replace(code, '.', '') = 'K86')
                          OR (system = 'icd10' AND replace(code, '.', '') = 'I10'))
),
facts AS (
  SELECT c.patient_id, p.sex, p.departement,
         extract(year FROM c.index_date) - p.birth_year
           - CASE WHEN extract(month FROM c.index_date) < p.birth_month THEN 1 ELSE 0 END
           AS age,
         EXISTS (SELECT 1 FROM events e JOIN event_codes ec ON ec.event_id = e.event_id
                 WHERE e.patient_id = c.patient_id AND e.domain = 'measurement'
                   AND ec.system = 'loinc' AND replace(ec.code, '.', '') = '4548-4'
                   AND e.date BETWEEN c.index_date - 365 AND c.index_date
                   AND e.value > 8) AS high_hba1c,
         EXISTS (SELECT 1 FROM events e JOIN event_codes ec ON ec.event_id = e.event_id
                 WHERE e.patient_id = c.patient_id
                   AND ((ec.system = 'icpc2' AND replace(ec.code, '.', '') = 'K90')
                     OR (ec.system = 'icd10' AND replace(ec.code, '.', '') LIKE 'I63%')))
           AS ever_stroke
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
),
ruled AS (
  SELECT patient_id,
         -- "not age <= 64": a patient without a birth year fails "age <= 64", so the negation
         -- holds for them.
         (sex = 'male' AND NOT coalesce(age <= 64, false))
         OR (sex = 'female'
             AND (coalesce(departement IN ('22', '29', '35', '56'), false) OR high_hba1c))
           AS r1,
         NOT (ever_stroke OR sex = 'other') AS r2
  FROM facts
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'men 65+, or women of Brittany or with HbA1c > 8',
         count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'no stroke, sex not other',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
