-- Short prefixes: J4 takes J449, J459, J45.0, J45.9 (dots ignored); R9 takes R95 and R96;
-- the prefix is matched on the code only within its own system (icpc2 R9x, not ICD-10 R51).
WITH candidates AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'J4%'
  GROUP BY e.patient_id
),
ruled AS (
  SELECT cd.patient_id,
         EXISTS (SELECT 1 FROM events e JOIN event_codes c ON c.event_id = e.event_id
                 WHERE e.patient_id = cd.patient_id AND c.system = 'icpc2'
                   AND replace(c.code, '.', '') LIKE 'R9%') AS r1,
         (SELECT count(DISTINCT e.event_id)
          FROM events e JOIN event_codes c ON c.event_id = e.event_id
          WHERE e.patient_id = cd.patient_id AND e.domain = 'drug' AND c.system = 'atc'
            AND replace(c.code, '.', '') LIKE 'R03%'
            AND e.date BETWEEN cd.index_date AND cd.index_date + 730) >= 2 AS r2
  FROM candidates cd
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'an ICPC-2 R9x ever', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'two R03 drugs in two years', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
