// Package sip is Teamline's SIP side: it binds the UDP, TCP and TLS listeners,
// runs sipgo's transport and transaction layers on them and answers every
// request.
//
// Today nothing routes yet, so every call gets a clean final response:
//
//	INVITE            480 Temporarily Unavailable + Warning while telephony is
//	                  disabled, 404 No Route once it is enabled
//	OPTIONS           200 OK with Allow and Accept (trunk keepalives)
//	REGISTER          403 Registrar Not Enabled (statusFor says why 403)
//	BYE, CANCEL       481 Call/Transaction Does Not Exist (no dialogs yet)
//	MESSAGE           404 No Route
//	anything else     405 Method Not Allowed + Allow
//
// The B2BUA (dialogs, media, routing) grows on this skeleton: a new decision is
// a new error in respond.go and one line in statusFor, a new method is one entry
// in Server.methods.
//
// sipgo types stay inside this package; its own sip package is imported as
// gosip because it shares our package name.
package sip
