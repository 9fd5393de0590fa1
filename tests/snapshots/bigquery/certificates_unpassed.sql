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
FROM `my-project`.`scm`.`certificates`
WHERE
  status = 'UNPASSED'
