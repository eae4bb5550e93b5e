// Package billing meters calls and texts; this first part holds the call
// record that every call writes (R-BILL-1).
//
// billing declares types and the interface its storage implements; it does
// no I/O of its own and imports nothing of Teamline's. The implementation
// (package store) reports a missing record with an error wrapping
// directory.ErrNotFound and a database that could not take a write just now
// with one wrapping directory.ErrUnavailable; callers test them with
// errors.Is.
package billing
