-- The A98 code exists only in tests/golden/edge.ndjson. On 2020-03-01 (2020 is a leap year):
-- registrations 2019-01-01..2019-12-31 then 2020-01-01.. touch, so one period: 426 days;
-- 2019-01-01..2019-12-30 then 2020-01-01.. leave 2019-12-31 out: 61 days (just enough);
-- a registration starting on the index date gives 1 day; no registration at all, 0.
-- 2019-01-01..2020-12-31 holding 2019-03-01..2019-04-30, then 2021-01-01..: one period from
-- 2019 (the nested registration's end must not be taken for the end of the period, or the
-- A98 of 2021-03-01 would see 60 days only).
-- "At least 61 days up to and including the index date": a period from index - 60 or earlier.
WITH marker AS (
  SELECT DISTINCT event_id FROM event_codes
  WHERE system = 'icpc2' AND replace(code, '.', '') = 'A98'
),
reg AS (
  SELECT patient_id, start_date, coalesce(end_date, DATE '9999-12-31') AS end_date
  FROM registrations WHERE start_date IS NOT NULL
),
-- A registration opens a new period unless it starts at most one day after the latest end
-- of the registrations before it.
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
candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e
  WHERE e.event_id IN (SELECT event_id FROM marker)
    AND EXISTS (SELECT 1 FROM periods p
                WHERE p.patient_id = e.patient_id
                  AND p.start_date <= e.date - 60 AND e.date <= p.end_date)
),
ruled AS (
  SELECT c.patient_id,
         coalesce(extract(year FROM c.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 46, false) AS r1
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'born before 1975', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
) attrition ORDER BY step;
