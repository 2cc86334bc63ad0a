-- SNOMED CT 43878008; RxNorm 834061 and 834102 (penicillin V potassium 250 and 500 mg).
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'snomed' AND c.code = '43878008'
),
ruled AS (
  SELECT cd.patient_id,
         EXISTS (SELECT 1 FROM events e JOIN event_codes c ON c.event_id = e.event_id
                 WHERE e.patient_id = cd.patient_id AND e.domain = 'drug'
                   AND c.system = 'rxnorm' AND c.code IN ('834061', '834102')
                   AND e.date = cd.index_date) AS r1,
         NOT coalesce(extract(year FROM cd.index_date) - p.birth_year
                        - CASE WHEN extract(month FROM cd.index_date) < p.birth_month
                               THEN 1 ELSE 0 END >= 18, false) AS r2
  FROM candidates cd JOIN patients p ON p.patient_id = cd.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'penicillin V the same day', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'minors', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
