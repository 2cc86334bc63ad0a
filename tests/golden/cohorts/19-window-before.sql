-- A window entirely before the index date: day -365 to day -1, the index date excluded.
WITH first_t2d AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition'
    AND ((c.system = 'icpc2' AND replace(c.code, '.', '') = 'T90')
      OR (c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'E11%'))
  GROUP BY e.patient_id
),
candidates AS (
  SELECT * FROM first_t2d WHERE index_date BETWEEN DATE '2020-01-01' AND DATE '2024-12-31'
),
counted AS (
  SELECT c.patient_id,
         (SELECT count(*) FROM events e
          WHERE e.patient_id = c.patient_id AND e.domain = 'measurement'
            AND e.date BETWEEN c.index_date - 365 AND c.index_date - 1
            AND EXISTS (SELECT 1 FROM event_codes ec
                        WHERE ec.event_id = e.event_id AND ec.system = 'loinc'
                          AND replace(ec.code, '.', '') = '29463-7')) AS before
  FROM candidates c
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM counted
  UNION ALL SELECT 1, 'rule 1', count(*) FILTER (WHERE before >= 1) FROM counted
  UNION ALL SELECT 2, 'twice', count(*) FILTER (WHERE before >= 1 AND before >= 2) FROM counted
) attrition ORDER BY step;
