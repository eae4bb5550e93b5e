package sip_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/config"
	"github.com/teamline/teamline/internal/testlog"
	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/recording"
	"github.com/teamline/teamline/recording/jurisdiction"
	"github.com/teamline/teamline/sip"
	"github.com/teamline/teamline/store"
)

// Test prompts: short tones, so each test knows the exact audio it must
// hear (the gateway encodes them; PCMU bytes are exact).
var testPrompts = map[string]struct {
	freq float64
	ms   int
}{
	"consent":            {1000, 300},
	"whisper":            {600, 300},
	"whisper_buyer":      {650, 300},
	"voicemail_greeting": {800, 300},
	"goodbye":            {500, 200},
}

func tone(freq float64, ms int) []int16 {
	pcm := make([]int16, ms*8)
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return pcm
}

// writeWAV writes 8 kHz mono 16-bit PCM.
func writeWAV(t *testing.T, path string, pcm []int16) {
	t.Helper()
	var b bytes.Buffer
	data := 2 * len(pcm)
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(data))
	_ = binary.Write(&b, binary.LittleEndian, pcm)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// mediaGateway is a gateway with recordings in a temporary directory, the
// test prompts, and extra account settings (YAML lines under settings:).
func mediaGateway(t *testing.T, settings string, tweak func(*sip.Backend)) (*gateway, *recording.Service) {
	t.Helper()
	return mediaGatewayWith(t, settings, nil, tweak)
}

// mediaGatewayWith is mediaGateway with before run on the store before the
// recording service starts.
func mediaGatewayWith(t *testing.T, settings string, before func(*store.Store), tweak func(*sip.Backend)) (*gateway, *recording.Service) {
	t.Helper()
	svcLog := &testlog.Buffer{}
	dir := t.TempDir()
	files := map[string]string{}
	for name, p := range testPrompts {
		files[name] = filepath.Join(dir, name+".wav")
		writeWAV(t, files[name], tone(p.freq, p.ms))
	}
	prompts, err := sip.LoadPrompts(files, "")
	if err != nil {
		t.Fatal(err)
	}
	team := strings.Replace(gatewayTeam, "settings:\n", "settings:\n"+settings, 1)
	var svc *recording.Service
	trunk := sip.Trunk{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource, Outbound: true}
	gw := startGatewayWith(t, team, func(b *sip.Backend) {
		st := b.Contacts.(*store.Store)
		if before != nil {
			before(st)
		}
		d := b.Directory
		policy := func(ctx context.Context) (recording.Policy, error) {
			s, err := d.GetSettings(ctx)
			if err != nil {
				return recording.Policy{}, err
			}
			return recording.Policy{Enabled: s.RecordingEnabled, SaveByDefault: s.RecordingSaveDefault,
				SaveWindow: time.Hour, QuotaBytes: s.StorageQuotaMB << 20}, nil
		}
		var err error
		if svc, err = recording.NewService(st, filepath.Join(dir, "recordings"), policy,
			recording.WithLogger(slog.New(slog.NewTextHandler(svcLog, nil)))); err != nil {
			t.Fatal(err)
		}
		// Closed after the gateway stopped (cleanups run last first).
		t.Cleanup(func() { _ = svc.Close() })
		b.Recordings, b.RecordingIndex, b.Prompts = svc, st, prompts
		b.Calls.AcceptTimeout = 2 * time.Second
		b.Voicemail = sip.VoicemailConfig{MaxLength: 10 * time.Second, MWI: true}
		b.Trunks = []sip.Trunk{trunk}
		if tweak != nil {
			tweak(b)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("recording service log:\n%s", svcLog)
		}
	})
	gw.recordingLog = svcLog
	return gw, svc
}

// sendRTP sends one packet from the peer to its remote.
func (r *rtpPeer) sendRTP(t *testing.T, pt uint8, ts uint32, payload []byte) {
	t.Helper()
	ap, _ := r.remote.Load().(netip.AddrPort)
	if !ap.IsValid() {
		t.Fatal("rtp peer has no remote")
	}
	r.mu.Lock()
	r.seq++
	pkt := make([]byte, 12+len(payload))
	pkt[0], pkt[1] = 0x80, pt
	binary.BigEndian.PutUint16(pkt[2:], r.seq)
	binary.BigEndian.PutUint32(pkt[4:], ts)
	binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
	copy(pkt[12:], payload)
	r.mu.Unlock()
	if _, err := r.conn.WriteToUDPAddrPort(pkt, ap); err != nil {
		t.Fatal(err)
	}
}

