-- The example of the contract (../shared/spec/cohort.md), written by hand from its text.
WITH
-- Code sets: the events that carry at least one code of the set. Dots are ignored when
-- comparing codes; "descendants" takes every code that starts with the code.
t2d AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE (system = 'icd10' AND replace(code, '.', '') LIKE 'E11%')
     OR (system = 'icpc2' AND replace(code, '.', '') = 'T90')
),
metformin AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE system = 'atc' AND replace(code, '.', '') = 'A10BA02'
),
insulin AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE system = 'atc' AND replace(code, '.', '') LIKE 'A10A%'
),
hba1c AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE system = 'loinc' AND replace(code, '.', '') = '4548-4'
),
-- Observation periods: registrations that touch (end + 1 day = next start) or overlap are
-- one period (gaps and islands). An open registration runs to the end of time.
reg AS (
  SELECT patient_id, start_date, coalesce(end_date, DATE '9999-12-31') AS end_date
  FROM registrations WHERE start_date IS NOT NULL
),
flagged AS (
  SELECT reg.*,
         CASE WHEN start_date <= max(end_date) OVER (
                     PARTITION BY patient_id ORDER BY start_date, end_date
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1
              THEN 0 ELSE 1 END AS opens_period
  FROM reg
),
numbered AS (
  SELECT flagged.*,
         sum(opens_period) OVER (PARTITION BY patient_id ORDER BY start_date, end_date
                                 ROWS UNBOUNDED PRECEDING) AS period_no
  FROM flagged
),
periods AS (
  SELECT patient_id, min(start_date) AS start_date, max(end_date) AS end_date
  FROM numbered GROUP BY patient_id, period_no
),
-- Entry: the first type 2 diabetes condition over all the data, THEN the period (a first
-- diagnosis before 2020 makes no candidate), then 365 days observed up to and including
-- the index date: the days index - 364 .. index.
first_t2d AS (
  SELECT patient_id, min(date) AS index_date
  FROM events
  WHERE domain = 'condition' AND event_id IN (SELECT event_id FROM t2d)
  GROUP BY patient_id
),
candidates AS (
  SELECT f.patient_id, f.index_date
  FROM first_t2d f
  WHERE f.index_date BETWEEN DATE '2020-01-01' AND DATE '2023-12-31'
    AND EXISTS (SELECT 1 FROM periods p
                WHERE p.patient_id = f.patient_id
                  AND p.start_date <= f.index_date - 364 AND f.index_date <= p.end_date)
),
ruled AS (
  SELECT c.patient_id,
         -- Age in completed years from the birth year and month only.
         coalesce(extract(year FROM c.index_date) - pt.birth_year
                    - CASE WHEN extract(month FROM c.index_date) < pt.birth_month
                           THEN 1 ELSE 0 END
                  BETWEEN 40 AND 75, false) AS r1,
         (SELECT count(*) FROM events e
          WHERE e.patient_id = c.patient_id AND e.domain = 'drug'
            AND e.event_id IN (SELECT event_id FROM metformin)
            AND e.date BETWEEN c.index_date AND c.index_date + 90) >= 1 AS r2,
         -- at_most 0 alone: none in the window.
         (SELECT count(*) FROM events e
          WHERE e.patient_id = c.patient_id AND e.domain = 'drug'
            AND e.event_id IN (SELECT event_id FROM insulin)
            AND e.date BETWEEN c.index_date - 365 AND c.index_date - 1) = 0 AS r3,
         -- An event without a value fails the value filter (NULL > 7 is not true).
         (SELECT count(*) FROM events e
          WHERE e.patient_id = c.patient_id AND e.domain = 'measurement'
            AND e.event_id IN (SELECT event_id FROM hba1c)
            AND e.date BETWEEN c.index_date - 180 AND c.index_date
            AND e.value > 7.0) >= 1 AS r4,
         coalesce(pt.sex = 'female' OR pt.departement IN ('14', '27', '50', '61', '76'),
                  false) AS r5
  FROM candidates c JOIN patients pt ON pt.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'aged 40 to 75', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'metformin within 90 days',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
  UNION ALL
  SELECT 3, 'no insulin in the year before',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2 AND r3) FROM ruled
  UNION ALL
  SELECT 4, 'last HbA1c above 7 %',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2 AND r3 AND r4) FROM ruled
  UNION ALL
  SELECT 5, 'women, or anyone living in Normandy',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2 AND r3 AND r4 AND r5) FROM ruled
) attrition
ORDER BY step;
