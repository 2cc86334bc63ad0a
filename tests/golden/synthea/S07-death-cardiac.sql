-- Deaths (Patient.deceasedDateTime); SNOMED CT 38341003 hypertension, RxNorm 705129
-- nitroglycerin spray.
WITH deaths AS (
  SELECT patient_id, min(date) AS index_date FROM events WHERE domain = 'death'
  GROUP BY patient_id
),
ruled AS (
  SELECT d.patient_id,
         coalesce(extract(year FROM d.index_date) - p.birth_year
                    - CASE WHEN extract(month FROM d.index_date) < p.birth_month
                           THEN 1 ELSE 0 END >= 65, false) AS r1,
         EXISTS (SELECT 1 FROM events e JOIN event_codes c ON c.event_id = e.event_id
                 WHERE e.patient_id = d.patient_id
                   AND e.date BETWEEN d.index_date - 3650 AND d.index_date
                   AND ((c.system = 'snomed' AND c.code = '38341003')
                     OR (e.domain = 'drug' AND c.system = 'rxnorm' AND c.code = '705129')))
           AS r2
  FROM deaths d JOIN patients p ON p.patient_id = d.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, '65 or over', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'hypertension or nitroglycerin in ten years', count(*) FILTER (WHERE r1 AND r2)
  FROM ruled
) attrition ORDER BY step;
