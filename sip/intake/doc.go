// Package intake is the first thing every SIP message meets in Teamline: one
// check of the raw bytes, before any transaction, dialog, authentication or
// routing work, in the spirit of Kamailio's sanity module.
//
// Check takes one message (a UDP datagram, or a message a Framer cut out of a
// TCP or TLS stream) and either passes it on rewritten into one plain form
// (folded lines joined, whitespace around separators removed, the version
// written SIP/2.0, lists split into one header per value) or refuses it with
// a Rejection: the status, reason and Warning text for the peer, the reply
// bytes themselves when one can be routed back (RFC 3261 18.2.2), and a short
// reason for the metrics. Responses and ACKs are never answered.
//
// The package knows nothing of sockets or of the SIP stack behind it; sip/
// wires it into its listeners. docs/SIP-EDGE.md lists every check and its
// answer.
package intake
