"""Pure logic of ingestion: identity, normalisation, feed parsing. No I/O here."""
