-- Combined bounds (gte and lt) on the same events, a one-day window [0, 0] (the index date
-- only), and an absence of low values in the following year: events without a value do not
-- count as low (they fail the filter).
WITH hba1c AS (
  SELECT e.patient_id, e.date, e.value
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'measurement' AND c.system = 'loinc' AND replace(c.code, '.', '') = '4548-4'
),
candidates AS (
  SELECT DISTINCT patient_id, date AS index_date
  FROM hba1c WHERE date BETWEEN DATE '2022-01-01' AND DATE '2022-12-31'
),
ruled AS (
  SELECT c.patient_id,
         EXISTS (SELECT 1 FROM hba1c h
                 WHERE h.patient_id = c.patient_id AND h.date = c.index_date
                   AND h.value >= 6.5 AND h.value < 8) AS r1,
         NOT EXISTS (SELECT 1 FROM hba1c h
                     WHERE h.patient_id = c.patient_id
                       AND h.date BETWEEN c.index_date + 1 AND c.index_date + 365
                       AND h.value <= 7) AS r2
  FROM candidates c
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, '6.5 <= HbA1c < 8 the same day', count(DISTINCT patient_id) FILTER (WHERE r1)
  FROM ruled
  UNION ALL
  SELECT 2, 'never <= 7 in the next year', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2)
  FROM ruled
) attrition ORDER BY step;
