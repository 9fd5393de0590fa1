CREATE OR REPLACE VIEW `my-project`.`scm`.`certificates_unpassed` AS
SELECT
  account,
  id,
  name,
  domain,
  sans,
  type,
  brand,
  domain_type,
  validity_period,
  description
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
WHERE
  status = 'UNPASSED'
