-- The edge patient with A98 on 2021-01-10 has HbA1c 9.0 on day -31 (outside), 7.0 on day
-- -30, 6.99 on day 0, 7.01 on day +30 and 8.0 on day +31 (outside), plus a HbA1c
-- observation without value on day 0. >= 7 counts 7.0 and 7.01 (two); > 7 only 7.01 (one).
-- The patient known only by events has one HbA1c (8.5) the day after their A98: one only.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'icpc2' AND replace(c.code, '.', '') = 'A98'
),
hba1c AS (
  SELECT e.patient_id, e.date, e.value
  FROM events e
  WHERE e.domain = 'measurement'
    AND e.event_id IN (SELECT event_id FROM event_codes
                       WHERE system = 'loinc' AND replace(code, '.', '') = '4548-4')
),
counted AS (
  SELECT c.patient_id,
         count(h.value) FILTER (WHERE h.value >= 7) AS at_least_7,
         count(h.value) FILTER (WHERE h.value > 7) AS above_7
  FROM candidates c
  LEFT JOIN hba1c h ON h.patient_id = c.patient_id
                   AND h.date BETWEEN c.index_date - 30 AND c.index_date + 30
  GROUP BY c.patient_id, c.index_date
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM counted
  UNION ALL
  SELECT 1, 'two HbA1c >= 7 within 30 days',
         count(DISTINCT patient_id) FILTER (WHERE at_least_7 >= 2) FROM counted
  UNION ALL
  SELECT 2, 'not two HbA1c > 7 within 30 days',
         count(DISTINCT patient_id) FILTER (WHERE at_least_7 >= 2 AND NOT above_7 >= 2)
  FROM counted
) attrition ORDER BY step;
