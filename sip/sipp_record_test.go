package sip_test

import (
	"context"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/internal/sipptest"
	"github.com/teamline/teamline/media"
)

// chirp is a sine swept from f0 to f1 Hz over ms milliseconds at 8 kHz.
func chirp(f0, f1 float64, ms int) []int16 {
	pcm := make([]int16, ms*8)
	d := float64(ms) / 1000
	for i := range pcm {
		s := float64(i) / 8000
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*(f0*s+(f1-f0)*s*s/(2*d))))
	}
	return pcm
}

// noise is ms milliseconds of noise from a fixed seed, without DC or the
// highest frequencies (x[n] - x[n-2] of white noise).
func noise(seed uint64, ms int) []int16 {
	r := rand.New(rand.NewPCG(seed, seed))
	pcm := make([]int16, ms*8)
	var x1, x2 float64
	for i := range pcm {
		x := max(-3, min(3, r.NormFloat64())) * 2500
		pcm[i] = int16(x - x2)
		x1, x2 = x, x1
	}
	return pcm
}

// pcmuFrames encodes pcm as the payloads of 20 ms PCMU packets, and
// returns with them the samples a receiver decodes from them.
func pcmuFrames(pcm []int16) (payloads [][]byte, decoded []int16) {
	for off := 0; off+160 <= len(pcm); off += 160 {
		p := ulaw(pcm[off : off+160])
		payloads = append(payloads, p)
		for _, b := range p {
			decoded = append(decoded, media.DecodeUlaw(b))
		}
	}
	return payloads, decoded
}

// bestMatch finds ref in pcm: the offset where the normalised
// cross-correlation of ref with pcm is highest, and that correlation (1
// for a copy of ref; offsets where pcm holds less than half of ref's
// energy are not tried).
func bestMatch(pcm, ref []int16) (lag int, corr float64) {
	if len(pcm) < len(ref) || len(ref) == 0 {
		return -1, 0
	}
	x := make([]float64, len(pcm))
	energy := make([]float64, len(pcm)+1) // energy[i]: sum of x² before i
	for i, v := range pcm {
		x[i] = float64(v)
		energy[i+1] = energy[i] + x[i]*x[i]
	}
	y := make([]float64, len(ref))
	var refEnergy float64
	for i, v := range ref {
		y[i] = float64(v)
		refEnergy += y[i] * y[i]
	}
	lag, corr = -1, 0
	for l := 0; l+len(y) <= len(x); l++ {
		e := energy[l+len(y)] - energy[l]
		if e < refEnergy/2 {
			continue
		}
		var dot float64
		for i, v := range y {
			dot += x[l+i] * v
		}
		if c := dot / math.Sqrt(e*refEnergy); c > corr {
			lag, corr = l, c
		}
	}
	return lag, corr
}

// The end-to-end recording test: a SIPp carrier calls alice's
// number and plays a chirp from the answer on; alice's SIPp phone answers
// and 1.5 s later plays a second of noise; the carrier hangs up 3 s after
// its ACK. The recording has the caller on the left and alice on the
// right: each channel holds what that side sent (PCMU both ways, so
// nothing is transcoded), the other channel is silent meanwhile, and the
// file is as long as the call was from answer to end.
func TestSIPpRecordingBothSides(t *testing.T) {
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not found: install sip-tester (apt-get install sip-tester)")
	}
	dir := t.TempDir()
	trunkPayloads, trunkSent := pcmuFrames(chirp(300, 3000, 1000))
	agentPayloads, agentSent := pcmuFrames(noise(7, 1000))
	trunkPcap, agentPcap := filepath.Join(dir, "trunk.pcap"), filepath.Join(dir, "agent.pcap")
	sipptest.WriteRTPPcap(t, trunkPcap, 0, 0x7a11c0de, trunkPayloads)
	sipptest.WriteRTPPcap(t, agentPcap, 0, 0xa11ce000, agentPayloads)

	gw, svc := mediaGateway(t, "", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	agent := startSIPp(ctx, t, gw, "agent", "127.0.0.1",
		"-oocsf", sipptest.Scenario("agent_answer_play.xml"), "-key", "agent_pcap", agentPcap)
	waitRegistered(ctx, t, gw, agent, "alice")
	trunk := startSIPp(ctx, t, gw, "trunk_play", "127.0.0.2", "-key", "trunk_pcap", trunkPcap)
	trunk.wait(t, gw)
	agent.wait(t, gw)

	rec := closedRecord(t, gw)
	if rec.Result != billing.ResultAnswered || rec.Username != "alice" || rec.RecordingID == 0 {
		t.Fatalf("call record %s by %q, recording %d: want answered by alice, recorded", rec.Result, rec.Username, rec.RecordingID)
	}
	r := waitRecording(t, gw, rec.RecordingID)
	f, _, err := svc.Open(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	f.Close()
	ch := readWAVChannels(t, path) // fails unless 8000 Hz
	if len(ch) != 2 {
		t.Fatalf("%d channels, want 2 (caller left, agent right)", len(ch))
	}
	left, right := ch[0], ch[1]

	call := rec.End.Sub(rec.Answer)
	length := time.Duration(len(left)) * time.Second / 8000
	t.Logf("call answered for %v, recording %v (%d ms in the index)", call, length, r.DurationMS)
	if d := length - call; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("the recording lasts %v, the call %v from answer to end", length, call)
	}

	lagT, corrT := bestMatch(left, trunkSent)
	lagA, corrA := bestMatch(right, agentSent)
	t.Logf("left: the carrier's chirp at %v, correlation %.3f; right: alice's noise at %v, correlation %.3f",
		time.Duration(lagT)*time.Second/8000, corrT, time.Duration(lagA)*time.Second/8000, corrA)
	if corrT < 0.8 {
		t.Errorf("the left channel does not hold the carrier's audio (best correlation %.3f)", corrT)
	}
	if corrA < 0.8 {
		t.Errorf("the right channel does not hold alice's audio (best correlation %.3f)", corrA)
	}
	if t.Failed() {
		return
	}
	// Alice starts 1.5 s after the answer, the carrier's second is over
	// by then: while one side talks the other's channel is silent.
	if lagA < lagT+len(trunkSent) {
		t.Fatalf("alice's audio at sample %d overlaps the carrier's (%d to %d): no stretch where one side talks alone",
			lagA, lagT, lagT+len(trunkSent))
	}
	if v := rms(right[lagT : lagT+len(trunkSent)]); v > 30 {
		t.Errorf("the right channel is not silent while only the carrier talks (rms %.0f)", v)
	}
	if v := rms(left[lagA : lagA+len(agentSent)]); v > 30 {
		t.Errorf("the left channel is not silent while only alice talks (rms %.0f)", v)
	}
}
