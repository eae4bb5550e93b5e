package media

import (
	"context"
	"errors"
	"time"
)

// ErrPlaybackReplaced: another Play toward the same side took the stream.
var ErrPlaybackReplaced = errors.New("media: playback replaced by another")

// ErrBridgeClosed: the bridge closed while a Play was running.
var ErrBridgeClosed = errors.New("media: bridge closed")

// framePeriod is the packet interval of the gateway's own audio.
const framePeriod = 20 * time.Millisecond

// Play sends src toward side to, a 20 ms packet at a time in the codec that
// side accepted, through the side's one stream writer, so sequence numbers
// and timestamps continue and the marker bit flags the switch between
// relayed and local audio (RFC 3551 4.1). While it plays, the other side's
// audio is not relayed toward to. A newer Play toward the same side
// replaces this one (ErrPlaybackReplaced). Play returns nil when src ends,
// else ctx's error or ErrBridgeClosed.
//
// Frames are sent on an absolute schedule (start + n * 20 ms) so the pace
// does not drift with scheduling delays. After a stall of more than one
// period the schedule restarts from now: the late frame is sent, not a
// burst to catch up, and no audio of the prompt is lost (the receiver's
// jitter buffer absorbs the gap). Before the side's codec or address is
// known the frames are dropped, and time runs on.
func (b *Bridge) Play(ctx context.Context, to Side, src Source) error {
	if !b.addPlay() {
		return ErrBridgeClosed
	}
	defer b.plays.Done()
	return b.play(ctx, to, src)
}

// addPlay counts one more playback unless the bridge is closing: Close
// waits for those counted.
func (b *Bridge) addPlay() bool {
	b.playMu.Lock()
	defer b.playMu.Unlock()
	if b.playsClosed {
		return false
	}
	b.plays.Add(1)
	return true
}

// goPlay plays src toward to in the background, owned by the bridge (Close
// waits for it).
func (b *Bridge) goPlay(to Side, src Source) {
	if !b.addPlay() {
		return
	}
	go func() {
		defer b.plays.Done()
		_ = b.play(context.Background(), to, src)
	}()
}

func (b *Bridge) play(ctx context.Context, to Side, src Source) error {
	l := b.legs[to&1]
	id := b.nextPlay.Add(1)
	l.player.Store(id)
	defer l.player.CompareAndSwap(id, 0)

	var frame [FrameSamples]int16
	var payload [FrameSamples]byte
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * framePeriod)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-b.closed:
				return ErrBridgeClosed
			case <-timer.C:
			}
		} else {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-b.closed:
				return ErrBridgeClosed
			default:
			}
		}
		if l.player.Load() != id {
			return ErrPlaybackReplaced
		}
		if !src.Read(frame[:]) {
			return nil
		}
		if late := -time.Until(due); late > framePeriod {
			start = start.Add(late) // stalled: pace the rest from now
		}
		sf := l.send.Load()
		if sf == nil || sf.kind == kindNone {
			continue
		}
		dst, ok := l.target(&l.latchRTP, false)
		if !ok {
			continue
		}
		if sf.kind == kindUlaw {
			for i, v := range frame {
				payload[i] = EncodeUlaw(v)
			}
		} else {
			for i, v := range frame {
				payload[i] = EncodeAlaw(v)
			}
		}
		if err := l.w.WritePayload(sf.pt, payload[:], FrameSamples, dst); err == nil {
			l.played.Add(1)
		}
	}
}
