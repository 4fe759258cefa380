"""Operations: metrics, the request id, copying a deployment to PostgreSQL, backups."""
