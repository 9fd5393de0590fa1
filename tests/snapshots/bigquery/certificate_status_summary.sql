CREATE OR REPLACE VIEW `my-project`.`scm`.`certificate_status_summary` AS
SELECT
  account,
  status,
  brand,
  type,
  COUNT(*) AS certificates
FROM (
  SELECT
    *
  FROM `my-project`.`scm`.`certificates`
  WHERE
    NOT account IN (
      SELECT
        account
      FROM `my-project`.`scm`.`forgotten_accounts`
    )
) AS certificates
GROUP BY
  account,
  status,
  brand,
  type
