package sip_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/internal/testlog"
	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/sip"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// The team the call tests use: alice and bob have SIP logins, alice a
// personal number, bob is the buyer agent of one lead.
const gatewayTeam = `
settings:
  ring_timeout_seconds: 5
users:
  - {username: maria, name: Maria, role: primary_manager}
  - {username: alice, name: Alice Smith, role: agent, sip_password: alice-pw-1, dialer_access: true}
  - {username: bob, name: Bob Jones, role: agent, sip_password: bob-pw-22}
numbers:
  - {number: "+15125550100", kind: role, role: buyer}
  - {number: "+15125550110", kind: personal, owner: alice}
leads:
  - {phones: ["+17375550001"], name: Known Lead, agents: {buyer: bob}}
`

// gateway is a SIP server with the whole backend on SQLite.
type gateway struct {
	*testServer
	store *store.Store
	dir   *directory.Service
	media *media.Engine
	// recordingLog is the recording service's log (mediaGateway).
	recordingLog *testlog.Buffer
}

// startGateway runs a gateway whose trunk is everything from 127.0.0.2
// ("carrier" also sends calls out to trunkProxy when it is set).
func startGateway(t *testing.T, team string, trunkProxy string) *gateway {
	t.Helper()
	trunk := sip.Trunk{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource, Outbound: true}
	if trunkProxy != "" {
		trunk.Proxy = trunkProxy
	}
	return startGatewayWith(t, team, func(b *sip.Backend) { b.Trunks = []sip.Trunk{trunk} })
}

// startGatewayWith runs a gateway with the team applied and the backend
// adjusted by tweak.
func startGatewayWith(t *testing.T, team string, tweak func(*sip.Backend)) *gateway {
	t.Helper()
	return startGatewayOn(t, team, tweak, loopback)
}

// startGatewayOn is startGatewayWith on the given listeners, with extra
// server options (TLS).
func startGatewayOn(t *testing.T, team string, tweak func(*sip.Backend), listeners []sip.Listener, opts ...sip.Option) *gateway {
	t.Helper()
	st := storetest.Open(t, store.DriverSQLite)
	phones, err := directory.NewPhones("US")
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.NewService(st, phones, directory.WithRealm(sip.DefaultRealm))
	f, err := directory.ParseFile(strings.NewReader(team))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Apply(context.Background(), f, false); err != nil {
		t.Fatal(err)
	}
	mediaCfg := media.Config{
		BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 31000, PortMax: 31999, Quarantine: 50 * time.Millisecond,
	}
	cache := directory.NewReadCache(dir, 2*time.Second)
	b := sip.Backend{
		Directory: cache, Phones: phones, Router: router.New(cache, st), Contacts: st, Records: st,
		MediaIP: netip.MustParseAddr("127.0.0.1"), Node: "test-node",
		Calls: sip.CallConfig{InviteTimeout: 2 * time.Second, DrainTimeout: 2 * time.Second, CallerIDHeader: "X-Teamline-Caller-ID"},
	}
	if tweak != nil {
		tweak(&b)
	}
	if b.Media == nil {
		if b.Media, err = media.NewEngine(slog.New(slog.DiscardHandler), mediaCfg); err != nil {
			t.Fatal(err)
		}
	}
	eng := b.Media
	// Registered before the server's own cleanup, so it runs after the
	// server has stopped: every call's ports must be back by then.
	t.Cleanup(func() {
		if n := eng.PortsInUse(); n != 0 {
			t.Errorf("media ports still in use after the gateway stopped: %d", n)
		}
		_ = eng.Close()
	})
	srv := startServer(t, sip.TelephonyFunc(cache.TelephonyEnabled), listeners, append(opts, sip.WithBackend(b))...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", srv.logs)
		}
	})
	return &gateway{testServer: srv, store: st, dir: dir, media: eng}
}

