-- Private certificates (issued by a private CA) still valid and expiring after now, within the
-- threshold, in certificates_expiring's style.
SELECT
    account,
    id,
    common_name,
    issuer_name,
    status,
    not_after,
    CAST(FLOOR((EPOCH(not_after) - EPOCH(CURRENT_TIMESTAMP)) / 86400) AS BIGINT) AS days_left
FROM private_certificates
WHERE status = 'ISSUED'
    AND not_after > CURRENT_TIMESTAMP
    AND not_after <= CURRENT_TIMESTAMP + INTERVAL :expiring_within_days DAY
