-- An unknown system is kept as the URI written in the data, and matched as written.
WITH home AS (
  SELECT e.patient_id, e.date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'visit' AND c.code = 'HH'
    AND c.system = 'http://terminology.hl7.org/CodeSystem/v3-ActCode'
),
candidates AS (
  SELECT DISTINCT patient_id, date AS index_date
  FROM home WHERE date BETWEEN DATE '2024-01-01' AND DATE '2024-12-31'
),
ruled AS (
  SELECT c.patient_id,
         (SELECT count(*) FROM home h
          WHERE h.patient_id = c.patient_id
            AND h.date BETWEEN c.index_date - 365 AND c.index_date) >= 3 AS r1,
         coalesce(extract(year FROM c.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM c.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 90, false) AS r2
  FROM candidates c JOIN patients p ON p.patient_id = c.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'three home visits in the year', count(DISTINCT patient_id) FILTER (WHERE r1)
  FROM ruled
  UNION ALL
  SELECT 2, '90 or over', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