// phone is a softphone on its own UDP port: it registers and answers.
type phone struct {
	t       *testing.T
	ua      *sipgo.UserAgent
	client  *sipgo.Client
	conn    net.PacketConn
	addr    string
	rtp     *rtpPeer
	answer  atomic.Value // "answer", "busy", "ignore", "early", "early-twice", ...
	invites atomic.Int32
	// froms are the From headers of the INVITEs the phone got.
	froms   []gosip.FromHeader
	mu      sync.Mutex
	dialogs []*sipgo.DialogServerSession
	byes    atomic.Int32
	cancels atomic.Int32
	options atomic.Int32
	// authorizations counts INVITEs that came with credentials.
	authorizations atomic.Int32
	// holds lists the direction of each re-INVITE the phone answered;
	// infos the bodies of INFO requests it got.
	holds []media.Direction
	infos []string
	// notifies are the bodies of NOTIFY requests it got (message waiting).
	notifies []string
	// registers receives the REGISTERs the phone gets (as a carrier).
	registers chan *gosip.Request
	srv       *sipgo.Server
	// cancelCall cancels the call being placed (CANCEL).
	cancelCall context.CancelFunc
	// provisionals are the 1xx responses to the calls the phone placed.
	provisionals []*gosip.Response
}

// hangupRinging cancels the call this phone is placing.
func (p *phone) hangupRinging() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancelCall != nil {
		p.cancelCall()
	}
}

