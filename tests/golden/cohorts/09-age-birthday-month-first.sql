-- Age = index year - birth year, minus 1 when the index month is before the birth month;
-- the day of birth is not stored. From tests/golden/edge.ndjson:
--   born 1960-06-15, first A98 2020-05-31: May < June, 59 (and 2020-06-01 is not the first);
--   born 1960-06-30, A98 2020-06-01: same month, 60 (a day-exact age would say 59);
--   born "1960" (month unknown), A98 2020-01-15: the difference of years, 60;
--   born "1960-12", A98 2020-11-30: November < December, 59.
WITH first_marker AS (
  SELECT e.patient_id, min(e.date) AS index_date
  FROM events e JOIN event_codes c ON c.event_id = e.event_id
  WHERE e.domain = 'condition' AND c.system = 'icpc2' AND replace(c.code, '.', '') = 'A98'
  GROUP BY e.patient_id
),
aged AS (
  SELECT f.patient_id,
         extract(year FROM f.index_date) - p.birth_year
           - CASE WHEN p.birth_month IS NOT NULL
                   AND extract(month FROM f.index_date) < p.birth_month
                  THEN 1 ELSE 0 END AS age
  FROM first_marker f JOIN patients p ON p.patient_id = f.patient_id
)
SELECT name, patients FROM (
  SELECT 0 AS step, 'entry' AS name, count(*) AS patients FROM aged
  UNION ALL
  -- A patient without a birth year has a NULL age and fails.
  SELECT 1, 'aged 60', count(*) FILTER (WHERE age BETWEEN 60 AND 60) FROM aged
) attrition ORDER BY step;
