-- "exclude" removes codes from the set: J45.0 (written J450 in the set, dots ignored) is
-- out. An event is in the set if ANY of its codes is: the edge event coded J45.0 alone is
-- out, the edge event coded both J45.0 and J45.9 is in (by J45.9).
WITH asthma_codes AS (
  SELECT event_id FROM event_codes
  WHERE system = 'icd10' AND replace(code, '.', '') LIKE 'J45%'
    AND NOT (system = 'icd10' AND replace(code, '.', '') = 'J450')
),
candidates AS (
  SELECT patient_id, min(date) AS index_date
  FROM events
  WHERE domain = 'condition' AND event_id IN (SELECT event_id FROM asthma_codes)
  GROUP BY patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM candidates
  UNION ALL
  SELECT 1, 'rule 1', count(*)
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
  WHERE extract(year FROM c.index_date) - p.birth_year
          - CASE WHEN extract(month FROM c.index_date) < p.birth_month THEN 1 ELSE 0 END <= 40
) attrition ORDER BY step;