// newPhone starts a phone bound to ip (127.0.0.1 for phones, 127.0.0.2 for
// the trunk), on a free port or on the one ip names (ip:port).
func newPhone(t *testing.T, ip string, uaOpts ...sipgo.UserAgentOption) *phone {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(append([]sipgo.UserAgentOption{sipgo.WithUserAgent("test-phone"),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(quiet))}, uaOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(ip, "0")
	if h, _, err := net.SplitHostPort(ip); err == nil {
		addr, ip = ip, h // a port of the test's choosing
	}
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{t: t, ua: ua, conn: conn, addr: conn.LocalAddr().String(), rtp: newRTPPeer(t, ip)}
	p.answer.Store("answer")
	host, port, _ := net.SplitHostPort(p.addr)
	var portN int
	fmt.Sscan(port, &portN)
	p.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(portN),
		sipgo.WithClientConnectionAddr(p.addr), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	p.srv = srv
	contact := gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "phone", Host: host, Port: portN}}
	dua := &sipgo.DialogUA{Client: p.client, ContactHDR: contact}
	srv.OnInvite(func(req *gosip.Request, tx gosip.ServerTransaction) {
		if to := req.To(); to != nil && to.Params.Has("tag") {
			p.reinvite(req, tx)
			return
		}
		p.invites.Add(1)
		if f := req.From(); f != nil {
			p.mu.Lock()
			p.froms = append(p.froms, *f)
			p.mu.Unlock()
		}
		d, err := dua.ReadInvite(req, tx)
		if err != nil {
			return
		}
		switch p.answer.Load() {
		case "unavailable":
			_ = d.Respond(503, "Service Unavailable", nil)
			return
		case "challenge":
			if req.GetHeader("Proxy-Authorization") == nil {
				chal := gosip.NewHeader("Proxy-Authenticate", `Digest realm="carrier", nonce="abc123", algorithm=MD5`)
				_ = d.Respond(407, "Proxy Authentication Required", nil, chal)
				return
			}
			p.authorizations.Add(1)
		case "busy":
			_ = d.Respond(486, "Busy Here", nil)
			return
		case "ignore":
			tx.OnCancel(func(*gosip.Request) { p.cancels.Add(1) })
			_ = d.Respond(180, "Ringing", nil)
			<-tx.Done()
			return
		}
		off, _ := media.ParseSDP(req.Body())
		p.rtp.setRemote(netip.AddrPortFrom(off.Addr, off.Port))
		if how := p.answer.Load(); how == "early" || how == "early-twice" {
			// Early media: 183 with SDP, audio, then the answer
			// ("early-twice": the 183 again before the answer).
			_ = d.Respond(183, "Session Progress", []byte(p.rtp.sdp()), gosip.NewHeader("Content-Type", "application/sdp"))
			p.rtp.send(p.t, 10)
			time.Sleep(100 * time.Millisecond)
			if how == "early-twice" {
				_ = d.Respond(183, "Session Progress", []byte(p.rtp.sdp()), gosip.NewHeader("Content-Type", "application/sdp"))
				time.Sleep(50 * time.Millisecond)
			}
		} else {
			_ = d.Respond(180, "Ringing", nil)
		}
		p.mu.Lock()
		p.dialogs = append(p.dialogs, d)
		p.mu.Unlock()
		_ = d.RespondSDP([]byte(p.rtp.sdp()))
	})
	srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, d := range p.dialogs {
			_ = d.ReadAck(req, tx)
		}
	})
	p.registers = make(chan *gosip.Request, 16)
	srv.OnRegister(func(req *gosip.Request, tx gosip.ServerTransaction) {
		if req.GetHeader("Authorization") == nil {
			res := gosip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(gosip.NewHeader("WWW-Authenticate", `Digest realm="carrier", nonce="n1", algorithm=MD5, qop="auth"`))
			_ = tx.Respond(res)
			return
		}
		select {
		case p.registers <- req:
		default:
		}
		res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(gosip.NewHeader("Expires", "120"))
		_ = tx.Respond(res)
	})
	srv.OnOptions(func(req *gosip.Request, tx gosip.ServerTransaction) {
		p.options.Add(1)
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnInfo(func(req *gosip.Request, tx gosip.ServerTransaction) {
		p.mu.Lock()
		p.infos = append(p.infos, string(req.Body()))
		p.mu.Unlock()
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnNotify(func(req *gosip.Request, tx gosip.ServerTransaction) {
		p.mu.Lock()
		p.notifies = append(p.notifies, string(req.Body()))
		p.mu.Unlock()
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
		p.byes.Add(1)
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	done := make(chan struct{})
	reading := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeUDP(readSignal{conn, sync.OnceFunc(func() { close(reading) })})
	}()
	<-reading
	// Stop reading first, give handlers already running a moment, then
	// close the user agent: a request still being answered when the agent
	// closed made sipgo open a socket that outlived it.
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
		time.Sleep(20 * time.Millisecond)
		_ = ua.Close()
	})
	return p
}

// register registers the phone as user with password over UDP.
func (p *phone) register(gw *gateway, user, password string, expires int) *gosip.Response {
	p.t.Helper()
	return p.registerOver(gw, "udp", user, password, expires)
}

// registerOver registers over transport ("udp" or "tcp"); over TCP the
// gateway reaches the phone on the connection the phone opened.
func (p *phone) registerOver(gw *gateway, transport, user, password string, expires int) *gosip.Response {
	p.t.Helper()
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: portOf(gw.Addr(transport))})
	req.SetTransport(strings.ToUpper(transport))
	req.AppendHeader(&gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}})
	fh := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}, Params: gosip.NewParams()}
	fh.Params.Add("tag", gosip.GenerateTagN(8))
	req.AppendHeader(fh)
	host, port, _ := net.SplitHostPort(p.addr)
	params := ""
	if transport != "udp" {
		params = ";transport=" + transport
	}
	req.AppendHeader(gosip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s:%s%s>;expires=%d", user, host, port, params, expires)))
	req.SetDestination(gw.Addr(transport))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("REGISTER: %v", err)
	}
	if res.StatusCode == 401 {
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
		if err != nil {
			p.t.Fatalf("REGISTER with credentials: %v", err)
		}
	}
	return res
}

// call places a call from this phone (as a trunk or agent) to user@gw.
func (p *phone) call(gw *gateway, to, from string, auth *sipgo.DigestAuth, headers ...gosip.Header) (*sipgo.DialogClientSession, error) {
	return p.callWith(gw, to, from, auth, "application/sdp", p.rtp.sdp(), headers...)
}

