-- Row k counts patients having ONE candidate that satisfies rules 1..k together: a patient
-- with racecadotril at one consultation and a previous gastroenteritis before another only
-- is not in row 2; rule 3 contradicts rule 1, so no candidate meets both and the last row
-- is 0, although many patients have a consultation with and one without racecadotril.
-- (Counting per patient "some candidate meets rule 1, some meets rule 2..." would be wrong.)
WITH gastro AS (
  SELECT DISTINCT e.patient_id, e.date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition'
    AND ((c.system = 'icpc2' AND replace(c.code, '.', '') = 'D73')
      OR (c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'A09%'))
),
racecadotril AS (
  SELECT DISTINCT e.patient_id, e.date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'drug' AND c.system = 'atc' AND replace(c.code, '.', '') = 'A07XA04'
),
ruled AS (
  SELECT g.patient_id,
         EXISTS (SELECT 1 FROM racecadotril r
                 WHERE r.patient_id = g.patient_id AND r.date = g.date) AS r1,
         EXISTS (SELECT 1 FROM gastro earlier
                 WHERE earlier.patient_id = g.patient_id
                   AND earlier.date BETWEEN g.date - 730 AND g.date - 1) AS r2,
         NOT EXISTS (SELECT 1 FROM racecadotril r
                     WHERE r.patient_id = g.patient_id AND r.date = g.date) AS r3
  FROM gastro g
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(DISTINCT patient_id) AS patients FROM ruled
  UNION ALL
  SELECT 1, 'racecadotril the same day', count(DISTINCT patient_id) FILTER (WHERE r1)
  FROM ruled
  UNION ALL
  SELECT 2, 'another gastroenteritis within two years before',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2) FROM ruled
  UNION ALL
  SELECT 3, 'no racecadotril the same day',
         count(DISTINCT patient_id) FILTER (WHERE r1 AND r2 AND r3) FROM ruled
) attrition ORDER BY step;
