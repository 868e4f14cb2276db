"""newsflow-ingest: takes articles in (feeds, publisher push), keeps them in MongoDB, publishes every change."""
