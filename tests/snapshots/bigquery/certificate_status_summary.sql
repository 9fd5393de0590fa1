CREATE OR REPLACE VIEW `my-project`.`scm`.`certificate_status_summary` AS
SELECT
  status,
  brand,
  type,
  COUNT(*) AS certificates
FROM `my-project`.`scm`.`certificates`
GROUP BY
  status,
  brand,
  type
