"""Gateway: the HTTP API for web clients (authentication, authorisation, validation at the edge, OpenAPI).
"""
