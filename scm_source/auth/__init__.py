"""Authentication, decided once per account: the configured credentials choose one way
(credentials.py), IAM issues what some ways need (iam.py), and each request is signed
(signers.py, signing.py)."""
