-- Synthea's social-determinant findings (SNOMED CT 73595000 stress, 160903007 full-time
-- employment, 706893006 victim of intimate partner abuse). The criteria have no domain: any
-- domain.
WITH coded AS (
  SELECT e.patient_id, e.date, e.domain, c.code
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE c.system = 'snomed'
),
first_stress AS (
  SELECT patient_id, min(date) AS index_date
  FROM coded WHERE domain = 'condition' AND code = '73595000'
  GROUP BY patient_id
),
ruled AS (
  SELECT f.patient_id,
         EXISTS (SELECT 1 FROM coded x
                 WHERE x.patient_id = f.patient_id AND x.code = '160903007'
                   AND x.date BETWEEN f.index_date - 365 AND f.index_date) AS r1,
         NOT EXISTS (SELECT 1 FROM coded x
                     WHERE x.patient_id = f.patient_id AND x.code = '706893006') AS r2,
         p.sex = 'female' AS r3
  FROM first_stress f JOIN patients p ON p.patient_id = f.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'full-time employment in the year before', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'never a victim of intimate partner abuse', count(*) FILTER (WHERE r1 AND r2)
  FROM ruled
  UNION ALL SELECT 3, 'women', count(*) FILTER (WHERE r1 AND r2 AND r3) FROM ruled
) attrition ORDER BY step;
