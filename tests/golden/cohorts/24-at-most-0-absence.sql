-- "at_most": 0 alone means none (at_least becomes 0). Blood pressure: the panel (an
-- observation without value) and its two components (measurements), any domain.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND e.date BETWEEN DATE '2020-01-01' AND DATE '2023-12-31'
    AND ((c.system = 'icpc2' AND replace(c.code, '.', '') = 'K86')
      OR (c.system = 'icd10' AND replace(c.code, '.', '') = 'I10'))
),
bp AS (
  SELECT DISTINCT e.patient_id, e.date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE c.system = 'loinc' AND replace(c.code, '.', '') IN ('8480-6', '8462-4', '85354-9')
),
statin_users AS (
  SELECT DISTINCT e.patient_id
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'drug' AND c.system = 'atc' AND replace(c.code, '.', '') LIKE 'C10AA%'
),
ruled AS (
  SELECT c.patient_id,
         NOT EXISTS (SELECT 1 FROM bp
                     WHERE bp.patient_id = c.patient_id
                       AND bp.date BETWEEN c.index_date - 365 AND c.index_date) AS r1,
         c.patient_id NOT IN (SELECT patient_id FROM statin_users) AS r2
  FROM candidates c
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'no blood pressure in the year before', count(DISTINCT patient_id) FILTER (WHERE r1)
  FROM ruled
  UNION ALL
  SELECT 2, 'never a statin', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