// sendAudio sends pcm as 20 ms PCMU packets, paced a little faster than
// real time.
func (r *rtpPeer) sendAudio(t *testing.T, pcm []int16) {
	t.Helper()
	for off := 0; off+160 <= len(pcm); off += 160 {
		p := make([]byte, 160)
		for i := range p {
			p[i] = media.EncodeUlaw(pcm[off+i])
		}
		r.mu.Lock()
		r.ts += 160
		ts := r.ts
		r.mu.Unlock()
		r.sendRTP(t, 0, ts, p)
		time.Sleep(10 * time.Millisecond)
	}
}

// sendDigit sends an RFC 4733 event: a start and three end packets with
// one timestamp (RFC 4733 2.5.1.4).
func (r *rtpPeer) sendDigit(t *testing.T, event byte) {
	t.Helper()
	r.mu.Lock()
	r.ts += 800
	ts := r.ts
	r.mu.Unlock()
	r.sendRTP(t, 101, ts, []byte{event, 10, 0, 160})
	for range 3 {
		r.sendRTP(t, 101, ts, []byte{event, 0x80 | 10, 3, 32})
	}
}

func (r *rtpPeer) got() []gotPacket {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gotPacket(nil), r.packets...)
}

// ulaw encodes pcm as the gateway does for a PCMU leg.
func ulaw(pcm []int16) []byte {
	b := make([]byte, len(pcm))
	for i, v := range pcm {
		b[i] = media.EncodeUlaw(v)
	}
	return b
}

// startsWith tells whether the audio the peer received begins with the
// prompt, packet by packet (the last, partial frame padded with silence).
func startsWith(pkts []gotPacket, prompt []int16) bool {
	want := ulaw(prompt)
	var got []byte
	for _, p := range pkts {
		if p.pt != 0 {
			continue
		}
		got = append(got, p.payload...)
		if len(got) >= len(want) {
			break
		}
	}
	return len(got) >= len(want) && bytes.Equal(got[:len(want)], want)
}

// indexOfPayload finds the first packet whose payload is all b.
func indexOfPayload(pkts []gotPacket, b byte) int {
	for i, p := range pkts {
		if len(p.payload) > 0 && bytes.Count(p.payload, []byte{b}) == len(p.payload) {
			return i
		}
	}
	return -1
}

// R-REC-3: with the consent prompt on, the caller hears it before any
// audio of the agent, and the record says so.
func TestConsentPromptBeforeAgent(t *testing.T) {
	gw, _ := mediaGateway(t, "  consent_prompt: all\n", nil)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v\n%s", err, gw.logs)
	}
	silence := make([]int16, 160*10)
	for i := range silence {
		silence[i] = 0x1000 // a constant the test can spot: µ-law 0x..
	}
	mark := media.EncodeUlaw(0x1000)
	alice.rtp.sendAudio(t, silence)
	eventually(t, "alice's audio at the caller", func() bool { return indexOfPayload(trunk.rtp.got(), mark) >= 0 })
	pkts := trunk.rtp.got()
	consent := tone(1000, 300)
	if !startsWith(pkts, consent) {
		t.Fatalf("the caller's first audio is not the consent prompt (%d packets)", len(pkts))
	}
	if i := indexOfPayload(pkts, mark); i < len(consent)/160 {
		t.Fatalf("agent audio at packet %d, inside the consent prompt", i)
	}
	if !pkts[0].marker {
		t.Error("the prompt's first packet has no marker bit")
	}
	hangup(t, sess)
	r := closedRecord(t, gw)
	if r.Consent != "played:all" || r.ConsentAt.IsZero() || r.Result != billing.ResultAnswered {
		t.Errorf("record consent %q at %v, result %s", r.Consent, r.ConsentAt, r.Result)
	}
}

