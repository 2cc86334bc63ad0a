-- A known URI means its alias: http://snomed.info/sct is snomed, .../icd-10-fr icd10,
-- .../icpc-2 icpc2, http://loinc.org loinc, and the HL7 OID 2.16.840.1.113883.6.73 atc.
-- The exported tables hold the aliases.
WITH candidates AS (
  SELECT DISTINCT e.patient_id, e.date AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'visit' AND c.system = 'snomed' AND c.code = '439708006'
    AND e.date BETWEEN DATE '2024-01-01' AND DATE '2024-12-31'
),
coded AS (
  SELECT e.patient_id, e.date, e.domain, e.value, c.system, replace(c.code, '.', '') AS code
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
),
ruled AS (
  SELECT cd.patient_id,
         EXISTS (SELECT 1 FROM coded x
                 WHERE x.patient_id = cd.patient_id AND x.domain = 'condition'
                   AND ((x.system = 'icd10' AND x.code = 'I10')
                     OR (x.system = 'icpc2' AND x.code = 'K86'))) AS r1,
         EXISTS (SELECT 1 FROM coded x
                 WHERE x.patient_id = cd.patient_id AND x.domain = 'measurement'
                   AND x.system = 'loinc' AND x.code = '8480-6' AND x.value > 160
                   AND x.date BETWEEN cd.index_date - 365 AND cd.index_date) AS r2,
         EXISTS (SELECT 1 FROM coded x
                 WHERE x.patient_id = cd.patient_id AND x.domain = 'drug'
                   AND x.system = 'atc' AND x.code = 'C08CA01'
                   AND x.date BETWEEN cd.index_date - 365 AND cd.index_date) AS r3
  FROM candidates cd
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'hypertension ever', count(DISTINCT patient_id) FILTER (WHERE r1) FROM ruled
  UNION ALL
  SELECT 2, 'systolic above 160 in the year', count(DISTINCT patient_id) FILTER (WHERE r1 AND r2)
  FROM ruled
  UNION ALL
  SELECT 3, 'amlodipine in the year',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2 AND r3) FROM ruled
) attrition ORDER BY step;
