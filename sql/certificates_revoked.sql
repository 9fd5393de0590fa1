-- Certificates revoked or on their way: REVOKED is final; REVOKING is under review and
-- CANCLEREVOKING (spelled so by the API) is a cancellation of a revocation under review.
SELECT
    account,
    id,
    name,
    domain,
    sans,
    status,
    type,
    brand,
    expire_time,
    status = 'REVOKED' AS revocation_final
FROM certificates
WHERE status IN ('REVOKED', 'REVOKING', 'CANCLEREVOKING')
