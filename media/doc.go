// Package media owns the audio path of a Teamline call: the RTP and RTCP
// ports the gateway opens for each call, the SDP offer/answer for the audio
// stream, and the relay that carries RTP between the two legs of the B2BUA.
//
// The gateway anchors media: each call gets a Bridge with one RTP/RTCP port
// pair facing the caller (side A) and one facing the callee (side B). SIP code
// in package sip drives the bridge through SDP (ParseSDP, Offer, Answer,
// SetRemote) and never sees a packet. The relay latches onto the address media
// really comes from (symmetric RTP, for phones behind NAT), rewrites payload
// types between the legs' numbering, transcodes between the two G.711 laws
// when the legs agreed on different ones, and maps RFC 4733 telephone-events.
//
// Every outgoing stream has exactly one writer that owns its SSRC, sequence
// number and timestamp, so whatever feeds the stream (the bridged peer today,
// prompts later) produces one continuous RTP stream for the far end.
//
// On Linux the relay runs on a few worker goroutines (GOMAXPROCS by default),
// each with an epoll instance of its own that holds the raw non-blocking
// sockets of its bridges (all four of a bridge on one worker). A worker parks
// in the Go netpoller on its epoll descriptor, so one wake-up serves every
// socket that became ready meanwhile; it drains a ready socket with recvmmsg
// and sends with sendto, without the Go scheduler per packet. Elsewhere, or
// with Config.GoroutineRelay, each socket has a goroutine of its own.
//
// The Engine owns the port range, a quarantine that keeps a released port pair
// idle for a while (late packets of the old call must not reach a new one), the
// media timeout watchdog and the Prometheus metrics for all bridges.
package media
