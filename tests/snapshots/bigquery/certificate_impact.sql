CREATE OR REPLACE VIEW `my-project`.`scm`.`certificate_impact` AS
WITH deployed AS (
  SELECT
    account,
    certificate_id,
    resource_num,
    complete
  FROM `my-project`.`scm`.`certificate_deployment_counts`
  WHERE
    service = 'ALL'
), services AS (
  SELECT
    account,
    certificate_id,
    STRING_AGG(service, ','
    ORDER BY
      service) AS deployed_services
  FROM `my-project`.`scm`.`certificate_deployment_counts`
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
  FROM `my-project`.`scm`.`certificate_tags`
  WHERE
    key = 'owner'
  GROUP BY
    account,
    certificate_id
)
SELECT
  c.account,
  c.id,
  c.name,
  c.domain,
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
FROM `my-project`.`scm`.`certificates` AS c
LEFT JOIN deployed AS d
  ON d.account = c.account AND d.certificate_id = c.id
LEFT JOIN services AS s
  ON s.account = c.account AND s.certificate_id = c.id
LEFT JOIN owners AS o
  ON o.account = c.account AND o.certificate_id = c.id
LEFT JOIN `my-project`.`scm`.`certificate_renewals` AS r
  ON r.account = c.account AND r.certificate_id = c.id
LEFT JOIN `my-project`.`scm`.`certificates` AS successor
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
