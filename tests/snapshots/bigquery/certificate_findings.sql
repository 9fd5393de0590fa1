CREATE OR REPLACE VIEW `my-project`.`scm`.`certificate_findings` AS
WITH policy AS (
  SELECT
    MAX(CASE WHEN rule = 'days' AND name = 'critical' THEN value END) AS critical_days,
    MAX(CASE WHEN rule = 'days' AND name = 'high' THEN value END) AS high_days,
    MAX(CASE WHEN rule = 'days' AND name = 'medium' THEN value END) AS medium_days,
    MAX(CASE WHEN rule = 'days' AND name = 'low' THEN value END) AS low_days,
    MAX(CASE WHEN rule = 'days' AND name = 'expired_recently' THEN value END) AS recent_days,
    MAX(CASE WHEN rule = 'hours' AND name = 'stale_after' THEN value END) AS stale_hours,
    MAX(CASE WHEN rule = 'severity' AND name = 'expired_deployed' THEN value END) AS expired_deployed,
    MAX(CASE WHEN rule = 'severity' AND name = 'expired_recently' THEN value END) AS expired_recently,
    MAX(CASE WHEN rule = 'severity' AND name = 'expired_unused' THEN value END) AS expired_unused,
    MAX(CASE WHEN rule = 'severity' AND name = 'private_ca_minimum' THEN value END) AS private_ca_minimum,
    MAX(CASE WHEN rule = 'severity' AND name = 'unpassed' THEN value END) AS unpassed,
    MAX(CASE WHEN rule = 'severity' AND name = 'sync_failed' THEN value END) AS sync_failed,
    MAX(CASE WHEN rule = 'severity' AND name = 'sync_stale' THEN value END) AS sync_stale,
    MAX(CASE WHEN rule = 'step' AND name = 'deployed_nowhere' THEN value END) AS nowhere_step,
    MAX(CASE WHEN rule = 'step' AND name = 'successor' THEN value END) AS successor_step
  FROM `my-project`.`scm`.`expiry_policy`
), thresholds AS (
  SELECT
    critical_days AS days,
    4 AS severity_rank
  FROM policy
  UNION ALL
  SELECT
    high_days,
    3
  FROM policy
  UNION ALL
  SELECT
    medium_days,
    2
  FROM policy
  UNION ALL
  SELECT
    low_days,
    1
  FROM policy
), account_steps AS (
  SELECT
    name AS account,
    SUM(value) AS step
  FROM `my-project`.`scm`.`expiry_policy`
  WHERE
    rule = 'account_step'
  GROUP BY
    name
), tag_steps AS (
  SELECT
    t.account,
    t.certificate_id,
    SUM(p.value) AS step
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
  ) AS t
  INNER JOIN `my-project`.`scm`.`expiry_policy` AS p
    ON p.rule = 'tag_step' AND p.name = t.key || '=' || t.value
  GROUP BY
    t.account,
    t.certificate_id
), syncs AS (
  SELECT
    s.account,
    STRING_AGG(
      CASE WHEN s.last_outcome = 'failed' THEN s.resource END, ', '
      ORDER BY
        s.resource
    ) AS failed_lists,
    MIN(CASE WHEN s.last_outcome = 'failed' THEN s.last_error END) AS error,
    MIN(CASE WHEN s.last_outcome <> 'skipped' THEN s.last_loaded_at END) AS loaded_at,
    MAX(CASE WHEN s.last_outcome <> 'skipped' THEN 1 ELSE 0 END) AS was_read
  FROM `my-project`.`scm`.`sync_status` AS s
  GROUP BY
    s.account
), sync_states AS (
  SELECT
    s.account,
    s.failed_lists,
    s.error,
    s.loaded_at,
    CAST(FLOOR((
      UNIX_SECONDS(CURRENT_TIMESTAMP()) - UNIX_SECONDS(s.loaded_at)
    ) / 3600) AS INT64) AS hours_old,
    NOT s.failed_lists IS NULL AS failed,
    s.was_read = 1
    AND s.failed_lists IS NULL
    AND (
      s.loaded_at IS NULL
      OR UNIX_SECONDS(CURRENT_TIMESTAMP()) - UNIX_SECONDS(s.loaded_at) > p.stale_hours * 3600
    ) AS stale
  FROM syncs AS s
  CROSS JOIN policy AS p
), subjects AS (
  SELECT
    'certificate' AS kind,
    account,
    id,
    status,
    expire_time AS ends,
    CAST(NULL AS STRING) AS common_name,
    CAST(NULL AS STRING) AS type
  FROM `my-project`.`scm`.`certificate_impact`
  UNION ALL
  SELECT
    'private_ca' AS kind,
    account,
    id,
    status,
    not_after AS ends,
    common_name,
    type
  FROM (
    SELECT
      *
    FROM `my-project`.`scm`.`private_cas`
    WHERE
      NOT account IN (
        SELECT
          account
        FROM `my-project`.`scm`.`forgotten_accounts`
      )
  ) AS private_cas
  WHERE
    status IN ('ACTIVED', 'EXPIRED')
  UNION ALL
  SELECT
    'private_certificate' AS kind,
    account,
    id,
    status,
    not_after AS ends,
    common_name,
    CAST(NULL AS STRING) AS type
  FROM (
    SELECT
      *
    FROM `my-project`.`scm`.`private_certificates`
    WHERE
      NOT account IN (
        SELECT
          account
        FROM `my-project`.`scm`.`forgotten_accounts`
      )
  ) AS private_certificates
  WHERE
    status IN ('ISSUED', 'EXPIRED')
), lifetimes AS (
  SELECT
    s.*,
    CAST(FLOOR((
      UNIX_SECONDS(s.ends) - UNIX_SECONDS(CURRENT_TIMESTAMP())
    ) / 86400) AS INT64) AS days_left,
    CAST(FLOOR((
      UNIX_SECONDS(CURRENT_TIMESTAMP()) - UNIX_SECONDS(s.ends)
    ) / 86400) AS INT64) AS days_ago,
    COALESCE(s.status = 'EXPIRED' OR s.ends <= CURRENT_TIMESTAMP(), FALSE) AS expired
  FROM subjects AS s
), timed AS (
  SELECT
    l.*,
    (
      SELECT
        MIN(h.days)
      FROM thresholds AS h
      WHERE
        l.days_left <= h.days
    ) AS crossed,
    (
      SELECT
        MAX(h.severity_rank)
      FROM thresholds AS h
      WHERE
        l.days_left <= h.days
    ) AS crossed_rank,
    CASE
      WHEN NOT l.expired AND l.days_left = 0
      THEN 'expires today'
      WHEN NOT l.expired AND l.days_left = 1
      THEN 'expires in 1 day'
      WHEN NOT l.expired
      THEN 'expires in ' || CAST(l.days_left AS STRING) || ' days'
      WHEN l.days_ago IS NULL OR l.days_ago <= 0
      THEN 'expired today'
      WHEN l.days_ago = 1
      THEN 'expired 1 day ago'
      ELSE 'expired ' || CAST(l.days_ago AS STRING) || ' days ago'
    END AS when_words
  FROM lifetimes AS l
), certificates_graded AS (
  SELECT
    i.*,
    i.status = 'UNPASSED' AS unpassed,
    l.expired,
    l.days_ago,
    l.crossed,
    l.crossed_rank,
    l.when_words,
    COALESCE(
      i.successor_status IN (
        'ISSUED',
        'UPLOAD',
        'SUPPLEMENTCHECKING',
        'CANCELSUPPLEMENTING',
        'REVOKING',
        'CANCLEREVOKING'
      )
      AND i.successor_expire_time > i.expire_time,
      FALSE
    ) AS renewed,
    COALESCE(i.deployed_resources = 0 AND i.deployment_complete, FALSE) AS nowhere,
    COALESCE(i.deployed_resources > 0 OR NOT i.deployed_services IS NULL, FALSE) AS deployed,
    COALESCE(a.step, 0) + COALESCE(t.step, 0) AS override_step
  FROM `my-project`.`scm`.`certificate_impact` AS i
  INNER JOIN timed AS l
    ON l.kind = 'certificate' AND l.account = i.account AND l.id = i.id
  LEFT JOIN account_steps AS a
    ON a.account = i.account
  LEFT JOIN tag_steps AS t
    ON t.account = i.account AND t.certificate_id = i.id
), certificates_ranked AS (
  SELECT
    c.*,
    CASE
      WHEN c.deployed
      THEN 'deployed on ' || COALESCE(c.deployed_services, 'unlisted services') || ' (' || COALESCE(CAST(c.deployed_resources AS STRING), 'an unknown number of') || CASE WHEN c.deployed_resources = 1 THEN ' resource)' ELSE ' resources)' END
      WHEN c.nowhere
      THEN 'deployed nowhere'
      ELSE 'where it is deployed is unknown'
    END AS deployed_words,
    CASE WHEN NOT c.expired AND NOT c.unpassed THEN c.crossed END AS threshold,
    CASE
      WHEN c.unpassed
      THEN 'unpassed'
      WHEN NOT c.expired
      THEN 'expiring'
      WHEN c.deployed
      THEN 'expired_deployed'
      WHEN c.nowhere
      THEN 'expired_unused'
      ELSE 'expired'
    END AS reason_code,
    CASE
      WHEN c.unpassed
      THEN p.unpassed
      WHEN NOT c.expired
      THEN c.crossed_rank + CASE WHEN c.nowhere THEN p.nowhere_step ELSE 0 END + CASE WHEN c.renewed THEN p.successor_step ELSE 0 END
      WHEN c.deployed
      THEN p.expired_deployed
      WHEN c.nowhere
      THEN p.expired_unused
      WHEN COALESCE(c.days_ago, 0) <= p.recent_days
      THEN p.expired_recently
      ELSE p.expired_unused
    END + c.override_step AS raw_rank
  FROM certificates_graded AS c
  CROSS JOIN policy AS p
), certificate_rows AS (
  SELECT
    'certificate' AS kind,
    c.account,
    c.id AS certificate_id,
    c.name,
    c.domain,
    c.sans,
    c.status,
    c.expire_time,
    c.days_left,
    c.threshold,
    c.reason_code,
    c.raw_rank,
    CASE
      WHEN c.unpassed
      THEN 'failed domain validation'
      ELSE c.when_words || ', ' || c.deployed_words || CASE
        WHEN c.expired AND c.status <> 'EXPIRED'
        THEN ', its status still ' || c.status
        ELSE ''
      END || CASE WHEN c.renewed THEN ', renewed by ' || c.successor_id ELSE '' END
    END AS reason,
    CASE
      WHEN c.unpassed
      THEN 'complete the domain validation, or cancel the application'
      WHEN c.renewed AND c.nowhere
      THEN 'let it lapse: renewed by ' || c.successor_id || ', and deployed nowhere'
      WHEN c.renewed
      THEN 'deploy successor ' || c.successor_id || COALESCE(' to ' || c.deployed_services, '') || CASE WHEN c.expired THEN ' now' ELSE '' END
      WHEN NOT c.expired AND c.nowhere
      THEN 'renew only if still needed: deployed nowhere'
      WHEN NOT c.expired
      THEN 'renew' || COALESCE(', then deploy to ' || c.deployed_services, '')
      WHEN c.deployed
      THEN 'replace now on ' || COALESCE(c.deployed_services, 'its resources') || ': renew or buy, then deploy'
      WHEN c.nowhere
      THEN 'delete: deployed nowhere, expired ' || CASE
        WHEN COALESCE(c.days_ago, 0) = 1
        THEN '1 day'
        ELSE CAST(COALESCE(c.days_ago, 0) AS STRING) || ' days'
      END || ' ago'
      ELSE 'replace it where it is still used, else delete it'
    END AS action,
    c.deployed_resources,
    c.deployed_services,
    c.owner,
    CASE WHEN c.renewed THEN c.successor_id END AS successor_id,
    CAST(NULL AS STRING) AS error
  FROM certificates_ranked AS c
  WHERE
    NOT c.raw_rank IS NULL
), private_ranked AS (
  SELECT
    t.*,
    CASE WHEN NOT t.expired THEN t.crossed END AS threshold,
    CASE
      WHEN NOT t.expired
      THEN t.crossed_rank
      WHEN t.kind = 'private_ca'
      THEN p.expired_deployed
      WHEN COALESCE(t.days_ago, 0) <= p.recent_days
      THEN p.expired_recently
      ELSE p.expired_unused
    END AS base_rank,
    COALESCE(a.step, 0) AS override_step,
    p.private_ca_minimum
  FROM timed AS t
  CROSS JOIN policy AS p
  LEFT JOIN account_steps AS a
    ON a.account = t.account
  WHERE
    t.kind <> 'certificate'
), private_rows AS (
  SELECT
    r.kind,
    r.account,
    r.id AS certificate_id,
    r.common_name AS name,
    r.common_name AS domain,
    CAST(NULL AS STRING) AS sans,
    r.status,
    r.ends AS expire_time,
    r.days_left,
    r.threshold,
    CASE WHEN r.expired THEN 'expired' ELSE 'expiring' END AS reason_code,
    CASE
      WHEN r.kind = 'private_ca'
      THEN GREATEST(r.base_rank, r.private_ca_minimum)
      ELSE r.base_rank
    END + r.override_step AS raw_rank,
    CASE
      WHEN r.kind = 'private_ca'
      THEN 'private ' || LOWER(r.type) || ' CA '
      ELSE 'private certificate '
    END || r.when_words AS reason,
    CASE
      WHEN r.kind = 'private_ca' AND NOT r.expired
      THEN 'renew the CA: every certificate it issued expires with it'
      WHEN r.kind = 'private_ca'
      THEN 'replace the CA and reissue its certificates'
      WHEN NOT r.expired
      THEN 'renew'
      ELSE 'replace it where it is still used, else revoke it'
    END AS action,
    CAST(NULL AS INT64) AS deployed_resources,
    CAST(NULL AS STRING) AS deployed_services,
    CAST(NULL AS STRING) AS owner,
    CAST(NULL AS STRING) AS successor_id,
    CAST(NULL AS STRING) AS error
  FROM private_ranked AS r
  WHERE
    NOT r.base_rank IS NULL
), sync_rows AS (
  SELECT
    'sync' AS kind,
    s.account,
    CAST(NULL AS STRING) AS certificate_id,
    CAST(NULL AS STRING) AS name,
    CAST(NULL AS STRING) AS domain,
    CAST(NULL AS STRING) AS sans,
    CASE WHEN s.failed THEN 'failed' ELSE 'stale' END AS status,
    CAST(NULL AS TIMESTAMP) AS expire_time,
    CAST(NULL AS INT64) AS days_left,
    CAST(NULL AS INT64) AS threshold,
    CASE WHEN s.failed THEN 'sync_failed' ELSE 'sync_stale' END AS reason_code,
    CASE WHEN s.failed THEN p.sync_failed ELSE p.sync_stale END + COALESCE(a.step, 0) AS raw_rank,
    CASE
      WHEN s.failed
      THEN 'the last sync of ' || s.failed_lists || ' failed: ' || COALESCE(s.error, '')
      WHEN s.loaded_at IS NULL
      THEN 'never loaded in full'
      ELSE 'not loaded in full for ' || CAST(s.hours_old AS STRING) || ' hours'
    END AS reason,
    CASE
      WHEN s.failed
      THEN 'fix what the error says, then run scm-export again; until then its rows are stale'
      ELSE 'run scm-export: is its schedule still running?'
    END AS action,
    CAST(NULL AS INT64) AS deployed_resources,
    CAST(NULL AS STRING) AS deployed_services,
    CAST(NULL AS STRING) AS owner,
    CAST(NULL AS STRING) AS successor_id,
    s.error
  FROM sync_states AS s
  CROSS JOIN policy AS p
  LEFT JOIN account_steps AS a
    ON a.account = s.account
  WHERE
    s.failed OR s.stale
), found AS (
  SELECT
    *
  FROM certificate_rows
  UNION ALL
  SELECT
    *
  FROM private_rows
  UNION ALL
  SELECT
    *
  FROM sync_rows
), graded AS (
  SELECT
    f.*,
    GREATEST(1, LEAST(4, f.raw_rank)) AS severity_rank,
    COALESCE(s.failed OR s.stale, FALSE) AS data_stale,
    s.loaded_at
  FROM found AS f
  LEFT JOIN sync_states AS s
    ON s.account = f.account
)
SELECT
  ROW_NUMBER() OVER (
    ORDER BY g.severity_rank DESC, CASE WHEN g.kind = 'sync' THEN 0 WHEN g.days_left < 0 THEN 1 ELSE 2 END NULLS LAST, ABS(g.days_left) NULLS LAST, g.account NULLS LAST, g.certificate_id NULLS LAST
  ) AS priority,
  g.account || '/' || COALESCE(g.certificate_id, 'sync') || '/' || g.reason_code || COALESCE('/' || CAST(g.threshold AS STRING), '') || CASE
    WHEN g.kind = 'sync'
    THEN '/' || COALESCE(CAST(CAST(g.loaded_at AS DATE) AS STRING), 'never')
    ELSE ''
  END AS finding_id,
  CASE g.severity_rank
    WHEN 4
    THEN 'critical'
    WHEN 3
    THEN 'high'
    WHEN 2
    THEN 'medium'
    ELSE 'low'
  END AS severity,
  g.severity_rank,
  g.kind,
  g.account,
  g.certificate_id,
  g.name,
  g.domain,
  g.sans,
  g.status,
  g.expire_time,
  g.days_left,
  g.threshold,
  g.reason,
  g.action,
  g.deployed_resources,
  g.deployed_services,
  g.owner,
  g.successor_id,
  g.data_stale,
  g.error
FROM graded AS g
