-- CVX 140 (seasonal influenza vaccine); encounters of SNOMED CT type 185349003 (check up)
-- or 410620009 (well child visit).
WITH flu AS (
  SELECT DISTINCT e.event_id, e.patient_id, e.date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'immunization' AND c.system = 'cvx' AND c.code = '140'
),
checkups AS (
  SELECT DISTINCT e.patient_id, e.date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'visit' AND c.system = 'snomed' AND c.code IN ('185349003', '410620009')
),
candidates AS (
  SELECT DISTINCT patient_id, date AS index_date
  FROM flu WHERE date BETWEEN DATE '2019-01-01' AND DATE '2022-12-31'
),
ruled AS (
  SELECT cd.patient_id,
         EXISTS (SELECT 1 FROM checkups v
                 WHERE v.patient_id = cd.patient_id AND v.date = cd.index_date) AS r1,
         coalesce(extract(year FROM cd.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM cd.index_date) < p.birth_month
                           THEN 1 ELSE 0 END <= 17, false) AS r2,
         (SELECT count(*) FROM flu f
          WHERE f.patient_id = cd.patient_id
            AND f.date BETWEEN cd.index_date - 1095 AND cd.index_date) >= 3 AS r3
  FROM candidates cd JOIN patients p ON p.patient_id = cd.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'at a check-up', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'children', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
  UNION ALL
  SELECT 3, 'three flu vaccines in three years',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2 AND r3) FROM ruled
) attrition ORDER BY step;
