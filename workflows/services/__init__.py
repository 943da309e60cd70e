"""The technical microservices of the sample project."""
