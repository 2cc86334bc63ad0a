-- Entry only: patients with at least one type 2 diabetes condition. "occurrence" is omitted
-- (first by default), which cannot change who has a candidate when nothing filters it.
-- The edge patients add E11.9 (dotted) and E11 (sent with the other ICD-10 URI).
SELECT 'entry' AS name, count(DISTINCT e.patient_id) AS patients
FROM events e
WHERE e.domain = 'condition'
  AND EXISTS (SELECT 1 FROM event_codes c
              WHERE c.event_id = e.event_id
                AND ((c.system = 'icd10' AND replace(c.code, '.', '') LIKE 'E11%')
                  OR (c.system = 'icpc2' AND replace(c.code, '.', '') = 'T90')));
