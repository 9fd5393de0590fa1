CREATE OR REPLACE VIEW `my-project`.`scm`.`certificate_impact` AS
WITH deployed AS (
  SELECT
    account,
    certificate_id,
    resource_num,
    complete
  FROM (
    SELECT
      *
    FROM `my-project`.`scm`.`certificate_deployment_counts`
    WHERE
      NOT account IN (
        SELECT
          account
        FROM `my-project`.`scm`.`forgotten_accounts`
      )
  ) AS certificate_deployment_counts
  WHERE
    service = 'ALL'
), services AS (
  SELECT
    account,
    certificate_id,
    STRING_AGG(service, ', '
    ORDER BY
      service) AS deployed_services
  FROM (
    SELECT
      *
    FROM `my-project`.`scm`.`certificate_deployment_counts`
    WHERE
      NOT account IN (
        SELECT
          account
        FROM `my-project`.`scm`.`forgotten_accounts`
      )
  ) AS certificate_deployment_counts
  WHERE
    service <> 'ALL' AND (
      listed > 0 OR reported_resource_num > 0
    )
  GROUP BY
    account,
    certificate_id
), owners AS (
  SELECT
    account,
    certificate_id,
    MIN(value) AS owner
  FROM (
    SELECT
      *
    FROM `my-project`.`scm`.`certificate_tags`
    WHERE
      NOT account IN (
        SELECT
          account
        FROM `my-project`.`scm`.`forgotten_accounts`
      )
  ) AS certificate_tags
  WHERE
    key = (
      SELECT
        MIN(name)
      FROM `my-project`.`scm`.`expiry_policy`
      WHERE
        rule = 'owner_tag'
    )
  GROUP BY
    account,
    certificate_id
)
SELECT
  c.account,
  c.id,
  c.name,
  c.domain,
  c.sans,
  c.status,
  c.expire_time,
  CAST(FLOOR((
    UNIX_SECONDS(c.expire_time) - UNIX_SECONDS(CURRENT_TIMESTAMP())
  ) / 86400) AS INT64) AS days_left,
  d.resource_num AS deployed_resources,
  COALESCE(d.complete, FALSE) AS deployment_complete,
  s.deployed_services,
  o.owner,
  r.renewal_cert_id AS successor_id,
  successor.status AS successor_status,
  successor.expire_time AS successor_expire_time
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
) AS c
LEFT JOIN deployed AS d
  ON d.account = c.account AND d.certificate_id = c.id
LEFT JOIN services AS s
  ON s.account = c.account AND s.certificate_id = c.id
LEFT JOIN owners AS o
  ON o.account = c.account AND o.certificate_id = c.id
LEFT JOIN (
  SELECT
    *
  FROM `my-project`.`scm`.`certificate_renewals`
  WHERE
    NOT account IN (
      SELECT
        account
      FROM `my-project`.`scm`.`forgotten_accounts`
    )
) AS r
  ON r.account = c.account AND r.certificate_id = c.id
LEFT JOIN (
  SELECT
    *
  FROM `my-project`.`scm`.`certificates`
  WHERE
    NOT account IN (
      SELECT
        account
      FROM `my-project`.`scm`.`forgotten_accounts`
    )
) AS successor
  ON successor.account = c.account AND successor.id = r.renewal_cert_id
WHERE
  c.status IN (
    'ISSUED',
    'UPLOAD',
    'SUPPLEMENTCHECKING',
    'CANCELSUPPLEMENTING',
    'REVOKING',
    'CANCLEREVOKING'
  )
  OR c.status IN ('EXPIRED', 'UNPASSED')
