-- Private CAs, their status and how long they have: every CA not deleted, expiring or expired,
-- soonest first in a report. A CA that expires takes every certificate it issued with it.
-- days_left: whole days until not_after (negative once past); expiring: within the threshold.
SELECT
    account,
    id,
    type,
    status,
    common_name,
    issuer_name,
    key_algorithm,
    not_before,
    not_after,
    CAST(FLOOR((EPOCH(not_after) - EPOCH(CURRENT_TIMESTAMP)) / 86400) AS BIGINT) AS days_left,
    not_after <= CURRENT_TIMESTAMP + INTERVAL :expiring_within_days DAY AS expiring,
    crl_enabled
FROM private_cas
WHERE status <> 'DELETED'