// Without the prompt the agent's audio is the first the caller hears.
func TestNoConsentPrompt(t *testing.T) {
	gw, _ := mediaGateway(t, "  consent_prompt: off\n", nil)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	mark := media.EncodeUlaw(0x1000)
	pcm := make([]int16, 160*5)
	for i := range pcm {
		pcm[i] = 0x1000
	}
	alice.rtp.sendAudio(t, pcm)
	eventually(t, "alice's audio", func() bool { return indexOfPayload(trunk.rtp.got(), mark) >= 0 })
	if i := indexOfPayload(trunk.rtp.got(), mark); i != 0 {
		t.Errorf("the caller heard %d packets before the agent", i)
	}
	hangup(t, sess)
	if r := closedRecord(t, gw); r.Consent != "" {
		t.Errorf("record consent %q, want none", r.Consent)
	}
}

// two_party: a Texas caller (one-party) hears no prompt, a Californian does.
func TestConsentTwoParty(t *testing.T) {
	gw, _ := mediaGateway(t, "  consent_prompt: two_party\n", func(b *sip.Backend) {
		p, err := jurisdiction.NewPolicy(jurisdiction.Default(), config.DefaultTwoPartyRegions)
		if err != nil {
			t.Fatal(err)
		}
		b.Consent = p
	})
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	for _, tc := range []struct{ from, consent string }{
		{"+17375559999", "skipped:one-party:TX"},
		{"+14155550123", "played:two-party:CA"},
	} {
		trunk := newPhone(t, "127.0.0.2")
		sess, err := trunk.call(gw, "+15125550110", tc.from, nil)
		if err != nil {
			t.Fatalf("call from %s: %v", tc.from, err)
		}
		alice.rtp.sendAudio(t, make([]int16, 160*3))
		eventually(t, "audio at the caller", func() bool { return len(trunk.rtp.got()) > 0 })
		hangup(t, sess)
		r := closedRecord(t, gw)
		if r.Consent != tc.consent {
			t.Errorf("caller %s: record consent %q, want %q", tc.from, r.Consent, tc.consent)
		}
		if heard := startsWith(trunk.rtp.got(), tone(1000, 300)); heard != strings.HasPrefix(tc.consent, "played") {
			t.Errorf("caller %s heard the prompt: %v", tc.from, heard)
		}
	}
}

// whisperedCall places a carrier call to alice's number with press 1 on
// and waits until alice hears the whisper; it returns the call's dialog
// once answered (or its error) on the channel.
func whisperedCall(t *testing.T, gw *gateway, alice *phone) (*phone, chan callResult) {
	t.Helper()
	return whisperedCallTo(t, gw, alice, "+15125550110", "+17375559999", tone(600, 300))
}

// whisperedCallTo is whisperedCall from the carrier's number from to the
// team's number to, whose agent hears whisper.
func whisperedCallTo(t *testing.T, gw *gateway, agent *phone, to, from string, whisper []int16) (*phone, chan callResult) {
	t.Helper()
	trunk := newPhone(t, "127.0.0.2")
	done := make(chan callResult, 1)
	go func() {
		sess, err := trunk.call(gw, to, from, nil)
		done <- callResult{sess, err}
	}()
	eventually(t, "the agent hears the whisper", func() bool { return startsWith(agent.rtp.got(), whisper) })
	return trunk, done
}

type callResult struct {
	sess interface{ Bye(context.Context) error }
	err  error
}

