// Package api is Teamline's HTTP side: the admin REST API under /api/v1,
// /healthz and /metrics.
//
// The API authenticates the bearer token, puts the acting user in the
// request context (directory.WithActor) and turns JSON into calls of the
// directory.Service and back. Validation and access rules (R-ACC) live in
// the Service; this package maps their errors to RFC 9457 problem details
// in one place (problem.go).
package api
