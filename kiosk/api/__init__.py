"""The REST API of shared/API.md, one router per resource."""