// R-IN-7: the agent who answered is bridged only after pressing 1, sent
// as an RFC 4733 event, as SIP INFO, or as a tone in the audio.
func TestPressOneToAccept(t *testing.T) {
	for _, method := range []string{"rfc4733", "info", "inband"} {
		t.Run(method, func(t *testing.T) {
			gw, _ := mediaGateway(t, "  press_one_to_claim: true\n", nil)
			alice := newPhone(t, "127.0.0.1")
			alice.rtp.noEvents.Store(method == "inband")
			if res := alice.register(gw, "alice", "alice-pw-1", 300); res.StatusCode != 200 {
				t.Fatalf("REGISTER: %d", res.StatusCode)
			}
			trunk, done := whisperedCall(t, gw, alice)
			// The caller is not bridged yet: nothing of alice reaches it.
			alice.rtp.sendAudio(t, make([]int16, 160*3))
			select {
			case r := <-done:
				t.Fatalf("caller answered before the digit: %v", r.err)
			case <-time.After(100 * time.Millisecond):
			}
			if n := len(trunk.rtp.got()); n != 0 {
				t.Fatalf("caller got %d packets before the agent accepted", n)
			}
			switch method {
			case "rfc4733":
				alice.rtp.sendDigit(t, 1)
			case "info":
				alice.mu.Lock()
				d := alice.dialogs[len(alice.dialogs)-1]
				alice.mu.Unlock()
				req := gosip.NewRequest(gosip.INFO, d.InviteRequest.Contact().Address)
				req.AppendHeader(gosip.NewHeader("Content-Type", "application/dtmf-relay"))
				req.SetBody([]byte("Signal=1\r\nDuration=160\r\n"))
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				res, err := d.Do(ctx, req)
				cancel()
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("INFO: %v %v", res, err)
				}
			case "inband":
				src, err := media.DTMFTone('1', 100*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				var pcm []int16
				frame := make([]int16, 160)
				for src.Read(frame) {
					pcm = append(pcm, frame...)
				}
				alice.rtp.sendAudio(t, append(pcm, make([]int16, 160*4)...))
			}
			var r callResult
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("the caller was not answered after the digit\n%s", gw.logs)
			}
			if r.err != nil {
				t.Fatalf("call: %v", r.err)
			}
			mark := media.EncodeUlaw(0x1000)
			pcm := make([]int16, 160*5)
			for i := range pcm {
				pcm[i] = 0x1000
			}
			alice.rtp.sendAudio(t, pcm)
			eventually(t, "alice's audio at the caller", func() bool { return indexOfPayload(trunk.rtp.got(), mark) >= 0 })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.sess.Bye(ctx); err != nil {
				t.Fatal(err)
			}
			rec := closedRecord(t, gw)
			if rec.Result != billing.ResultAnswered || rec.Username != "alice" {
				t.Errorf("record %s by %q", rec.Result, rec.Username)
			}
		})
	}
}

// A call to a role number whispers that role's prompt: bob, the known
// lead's buyer agent, hears the buyer whisper on the buyer line.
func TestPressOneWhisperOfTheLine(t *testing.T) {
	gw, _ := mediaGateway(t, "  press_one_to_claim: true\n", nil)
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	trunk, done := whisperedCallTo(t, gw, bob, "+15125550100", "+17375550001", tone(650, 300))
	trunk.hangupRinging()
	if r := <-done; r.err == nil {
		t.Fatal("the cancelled call was answered")
	}
	if r := closedRecord(t, gw); r.Role != "buyer" || r.Username != "bob" {
		t.Errorf("record role %q user %q, want bob on the buyer line", r.Role, r.Username)
	}
}

// An agent who does not press 1 is hung up, and the caller reaches the
// agent's voicemail (R-IN-4, R-IN-7).
func TestPressOneTimeoutGoesToVoicemail(t *testing.T) {
	gw, _ := mediaGateway(t, "  press_one_to_claim: true\n", nil)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk, done := whisperedCall(t, gw, alice)
	var r callResult
	select {
	case r = <-done:
	case <-time.After(6 * time.Second):
		t.Fatal("the caller was never answered")
	}
	if r.err != nil {
		t.Fatalf("call: %v", r.err)
	}
	if alice.byes.Load() != 1 {
		t.Errorf("alice got %d BYEs, want 1 (not accepted)", alice.byes.Load())
	}
	eventually(t, "the voicemail greeting", func() bool { return startsWith(trunk.rtp.got(), tone(800, 300)) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	rec := closedRecord(t, gw)
	if rec.Username != "alice" || rec.Result != billing.ResultVoicemail {
		t.Errorf("record %s by %q, want voicemail of alice", rec.Result, rec.Username)
	}
}

// readStereo reads a 16-bit WAV the recorder wrote: channels and the
// samples of each channel.
func readWAVChannels(t *testing.T, path string) [][]int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: not a WAV file", path)
	}
	// Walk the chunks to fmt and data.
	var channels int
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			if rate := binary.LittleEndian.Uint32(body[4:]); rate != 8000 {
				t.Fatalf("rate %d", rate)
			}
		case "data":
			size = min(size, len(body))
			out := make([][]int16, channels)
			for i := 0; i+2*channels <= size; i += 2 * channels {
				for c := range channels {
					out[c] = append(out[c], int16(binary.LittleEndian.Uint16(body[i+2*c:])))
				}
			}
			return out
		}
		off += 8 + size + size&1
	}
	t.Fatalf("%s: no data chunk", path)
	return nil
}

