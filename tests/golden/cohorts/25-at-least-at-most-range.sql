-- Both bounds given: 2 <= count <= 4.
WITH candidates AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition'
    AND ((c.system = 'icpc2' AND replace(c.code, '.', '') = 'T90')
      OR (c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'E11%'))
  GROUP BY e.patient_id
),
counted AS (
  SELECT c.patient_id,
         (SELECT count(*) FROM events e
          WHERE e.patient_id = c.patient_id AND e.domain = 'drug'
            AND e.date BETWEEN c.index_date AND c.index_date + 365
            AND e.event_id IN (SELECT event_id FROM event_codes
                               WHERE system = 'atc' AND replace(code, '.', '') = 'A10BA02'))
           AS n
  FROM candidates c
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM counted
  UNION ALL
  SELECT 1, '2 to 4 metformin within a year', count(*) FILTER (WHERE n BETWEEN 2 AND 4)
  FROM counted
) attrition ORDER BY step;
