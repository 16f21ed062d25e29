"""Console views: one router per page family."""
