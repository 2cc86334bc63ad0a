-- "between" includes both days. The patient with A98 on 2020-05-31 and 2020-06-01 is out:
-- the first is taken before the period filter, and it is the day before the period.
-- In: A98 on 2020-06-01 (first day), 2020-11-30, 2021-01-10 (last day).
WITH first_marker AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE c.system = 'icpc2' AND replace(c.code, '.', '') = 'A98'
  GROUP BY e.patient_id
)
SELECT 'entry' AS name, count(*) AS patients
FROM first_marker
WHERE index_date >= DATE '2020-06-01' AND index_date <= DATE '2021-01-10';
