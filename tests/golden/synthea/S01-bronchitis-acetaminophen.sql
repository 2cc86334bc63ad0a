-- Every acute bronchitis (SNOMED CT 10509002). RxNorm 313782 (acetaminophen 325 mg tablet)
-- and 1043400 (an acetaminophen syrup); 562251 amoxicillin-clavulanate, named by its URI.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'snomed' AND c.code = '10509002'
),
drugs AS (
  SELECT e.patient_id, e.date, c.code
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'drug' AND c.system = 'rxnorm'
),
ruled AS (
  SELECT cd.patient_id,
         EXISTS (SELECT 1 FROM drugs d
                 WHERE d.patient_id = cd.patient_id AND d.code IN ('313782', '1043400')
                   AND d.date = cd.index_date) AS r1,
         NOT EXISTS (SELECT 1 FROM drugs d
                     WHERE d.patient_id = cd.patient_id AND d.code = '562251'
                       AND d.date BETWEEN cd.index_date AND cd.index_date + 30) AS r2,
         coalesce(extract(year FROM cd.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM cd.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 18, false) AS r3
  FROM candidates cd JOIN patients p ON p.patient_id = cd.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'acetaminophen the same day', count(DISTINCT patient_id) FILTER (WHERE r1)
  FROM ruled
  UNION ALL
  SELECT 2, 'no amoxicillin-clavulanate within 30 days',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
  UNION ALL
  SELECT 3, 'adults', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2 AND r3) FROM ruled
) attrition ORDER BY step;
