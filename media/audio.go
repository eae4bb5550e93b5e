package media

// SampleRate is the rate of all audio the gateway handles itself: G.711's
// 8 kHz.
const SampleRate = 8000

// FrameSamples is one 20 ms packet of audio at SampleRate, the packet size
// the gateway sends (RFC 3551 4.5: the default ptime of G.711).
const FrameSamples = SampleRate / 50

// Source is audio the gateway plays into a call: a prompt, a tone, a beep.
// Read fills frame with the next len(frame) samples (16-bit linear PCM,
// mono, SampleRate) and returns false once the source has ended, in which
// case frame is not used. A Source is read by one goroutine at a time.
type Source interface {
	Read(frame []int16) bool
}

// AudioSink receives the audio each side of a bridge sends, decoded to
// 16-bit linear PCM, as it arrives: a call recording. side is SideA or
// SideB as an int, ssrc and ts are the packet's RTP SSRC and timestamp.
// Audio is called from the relay; it must not block and must not keep pcm
// after it returns.
type AudioSink interface {
	Audio(side int, ssrc, ts uint32, pcm []int16)
}
