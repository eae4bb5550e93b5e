// Package directory holds the team's directory: users, numbers, leads,
// lead-routing rules, account settings and API tokens.
//
// It owns the domain types, the one validation layer every way of changing
// the directory goes through (REST API, `teamline apply`, CLI verbs), phone
// number normalisation, and the declarative directory file. Persistence is
// behind the Store interface, implemented by package store.
package directory
