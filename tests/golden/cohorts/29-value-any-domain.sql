-- No domain: the HbA1c measurement (6.99) and the HbA1c observation without value of the
-- same day are two events; only the first has a value, so a value filter keeps one.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE c.system = 'icpc2' AND replace(c.code, '.', '') = 'A98'
),
same_day AS (
  SELECT c.patient_id, c.index_date,
         count(e.event_id) AS records,
         count(e.event_id) FILTER (WHERE e.value <= 7) AS at_most_7,
         count(e.event_id) FILTER (WHERE e.value >= 0) AS with_value
  FROM candidates c
  LEFT JOIN events e
    ON e.patient_id = c.patient_id AND e.date = c.index_date
   AND EXISTS (SELECT 1 FROM event_codes ec
               WHERE ec.event_id = e.event_id AND ec.system = 'loinc'
                 AND replace(ec.code, '.', '') = '4548-4')
  GROUP BY c.patient_id, c.index_date
),
ruled AS (
  SELECT patient_id, records >= 2 AS r1, at_most_7 >= 1 AS r2, NOT (with_value >= 2) AS r3
  FROM same_day
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'two HbA1c records that day', count(DISTINCT patient_id) FILTER (WHERE r1)
  FROM ruled
  UNION ALL
  SELECT 2, 'one of them at most 7', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2)
  FROM ruled
  UNION ALL
  SELECT 3, 'not two with a value',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2 AND r3) FROM ruled
) attrition ORDER BY step;
