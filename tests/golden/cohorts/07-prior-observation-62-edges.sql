-- As 06 with 62 days, checked day by day: the patient whose registrations leave 2019-12-31
-- out is observed from 2020-01-01 only, 61 days on 2020-03-01, one too few.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'icpc2' AND replace(c.code, '.', '') = 'A98'
),
-- The days index - 61 .. index of each candidate.
days AS (
  SELECT c.patient_id, c.index_date, c.index_date - CAST(g.k AS integer) AS day
  FROM candidates c CROSS JOIN generate_series(0, 61) AS g(k)
),
observed AS (
  SELECT d.patient_id, d.index_date
  FROM days d
  WHERE EXISTS (SELECT 1 FROM registrations r
                WHERE r.patient_id = d.patient_id AND r.start_date <= d.day
                  AND (r.end_date IS NULL OR r.end_date >= d.day))
  GROUP BY d.patient_id, d.index_date
  HAVING count(*) = 62
)
SELECT 'entry' AS name, count(DISTINCT patient_id) AS patients FROM observed;
