"""What every surface shares about attachments: the pieces of an inlining walk, the
download policy and its bounded fetch, the platform's object storage."""
