-- Entry without a domain; criteria without a code set (any code, and events without any code
-- too, such as a death) and, for the second, without a domain.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e
  WHERE e.date BETWEEN DATE '2024-01-01' AND DATE '2024-03-31'
    AND EXISTS (SELECT 1 FROM event_codes c
                WHERE c.event_id = e.event_id
                  AND ((c.system = 'atc' AND replace(c.code, '.', '') = 'A10BA02')
                    OR (c.system = 'cip13' AND replace(c.code, '.', '') = '3400930280973')))
),
ruled AS (
  SELECT c.patient_id,
         (SELECT count(*) FROM events e
          WHERE e.patient_id = c.patient_id AND e.domain = 'drug'
            AND e.date BETWEEN c.index_date - 90 AND c.index_date - 1) >= 2 AS r1,
         (SELECT count(*) FROM events e
          WHERE e.patient_id = c.patient_id AND e.date = c.index_date) >= 3 AS r2
  FROM candidates c
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'two prescriptions in the 90 days before',
         count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'three events of any kind that day',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
