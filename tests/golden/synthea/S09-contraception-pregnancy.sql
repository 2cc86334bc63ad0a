-- RxNorm 749762 (Seasonique), 748856 (Yaz), 807283 (Mirena), 389221 (etonogestrel implant);
-- SNOMED CT 72892002 normal pregnancy.
WITH first_contraceptive AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'drug' AND c.system = 'rxnorm'
    AND c.code IN ('749762', '748856', '807283', '389221')
  GROUP BY e.patient_id
),
ruled AS (
  SELECT f.patient_id,
         p.sex = 'female'
         AND coalesce(extract(year FROM f.index_date) - p.birth_year
                        - CASE WHEN extract(month FROM f.index_date) < p.birth_month
                               THEN 1 ELSE 0 END BETWEEN 15 AND 45, false) AS r1,
         EXISTS (SELECT 1 FROM events e JOIN event_codes c ON c.event_id = e.event_id
                 WHERE e.patient_id = f.patient_id AND e.domain = 'condition'
                   AND c.system = 'snomed' AND c.code = '72892002'
                   AND e.date BETWEEN f.index_date AND f.index_date + 1095) AS r2
  FROM first_contraceptive f JOIN patients p ON p.patient_id = f.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM ruled
  UNION ALL SELECT 1, 'women aged 15 to 45', count(*) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'a pregnancy within three years', count(*) FILTER (WHERE r1 AND r2) FROM ruled
) attrition ORDER BY step;