// callWith is call with the INVITE's body and its type given.
func (p *phone) callWith(gw *gateway, to, from string, auth *sipgo.DigestAuth, contentType, body string, headers ...gosip.Header) (*sipgo.DialogClientSession, error) {
	host, port, _ := net.SplitHostPort(p.addr)
	var portN int
	fmt.Sscan(port, &portN)
	dua := &sipgo.DialogUA{Client: p.client, ContactHDR: gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "caller", Host: host, Port: portN}}}
	req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: to, Host: "127.0.0.1", Port: portOf(gw.Addr("udp"))})
	fh := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: from, Host: host}, Params: gosip.NewParams()}
	fh.Params.Add("tag", gosip.GenerateTagN(8))
	req.AppendHeader(fh)
	req.AppendHeader(gosip.NewHeader("Content-Type", contentType))
	for _, h := range headers {
		req.AppendHeader(h)
	}
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p.mu.Lock()
	p.cancelCall = cancel
	p.mu.Unlock()
	sess, err := dua.WriteInvite(ctx, req)
	if err != nil {
		return nil, err
	}
	opts := sipgo.AnswerOptions{OnResponse: func(res *gosip.Response) error {
		if res.IsProvisional() {
			p.mu.Lock()
			p.provisionals = append(p.provisionals, res)
			p.mu.Unlock()
		}
		return nil
	}}
	if auth != nil {
		opts.Username, opts.Password = auth.Username, auth.Password
	}
	if err := sess.WaitAnswer(ctx, opts); err != nil {
		return nil, err
	}
	ans, err := media.ParseSDP(sess.InviteResponse.Body())
	if err != nil {
		return nil, err
	}
	p.rtp.setRemote(netip.AddrPortFrom(ans.Addr, ans.Port))
	return sess, sess.Ack(ctx)
}

func portOf(addr string) int {
	ap := netip.MustParseAddrPort(addr)
	return int(ap.Port())
}

// rtpPeer sends and counts G.711 RTP on its own socket.
type rtpPeer struct {
	conn     *net.UDPConn
	remote   atomic.Value // netip.AddrPort
	received atomic.Int32
	notPCMU  atomic.Int32 // packets with a payload type other than 0
	done     chan struct{}
	// noEvents leaves telephone-event out of the peer's SDP.
	noEvents atomic.Bool

	mu      sync.Mutex
	packets []gotPacket // what arrived, in order
	seq     uint16      // of what sendPayload sends
	ts      uint32
}

// gotPacket is one RTP packet an rtpPeer received.
type gotPacket struct {
	pt      uint8
	marker  bool
	payload []byte
}

func newRTPPeer(t *testing.T, ip string) *rtpPeer {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	r := &rtpPeer{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 1500)
		for {
			n, _, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[0]>>6 == 2 {
				r.mu.Lock()
				r.packets = append(r.packets, gotPacket{pt: buf[1] & 0x7f, marker: buf[1]&0x80 != 0, payload: append([]byte(nil), buf[12:n]...)})
				r.mu.Unlock()
				r.received.Add(1)
				if buf[1]&0x7f != 0 {
					r.notPCMU.Add(1)
				}
			}
		}
	}()
	t.Cleanup(func() { _ = conn.Close(); <-r.done })
	return r
}

func (r *rtpPeer) setRemote(ap netip.AddrPort) { r.remote.Store(ap) }

func (r *rtpPeer) sdp() string {
	ap := netip.MustParseAddrPort(r.conn.LocalAddr().String())
	if r.noEvents.Load() {
		return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
			ap.Addr(), ap.Addr(), ap.Port())
	}
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
		ap.Addr(), ap.Addr(), ap.Port())
}

