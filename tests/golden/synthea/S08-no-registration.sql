-- Observation comes from practice registrations only (the p4dp registration extension of
-- Patient); Synthea's files have none, so no candidate is observed, not even for one day.
SELECT 'entry' AS name, count(DISTINCT e.patient_id) AS patients
FROM events e JOIN event_codes c ON c.event_id = e.event_id
WHERE e.domain = 'visit' AND c.code = 'AMB'
  AND c.system = 'http://terminology.hl7.org/CodeSystem/v3-ActCode'
  AND EXISTS (SELECT 1 FROM registrations r
              WHERE r.patient_id = e.patient_id AND r.start_date <= e.date
                AND (r.end_date IS NULL OR r.end_date >= e.date));
