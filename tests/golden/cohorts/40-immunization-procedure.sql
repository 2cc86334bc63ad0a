-- Immunizations and procedures; 2024 is a leap year, so 2024-02-29 is a real last day.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'immunization' AND c.system = 'cvx' AND c.code = '158'
    AND e.date BETWEEN DATE '2023-09-01' AND DATE '2024-02-29'
),
ecg AS (
  SELECT e.patient_id, e.date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'procedure' AND c.system = 'ccam' AND replace(c.code, '.', '') = 'DEQP003'
),
ruled AS (
  SELECT c.patient_id,
         EXISTS (SELECT 1 FROM ecg
                 WHERE ecg.patient_id = c.patient_id
                   AND ecg.date BETWEEN c.index_date - 365 AND c.index_date + 365) AS r1,
         coalesce(extract(year FROM c.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 65, false) AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'ECG within a year', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, '65 or over', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
