-- "at_most": 3 alone: 0, 1, 2 or 3 events (at_least defaults to 0 when at_most is given).
-- "at_least": 0 alone: any number, even none: the rule always holds.
WITH candidates AS (
  SELECT DISTINCT patient_id FROM events WHERE domain = 'visit'
),
amoxicillin AS (
  SELECT e.patient_id, count(*) AS n
  FROM events e
  WHERE e.domain = 'drug'
    AND EXISTS (SELECT 1 FROM event_codes c
                WHERE c.event_id = e.event_id AND c.system = 'atc'
                  AND replace(c.code, '.', '') = 'J01CA04')
  GROUP BY e.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM candidates
  UNION ALL
  SELECT 1, 'at most 3 amoxicillin', count(*)
  FROM candidates c LEFT JOIN amoxicillin a ON a.patient_id = c.patient_id
  WHERE coalesce(a.n, 0) <= 3
  UNION ALL
  SELECT 2, 'at least 0 paracetamol', count(*)
  FROM candidates c LEFT JOIN amoxicillin a ON a.patient_id = c.patient_id
  WHERE coalesce(a.n, 0) <= 3
) attrition ORDER BY step;
