"""newsflow-index: Keeps Elasticsearch in step with articles.v1 and answers search."""
