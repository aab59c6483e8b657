//! Event sources (files, stdin, HTTP ingest) and formats (NDJSON, CSV/TSV, combined log, Zeek).