// power is the Goertzel power of freq in pcm, relative to the signal's
// energy (1 for a pure tone at freq, near 0 without it).
func power(pcm []int16, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2, energy float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+k*s1-s2, s1
		energy += x * x
	}
	if energy == 0 {
		return 0
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	return 2 * p / (energy * float64(len(pcm)))
}

// rms is the root mean square of pcm.
func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(len(pcm), 1)))
}

// waitRecording waits until the recording with id is complete.
func waitRecording(t *testing.T, gw *gateway, id int64) recording.Recording {
	t.Helper()
	var r recording.Recording
	eventually(t, "recording complete", func() bool {
		var err error
		r, err = gw.store.GetRecording(context.Background(), id)
		return err == nil && r.Complete
	})
	return r
}

// R-REC-1: the call is recorded in stereo, caller left and agent right,
// each channel holding what that side sent and silence elsewhere.
func TestRecordingStereo(t *testing.T) {
	gw, svc := mediaGateway(t, "", nil)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	trunk.rtp.sendAudio(t, tone(1000, 1000))
	alice.rtp.sendAudio(t, tone(300, 1000))
	eventually(t, "alice's tone at the caller", func() bool { return len(trunk.rtp.got()) >= 45 })
	hangup(t, sess)
	rec := closedRecord(t, gw)
	if rec.RecordingID == 0 {
		t.Fatalf("call record without recording: %+v", rec)
	}
	r := waitRecording(t, gw, rec.RecordingID)
	if r.Kind != recording.KindCall || r.Username != "alice" || r.CallRecordID != rec.ID || r.SHA256 == "" {
		t.Errorf("recording %+v", r)
	}
	f, _, err := svc.Open(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	f.Close()
	ch := readWAVChannels(t, path)
	if len(ch) != 2 {
		t.Fatalf("%d channels, want 2", len(ch))
	}
	left, right := ch[0], ch[1]
	// The caller's tone is on the left only, then alice's on the right
	// only: find where each channel is loud.
	loud := func(pcm []int16) (first, last int) {
		first, last = -1, -1
		for i := 0; i+160 <= len(pcm); i += 160 {
			if rms(pcm[i:i+160]) > 1000 {
				if first < 0 {
					first = i
				}
				last = i + 160
			}
		}
		return
	}
	lf, ll := loud(left)
	rf, rl := loud(right)
	if lf < 0 || rf < 0 {
		t.Fatalf("a channel is silent: left %d-%d right %d-%d", lf, ll, rf, rl)
	}
	if d := ll - lf; d < 7600 || d > 8400 {
		t.Errorf("the caller's second of audio lasts %d samples on the left", d)
	}
	if d := rl - rf; d < 7600 || d > 8400 {
		t.Errorf("alice's second of audio lasts %d samples on the right", d)
	}
	if p := power(left[lf:ll], 1000); p < 0.8 {
		t.Errorf("left channel: 1 kHz power %.2f", p)
	}
	if p := power(right[rf:rl], 300); p < 0.8 {
		t.Errorf("right channel: 300 Hz power %.2f", p)
	}
	if rms(right[lf:max(lf, min(ll, rf-160))]) > 50 {
		t.Error("the right channel is not silent while only the caller spoke")
	}
	if rms(left[min(ll+160, rl):rl]) > 50 {
		t.Error("the left channel is not silent while only alice spoke")
	}
	if want := int64(len(left)) * 1000 / 8000; r.DurationMS < want-100 || r.DurationMS > want+100 {
		t.Errorf("duration %d ms for %d samples", r.DurationMS, len(left))
	}
}

// R-IN-4: a busy agent's caller hears the greeting and a beep, leaves a
// message that is stored for the agent, and the agent's phone hears that
// a message waits.
func TestVoicemail(t *testing.T) {
	gw, svc := mediaGateway(t, "", nil)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("busy")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v\n%s", err, gw.logs)
	}
	eventually(t, "greeting and beep", func() bool {
		pkts := trunk.rtp.got()
		return startsWith(pkts, tone(800, 300)) && len(pkts) >= 15+10+12
	})
	// After the greeting (15 packets) and 200 ms of silence (10) comes
	// the 1 kHz beep.
	var beep []int16
	for _, p := range trunk.rtp.got()[25:37] {
		for _, b := range p.payload {
			beep = append(beep, media.DecodeUlaw(b))
		}
	}
	if p := power(beep, 1000); p < 0.5 {
		t.Errorf("no beep after the greeting (1 kHz power %.2f)", p)
	}
	trunk.rtp.sendAudio(t, tone(440, 1000))
	time.Sleep(300 * time.Millisecond) // the recorder writes what is 250 ms old
	hangup(t, sess)
	rec := closedRecord(t, gw)
	if rec.Result != billing.ResultVoicemail || rec.Username != "alice" || rec.RecordingID == 0 {
		t.Fatalf("record %s by %q recording %d", rec.Result, rec.Username, rec.RecordingID)
	}
	r := waitRecording(t, gw, rec.RecordingID)
	if r.Kind != recording.KindVoicemail || r.Username != "alice" || !r.Saved {
		t.Errorf("voicemail %+v", r)
	}
	f, _, err := svc.Open(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch := readWAVChannels(t, f.Name())
	f.Close()
	if len(ch) != 1 {
		t.Fatalf("voicemail has %d channels, want 1", len(ch))
	}
	if p := power(ch[0], 440); p < 0.5 {
		t.Errorf("the message does not hold the caller's 440 Hz (power %.2f)", p)
	}
	eventually(t, "message-waiting NOTIFY", func() bool {
		alice.mu.Lock()
		defer alice.mu.Unlock()
		return len(alice.notifies) == 1
	})
	alice.mu.Lock()
	body := alice.notifies[0]
	alice.mu.Unlock()
	if !strings.Contains(body, "Messages-Waiting: yes") || !strings.Contains(body, "Voice-Message: 1/0") {
		t.Errorf("NOTIFY body %q", body)
	}
}

// # ends the message: the caller hears goodbye and the gateway hangs up.
func TestVoicemailHashEnds(t *testing.T) {
	gw, _ := mediaGateway(t, "", nil)
	// alice has no phone registered: straight to voicemail.
	trunk := newPhone(t, "127.0.0.2")
	if _, err := trunk.call(gw, "+15125550110", "+17375559999", nil); err != nil {
		t.Fatalf("call: %v", err)
	}
	eventually(t, "greeting", func() bool { return len(trunk.rtp.got()) >= 37 })
	trunk.rtp.sendAudio(t, tone(440, 400))
	trunk.rtp.sendDigit(t, 11) // #
	eventually(t, "BYE from the gateway", func() bool { return trunk.byes.Load() == 1 })
	rec := closedRecord(t, gw)
	if rec.Result != billing.ResultVoicemail || rec.SIPReason != "voicemail complete" || rec.RecordingID == 0 {
		t.Errorf("record %s %q recording %d", rec.Result, rec.SIPReason, rec.RecordingID)
	}
	pkts := trunk.rtp.got()
	var tail []int16
	for _, p := range pkts[max(0, len(pkts)-10):] {
		for _, b := range p.payload {
			tail = append(tail, media.DecodeUlaw(b))
		}
	}
	if p := power(tail, 500); p < 0.5 {
		t.Errorf("the caller did not hear goodbye last (500 Hz power %.2f)", p)
	}
}

// A message stops at the maximum length: the caller hears goodbye and the
// gateway hangs up, with the message kept.
func TestVoicemailMaxLength(t *testing.T) {
	gw, _ := mediaGateway(t, "", func(b *sip.Backend) { b.Voicemail.MaxLength = time.Second })
	// alice has no phone registered: straight to voicemail.
	trunk := newPhone(t, "127.0.0.2")
	if _, err := trunk.call(gw, "+15125550110", "+17375559999", nil); err != nil {
		t.Fatalf("call: %v", err)
	}
	eventually(t, "BYE from the gateway", func() bool { return trunk.byes.Load() == 1 })
	rec := closedRecord(t, gw)
	if rec.Result != billing.ResultVoicemail || rec.SIPReason != "voicemail complete" || rec.RecordingID == 0 {
		t.Fatalf("record %s %q recording %d", rec.Result, rec.SIPReason, rec.RecordingID)
	}
	if r := waitRecording(t, gw, rec.RecordingID); r.DurationMS < 900 || r.DurationMS > 1600 {
		t.Errorf("message of %d ms, want about the maximum length of 1 s", r.DurationMS)
	}
}

// R-REC-5: with the storage quota full a call is not recorded but works,
// and the service says why.
func TestRecordingQuotaFull(t *testing.T) {
	gw, svc := mediaGatewayWith(t, "  storage_quota_mb: 1\n", func(st *store.Store) {
		// An earlier recording already fills the megabyte.
		r := recording.Recording{Kind: recording.KindCall, Username: "alice", Path: "old.wav", Start: time.Now().Add(-time.Hour), Saved: true}
		if err := st.CreateRecording(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRecording(context.Background(), r.ID, 60000, 2<<20, strings.Repeat("0", 64)); err != nil {
			t.Fatal(err)
		}
	}, nil)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	trunk.rtp.sendAudio(t, tone(1000, 200))
	alice.rtp.sendAudio(t, tone(300, 200))
	eventually(t, "audio both ways", func() bool { return len(trunk.rtp.got()) >= 8 && len(alice.rtp.got()) >= 8 })
	hangup(t, sess)
	rec := closedRecord(t, gw)
	if rec.Result != billing.ResultAnswered || rec.RecordingID != 0 {
		t.Errorf("record %s with recording %d, want answered and not recorded", rec.Result, rec.RecordingID)
	}
	u, err := svc.Usage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !u.Full || u.Refused != 1 || u.Reason == "" {
		t.Errorf("usage %+v, want full with one refusal and a reason", u)
	}
	if !strings.Contains(gw.recordingLog.String(), "storage quota is full") {
		t.Error("the refusal is not logged")
	}
}

// Outbound, the callee hears the consent prompt before the agent.
func TestConsentOutbound(t *testing.T) {
	carrier := newPhone(t, "127.0.0.2")
	gw, _ := mediaGateway(t, "  consent_prompt: all\n", func(b *sip.Backend) { b.Trunks[0].Proxy = carrier.addr })
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	sess, err := alice.call(gw, "5125557777", "alice", &sipgo.DigestAuth{Username: "alice", Password: "alice-pw-1"})
	if err != nil {
		t.Fatalf("call: %v\n%s", err, gw.logs)
	}
	mark := media.EncodeUlaw(0x1000)
	pcm := make([]int16, 160*5)
	for i := range pcm {
		pcm[i] = 0x1000
	}
	eventually(t, "the consent prompt at the callee", func() bool { return startsWith(carrier.rtp.got(), tone(1000, 300)) })
	alice.rtp.sendAudio(t, pcm)
	eventually(t, "alice's audio at the callee", func() bool { return indexOfPayload(carrier.rtp.got(), mark) >= 0 })
	if i := indexOfPayload(carrier.rtp.got(), mark); i < 15 {
		t.Errorf("alice's audio at packet %d, inside the prompt", i)
	}
	hangup(t, sess)
	if r := closedRecord(t, gw); r.Consent != "played:all" || r.Direction != billing.Outbound || r.RecordingID == 0 {
		t.Errorf("record consent %q direction %s recording %d", r.Consent, r.Direction, r.RecordingID)
	}
}

// A user's own greeting replaces the shipped one.
func TestVoicemailOwnGreeting(t *testing.T) {
	greetings := t.TempDir()
	writeWAV(t, filepath.Join(greetings, "alice.wav"), tone(700, 400))
	gw, _ := mediaGateway(t, "", func(b *sip.Backend) {
		p, err := sip.LoadPrompts(nil, greetings)
		if err != nil {
			t.Fatal(err)
		}
		b.Prompts = p
	})
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	eventually(t, "alice's greeting", func() bool { return startsWith(trunk.rtp.got(), tone(700, 400)) })
	hangup(t, sess)
	closedRecord(t, gw)
}

// After the consent prompt the caller hears generated ringback while the
// agent's phone rings (the caller has early media from the gateway, so its
// phone does not ring locally).
func TestRingbackAfterConsent(t *testing.T) {
	gw, _ := mediaGateway(t, "  consent_prompt: all\n", nil)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("ignore")
	trunk := newPhone(t, "127.0.0.2")
	done := make(chan error, 1)
	go func() {
		_, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
		done <- err
	}()
	consent := len(tone(1000, 300)) / 160
	eventually(t, "a second of ringback", func() bool { return len(trunk.rtp.got()) >= consent+50 })
	var ring []int16
	for _, p := range trunk.rtp.got()[consent+5 : consent+45] {
		for _, b := range p.payload {
			ring = append(ring, media.DecodeUlaw(b))
		}
	}
	if p := power(ring, 440) + power(ring, 480); p < 0.8 {
		t.Errorf("no 440+480 Hz ringback after the prompt (power %.2f)", p)
	}
	trunk.hangupRinging()
	if err := <-done; err == nil {
		t.Fatal("the cancelled call was answered")
	}
	if r := closedRecord(t, gw); r.Result != billing.ResultCancelled {
		t.Errorf("record %s, want cancelled", r.Result)
	}
}

// An agent's own early media replaces the gateway's ringback.
func TestEarlyMediaAfterConsent(t *testing.T) {
	gw, _ := mediaGateway(t, "  consent_prompt: all\n", nil)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("early") // 183 with SDP and ten packets of audio, then 200
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	// The phone's early audio is all 0x00 bytes.
	eventually(t, "alice's early media", func() bool { return indexOfPayload(trunk.rtp.got(), 0x00) >= 0 })
	pkts := trunk.rtp.got()
	if !startsWith(pkts, tone(1000, 300)) {
		t.Error("the caller did not hear the consent prompt first")
	}
	if i := indexOfPayload(pkts, 0x00); i < 15 {
		t.Errorf("early media at packet %d, inside the prompt", i)
	}
	hangup(t, sess)
	closedRecord(t, gw)
}

// An agent who hangs up while hearing the whisper has not accepted: the
// caller goes on to the agent's voicemail at once, without waiting for the
// accept timeout (R-IN-4, R-IN-7).
func TestAgentHangsUpDuringWhisper(t *testing.T) {
	gw, _ := mediaGateway(t, "  press_one_to_claim: true\n", func(b *sip.Backend) { b.Calls.AcceptTimeout = 5 * time.Second })
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk, done := whisperedCall(t, gw, alice)
	alice.mu.Lock()
	d := alice.dialogs[len(alice.dialogs)-1]
	alice.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("alice's BYE: %v", err)
	}
	var r callResult
	select {
	case r = <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("the caller was not answered by voicemail after the agent hung up")
	}
	if r.err != nil {
		t.Fatalf("call: %v", r.err)
	}
	eventually(t, "the voicemail greeting", func() bool { return startsWith(trunk.rtp.got(), tone(800, 300)) })
	if err := r.sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if rec := closedRecord(t, gw); rec.Result != billing.ResultVoicemail || rec.Username != "alice" {
		t.Errorf("record %s by %q, want voicemail of alice", rec.Result, rec.Username)
	}
}

// A caller who hangs up while the agent hears the whisper: the agent's leg
// is ended and the call is recorded as cancelled, not sent to voicemail.
func TestCallerHangsUpDuringWhisper(t *testing.T) {
	gw, _ := mediaGateway(t, "  press_one_to_claim: true\n", nil)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk, done := whisperedCall(t, gw, alice)
	trunk.hangupRinging()
	if r := <-done; r.err == nil {
		t.Fatal("the cancelled call was answered")
	}
	eventually(t, "BYE to the whispered agent", func() bool { return alice.byes.Load() == 1 })
	if r := closedRecord(t, gw); r.Result != billing.ResultCancelled || r.RecordingID != 0 {
		t.Errorf("record %s recording %d, want cancelled and nothing recorded", r.Result, r.RecordingID)
	}
}
