-- Dots are ignored in exact matches too: the set's "E11.9" takes the synthetic "E119" and the
-- edge "E11.9"; the exact "E11" takes neither (no descendants), only the edge patient's
-- bare "E11" (sent under http://hl7.org/fhir/sid/icd-10, another URI of ICD-10).
WITH first_e119 AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'icd10' AND replace(c.code, '.', '') = 'E119'
  GROUP BY e.patient_id
),
e11 AS (
  SELECT e.patient_id, e.date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'icd10' AND replace(c.code, '.', '') = 'E11'
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM first_e119
  UNION ALL
  SELECT 1, 'E11 itself within a year', count(*)
  FROM first_e119 f
  WHERE EXISTS (SELECT 1 FROM e11
                WHERE e11.patient_id = f.patient_id
                  AND e11.date BETWEEN f.index_date AND f.index_date + 365)
) attrition ORDER BY step;
