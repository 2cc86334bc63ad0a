-- Each prescription carries two codes of the set (ATC and CIP13) but is ONE event: events
-- are counted, not codes (count DISTINCT event_id). No domain: any domain.
WITH bronchodilators AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE (system = 'atc' AND replace(code, '.', '') LIKE 'R03A%')
     OR (system = 'cip13' AND replace(code, '.', '') IN ('3400930032817', '3400930080191'))
),
candidates AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition'
    AND ((c.system = 'icpc2' AND replace(c.code, '.', '') = 'R96')
      OR (c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'J45%'))
  GROUP BY e.patient_id
),
counted AS (
  SELECT c.patient_id, count(DISTINCT e.event_id) AS n
  FROM candidates c
  LEFT JOIN events e ON e.patient_id = c.patient_id
                    AND e.event_id IN (SELECT event_id FROM bronchodilators)
                    AND e.date BETWEEN c.index_date AND c.index_date + 365
  GROUP BY c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM counted
  UNION ALL
  SELECT 1, '3 bronchodilators within a year', count(*) FILTER (WHERE n >= 3) FROM counted
) attrition ORDER BY step;
