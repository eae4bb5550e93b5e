package sip

import "context"

// Telephony tells the server whether the gateway takes calls at all. The
// product rule behind it lives elsewhere (the gateway refuses calls until at
// least one buyer role number exists); the server asks once per INVITE, so a
// change takes effect on the next call without a restart.
type Telephony interface {
	// Enabled reports whether calls may be taken. When they may not, reason
	// says why in words a trunk operator can act on, e.g. "no buyer role
	// number"; it is sent to the caller in a Warning header, so it must not
	// contain secrets. ctx carries the request's deadline.
	Enabled(ctx context.Context) (enabled bool, reason string)
}

// TelephonyFunc adapts an ordinary function to Telephony.
type TelephonyFunc func(ctx context.Context) (bool, string)

// Enabled calls f(ctx).
func (f TelephonyFunc) Enabled(ctx context.Context) (bool, string) { return f(ctx) }
