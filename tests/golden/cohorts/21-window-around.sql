-- A window around the index date, both ends included: index - 3 .. index + 3.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition'
    AND ((c.system = 'icpc2' AND replace(c.code, '.', '') = 'R80')
      OR (c.system = 'icd10' AND replace(c.code, '.', '') = 'J111'))
),
drugs AS (
  SELECT e.patient_id, e.date, c.code
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'drug' AND c.system = 'atc'
),
ruled AS (
  SELECT c.patient_id,
         EXISTS (SELECT 1 FROM drugs d
                 WHERE d.patient_id = c.patient_id AND replace(d.code, '.', '') = 'N02BE01'
                   AND d.date BETWEEN c.index_date - 3 AND c.index_date + 3) AS r1,
         NOT EXISTS (SELECT 1 FROM drugs d
                     WHERE d.patient_id = c.patient_id AND replace(d.code, '.', '') = 'J01CA04'
                       AND d.date BETWEEN c.index_date - 3 AND c.index_date + 3) AS r2
  FROM candidates c
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'paracetamol within 3 days', count(DISTINCT patient_id) FILTER (WHERE r1)
  FROM ruled
  UNION ALL
  SELECT 2, 'no amoxicillin within 3 days',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
