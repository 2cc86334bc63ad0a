-- The first viral sinusitis (SNOMED CT 444814009) of each patient.
WITH first_sinusitis AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'snomed' AND c.code = '444814009'
  GROUP BY e.patient_id
),
ruled AS (
  SELECT f.patient_id,
         EXISTS (SELECT 1 FROM events e JOIN event_codes c ON c.event_id = e.event_id
                 WHERE e.patient_id = f.patient_id AND e.domain = 'drug'
                   AND c.system = 'rxnorm' AND c.code = '562251'
                   AND e.date BETWEEN f.index_date AND f.index_date + 7) AS r1,
         p.sex = 'female' AS r2
  FROM first_sinusitis f JOIN patients p ON p.patient_id = f.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'antibiotic within a week', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL SELECT 2, 'women', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
