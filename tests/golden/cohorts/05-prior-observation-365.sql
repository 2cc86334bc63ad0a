-- No code set: any visit is a candidate. Observation is checked day by day here (another
-- method than the merged periods of other cohorts): the candidate needs each of the 365 days
-- index - 364 .. index to lie in some registration (an empty end date: still registered).
-- Registrations that touch therefore count as one unbroken period, naturally.
WITH candidates AS (
  SELECT DISTINCT patient_id, date AS index_date
  FROM events
  WHERE domain = 'visit' AND date BETWEEN DATE '2023-01-01' AND DATE '2023-01-31'
),
-- The days index - 364 .. index of each candidate.
days AS (
  SELECT c.patient_id, c.index_date, c.index_date - CAST(g.k AS integer) AS day
  FROM candidates c CROSS JOIN generate_series(0, 364) AS g(k)
),
observed AS (
  SELECT d.patient_id, d.index_date
  FROM days d
  WHERE EXISTS (SELECT 1 FROM registrations r
                WHERE r.patient_id = d.patient_id AND r.start_date <= d.day
                  AND (r.end_date IS NULL OR r.end_date >= d.day))
  GROUP BY d.patient_id, d.index_date
  HAVING count(*) = 365
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT o.patient_id) AS patients
  FROM observed o
  UNION ALL
  SELECT 1, 'men', count(DISTINCT o.patient_id)
  FROM observed o JOIN patients p ON p.patient_id = o.patient_id
  WHERE p.sex = 'male'
) attrition ORDER BY step;
