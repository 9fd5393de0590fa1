-- Certificate applications that failed validation.
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
FROM certificates
WHERE status = 'UNPASSED'
