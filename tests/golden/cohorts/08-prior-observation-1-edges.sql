-- One day of observation: being registered on the index date is enough (the index date is
-- day 1), so the registration that starts on the index date passes; a patient known only
-- by events (no Patient resource, no registration) does not.
WITH first_marker AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e
  WHERE EXISTS (SELECT 1 FROM event_codes c
                WHERE c.event_id = e.event_id AND c.system = 'icpc2'
                  AND replace(c.code, '.', '') = 'A98')
  GROUP BY e.patient_id
),
candidates AS (
  SELECT f.* FROM first_marker f
  WHERE EXISTS (SELECT 1 FROM registrations r
                WHERE r.patient_id = f.patient_id AND r.start_date <= f.index_date
                  AND (r.end_date IS NULL OR r.end_date >= f.index_date))
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM candidates
  UNION ALL
  SELECT 1, 'not women', count(*)
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
  WHERE p.sex <> 'female'
) attrition ORDER BY step;
