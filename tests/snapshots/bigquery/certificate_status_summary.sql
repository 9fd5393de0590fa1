CREATE OR REPLACE VIEW `my-project`.`scm`.`certificate_status_summary` AS
SELECT
  account,
  status,
  brand,
  type,
  COUNT(*) AS certificates
FROM `my-project`.`scm`.`certificates`
GROUP BY
  account,
  status,
  brand,
  type
