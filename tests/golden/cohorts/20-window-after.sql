-- Windows entirely after the index date: day 1 (the day after) to day 180, and 1 to 90.
WITH hypertension AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE (system = 'icpc2' AND replace(code, '.', '') = 'K86')
     OR (system = 'icd10' AND replace(code, '.', '') = 'I10')
),
antihypertensives AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE system = 'atc' AND replace(code, '.', '') IN ('C08CA01', 'C09AA05')
),
systolic AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE system = 'loinc' AND replace(code, '.', '') = '8480-6'
),
candidates AS (
  SELECT patient_id, min(date) AS index_date
  FROM events
  WHERE domain = 'condition' AND event_id IN (SELECT event_id FROM hypertension)
  GROUP BY patient_id
),
ruled AS (
  SELECT c.patient_id,
         EXISTS (SELECT 1 FROM events e
                 WHERE e.patient_id = c.patient_id AND e.domain = 'drug'
                   AND e.event_id IN (SELECT event_id FROM antihypertensives)
                   AND e.date BETWEEN c.index_date + 1 AND c.index_date + 180) AS r1,
         (SELECT count(*) FROM events e
          WHERE e.patient_id = c.patient_id AND e.domain = 'measurement'
            AND e.event_id IN (SELECT event_id FROM systolic)
            AND e.date BETWEEN c.index_date + 1 AND c.index_date + 90) >= 2 AS r2
  FROM candidates c
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'treated within 6 months', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'two blood pressures in 3 months', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