// send sends n 20 ms PCMU packets to the remote.
func (r *rtpPeer) send(t *testing.T, n int) {
	t.Helper()
	ap, _ := r.remote.Load().(netip.AddrPort)
	if !ap.IsValid() {
		t.Fatal("rtp peer has no remote")
	}
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	binary.BigEndian.PutUint32(pkt[8:], 0x1234)
	for i := range n {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		if _, err := r.conn.WriteToUDPAddrPort(pkt, ap); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// closedRecord waits until the newest call record is closed and returns it.
func closedRecord(t *testing.T, gw *gateway) billing.CallRecord {
	t.Helper()
	eventually(t, "call record closed", func() bool { return !lastRecord(t, gw).End.IsZero() })
	return lastRecord(t, gw)
}

// lastRecord returns the newest call record.
func lastRecord(t *testing.T, gw *gateway) billing.CallRecord {
	t.Helper()
	rs, err := gw.store.ListCallRecords(context.Background(), billing.CallFilter{Limit: 1000})
	if err != nil || len(rs) == 0 {
		t.Fatalf("call records: %v (%d)", err, len(rs))
	}
	return rs[len(rs)-1]
}

func TestInboundCallToPersonalNumber(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := newPhone(t, "127.0.0.1")
	if res := alice.register(gw, "alice", "alice-pw-1", 300); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v\n%s", err, gw.logs)
	}
	trunk.rtp.send(t, 20)
	alice.rtp.send(t, 20)
	eventually(t, "RTP at both ends", func() bool {
		return alice.rtp.received.Load() >= 15 && trunk.rtp.received.Load() >= 15
	})
	hangup(t, sess)
	eventually(t, "BYE relayed to alice", func() bool { return alice.byes.Load() == 1 })
	r := closedRecord(t, gw)
	if r.Result != billing.ResultAnswered || r.Username != "alice" || r.Direction != billing.Inbound ||
		r.Dialed != "+15125550110" || r.NumberKind != "personal" || r.Trunk != "carrier" || r.SIPReason != "BYE from caller" {
		t.Errorf("record = %+v", r)
	}
}

// readSignal tells when sipgo first reads: from then on its connection is
// in the pool, and requests leave from the phone's port.
type readSignal struct {
	net.PacketConn
	signal func()
}

func (r readSignal) ReadFrom(b []byte) (int, net.Addr, error) {
	r.signal()
	return r.PacketConn.ReadFrom(b)
}

// reinvite answers a re-INVITE: the answer mirrors the offered direction
// (RFC 3264 6.1).
func (p *phone) reinvite(req *gosip.Request, tx gosip.ServerTransaction) {
	d, err := media.ParseSDP(req.Body())
	if err != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	p.mu.Lock()
	p.holds = append(p.holds, d.Direction)
	p.mu.Unlock()
	dir := "sendrecv"
	switch d.Direction {
	case media.Sendonly:
		dir = "recvonly"
	case media.Inactive:
		dir = "inactive"
	}
	body := strings.Replace(p.rtp.sdp(), "a=sendrecv", "a="+dir, 1)
	res := gosip.NewResponseFromRequest(req, 200, "OK", []byte(body))
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	_ = tx.Respond(res)
}

// inDialog sends a request of method with body within sess and returns
// the final response.
func inDialog(t *testing.T, sess *sipgo.DialogClientSession, method gosip.RequestMethod, contentType, body string) *gosip.Response {
	t.Helper()
	req := gosip.NewRequest(method, sess.InviteResponse.Contact().Address)
	if body != "" {
		req.AppendHeader(gosip.NewHeader("Content-Type", contentType))
		req.SetBody([]byte(body))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := sess.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if method == gosip.INVITE && res.IsSuccess() {
		ack := gosip.NewRequest(gosip.ACK, req.Recipient)
		if err := sess.WriteRequest(ack); err != nil {
			t.Fatalf("ACK: %v", err)
		}
	}
	return res
}

// trunkSource is where the test carrier's calls come from.
var trunkSource = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}

// invite sends one INVITE to number@gw and returns the final response (nil
// if none came).
func (p *phone) invite(t *testing.T, gw *gateway, number string) *gosip.Response {
	t.Helper()
	return p.inviteWithBody(t, gw, number, offer)
}

// inviteWithBody is invite with the given SDP body.
func (p *phone) inviteWithBody(t *testing.T, gw *gateway, number, body string) *gosip.Response {
	t.Helper()
	req := newInvite(t, "udp", gw.Addr("udp"))
	req.Recipient.User = number
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil {
		return nil
	}
	return res
}

// serveTCP makes the phone (a carrier, say) also take SIP over TCP and
// returns the address.
func (p *phone) serveTCP(t *testing.T) string {
	t.Helper()
	host, _, _ := net.SplitHostPort(p.addr)
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = p.srv.ServeTCP(ln) }()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}
