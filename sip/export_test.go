package sip

import "time"

// SetStreamLimits changes the limits on accepted TCP/TLS connections for
// one test (no server may run while they change) and returns the restore.
func SetStreamLimits(idle, write time.Duration, conns int) (restore func()) {
	oi, ow, oc := streamIdleTimeout, streamWriteTimeout, maxStreamConns
	streamIdleTimeout, streamWriteTimeout, maxStreamConns = idle, write, conns
	return func() { streamIdleTimeout, streamWriteTimeout, maxStreamConns = oi, ow, oc }
}

// SetMinute shortens the unit of max_call_minutes for a test.
func SetMinute(t interface{ Cleanup(func()) }, d time.Duration) {
	old := minute
	minute = d
	t.Cleanup(func() { minute = old })
}
