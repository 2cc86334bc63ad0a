-- "first" keeps the earliest hypertension over ALL the data, and only then does "between"
-- apply: a patient first diagnosed in 2015 and seen again in 2021 is not a candidate.
-- The first rule has no name: the engine calls it "rule 1".
WITH hypertension AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE (system = 'icpc2' AND replace(code, '.', '') = 'K86')
     OR (system = 'icd10' AND replace(code, '.', '') = 'I10')
),
first_event AS (
  SELECT patient_id, min(date) AS index_date
  FROM events
  WHERE domain = 'condition' AND event_id IN (SELECT event_id FROM hypertension)
  GROUP BY patient_id
),
candidates AS (
  SELECT * FROM first_event
  WHERE index_date >= DATE '2021-01-01' AND index_date <= DATE '2022-12-31'
),
ruled AS (
  SELECT c.patient_id,
         coalesce(extract(year FROM c.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 50, false) AS r1,
         p.sex = 'female' AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'rule 1', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'women', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
