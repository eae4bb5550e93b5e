package media

import "errors"

var (
	// ErrBadSDP is returned for SDP that cannot be parsed or lacks what the
	// audio stream needs (a connection address, numeric formats), or is larger
	// than MaxSDPSize.
	ErrBadSDP = errors.New("media: bad SDP")
	// ErrNoAudio is returned for SDP without a usable RTP audio stream.
	ErrNoAudio = errors.New("media: no audio stream in SDP")
	// ErrNoCommonCodec is returned when an offer names neither PCMU nor PCMA.
	ErrNoCommonCodec = errors.New("media: no common codec")
	// ErrNoPorts is returned when the RTP port range has no free pair.
	ErrNoPorts = errors.New("media: no free RTP ports")
	// ErrClosed is returned when the engine is closed.
	ErrClosed = errors.New("media: engine closed")
)
