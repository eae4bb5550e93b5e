// Package sip is Teamline's SIP side: it binds the UDP, TCP and TLS listeners,
// runs sipgo's transport and transaction layers on them, and is the registrar
// for the team's phones and the B2BUA for every call.
//
// A call (call.go) has two legs and a media bridge between them. Leg A is the
// caller's INVITE (the gateway is its UAS: a trunk's inbound call, a phone's
// outbound or internal call) or, for a call the gateway places itself
// (click-to-call, a lead offered to agents; dialer.go), the number called
// (the gateway is its UAC). Leg B is always a leg the gateway placed: the
// agent's phones, a forward to the catch-all, or the trunk of an outbound
// call. Where a call goes is the router's decision (plan.go); ringing and
// failover are fork.go and agents.go, the whisper and press 1 services.go and
// instant.go. In-dialog requests (BYE, re-INVITE, INFO, ACK) find their call
// through the call table (calltable.go) by dialog ID.
//
// Requests outside a dialog get a clean final response when they cannot be
// served: telephony disabled (480 + Warning), no route (404), no phone (480),
// unknown source (403 or silence), bad SDP (400/488); every decision is an
// error in respond.go and one line in statusFor.
//
// sipgo types stay inside this package; its own sip package is imported as
// gosip because it shares our package name.
package sip
