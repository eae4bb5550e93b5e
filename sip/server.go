package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/directory"
)

// Server is the SIP side of the gateway: its listeners, sipgo's transport and
// transaction layers on them, and the request handlers. Create it with
// NewServer, start it with Run; a Server runs once.
type Server struct {
	log       *slog.Logger
	tel       Telephony
	opts      options
	listeners []Listener
	tlsConf   *tls.Config

	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	metrics *metrics
	methods map[gosip.RequestMethod]methodHandler
	flight  inflight
	nonces  *nonces
	guard   *guard
	calls   *callTable
	edge    *edge

	// streamAddrs are the bound TCP and TLS listeners (isListener).
	streamAddrs atomic.Pointer[[]netip.AddrPort]

	started  atomic.Bool
	ready    chan struct{}
	draining atomic.Bool // see shutdown
	// callsDraining: new calls get 503 while the calls in progress end.
	callsDraining atomic.Bool

	mu      sync.Mutex
	addrs   []Listener
	clients map[string]*sipgo.Client // by transport; see boundListener.clientOptions
	// dialogUAs build and send in-dialog requests, by transport.
	dialogUAs map[string]*sipgo.DialogUA
}

// NewServer checks the listeners and options and prepares the server; it
// binds nothing (Run does). tel is asked on every INVITE whether calls are
// taken. A nil log discards logs.
func NewServer(log *slog.Logger, listeners []Listener, tel Telephony, opts ...Option) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if tel == nil {
		return nil, errors.New("sip: NewServer needs a Telephony")
	}
	if len(listeners) == 0 {
		return nil, errors.New("sip: no listeners")
	}
	s := &Server{
		log:       log,
		tel:       tel,
		opts:      options{userAgent: DefaultUserAgent, realm: DefaultRealm},
		ready:     make(chan struct{}),
		clients:   make(map[string]*sipgo.Client),
		dialogUAs: make(map[string]*sipgo.DialogUA),
	}
	for _, o := range opts {
		if err := o(&s.opts); err != nil {
			return nil, err
		}
	}
	needTLS := false
	for _, l := range listeners {
		n, err := l.normalize()
		if err != nil {
			return nil, err
		}
		if slices.Contains(s.listeners, n) {
			return nil, fmt.Errorf("sip: listener %s given twice", n)
		}
		s.listeners = append(s.listeners, n)
		needTLS = needTLS || n.Transport == "tls"
	}
	if needTLS {
		if s.opts.certFile == "" {
			return nil, errors.New("sip: a tls listener needs a certificate: use WithTLS")
		}
		cert, err := tls.LoadX509KeyPair(s.opts.certFile, s.opts.keyFile)
		if err != nil {
			return nil, fmt.Errorf("sip: tls certificate: %w", err)
		}
		s.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.metrics = newMetrics(s.registrationCount)
	s.edge = newEdge(s.opts.limits, s.opts.userAgent, log)
	if b := s.opts.backend; b != nil {
		for i := range b.Trunks {
			if t := &b.Trunks[i]; t.InboundUsername != "" {
				t.inboundHA1 = directory.HA1(t.InboundUsername, s.opts.realm, t.InboundPassword)
			}
		}
		s.nonces = newNonces(b.Registrar.NonceLifetime, b.Registrar.DigestAlgorithms, b.Now)
		s.guard = newGuard(b.Registrar.MaxAuthFailures, b.Registrar.FailureWindow, b.Registrar.BlockDuration, b.Now)
	}
	s.calls = newCallTable()
	if err := s.newUA(); err != nil {
		return nil, err
	}
	return s, nil
}

// newUA builds the sipgo user agent and server and registers the handlers.
func (s *Server) newUA() error {
	sipgoLog := newSipgoLogger(s.log)
	// The host of From URIs sipgo fills in on requests we originate; the
	// B2BUA will set From itself per trunk.
	domain := s.opts.advertise
	if domain == "" {
		domain = "localhost"
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(s.opts.userAgent),
		sipgo.WithUserAgentHostname(domain),
		sipgo.WithUserAgentTransportLayerOptions(
			gosip.WithTransportLayerLogger(sipgoLog),
			gosip.WithTransportLayerReadFilter(s.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			gosip.WithTransactionLayerLogger(sipgoLog),
			// Retransmitted final responses to transactions already gone;
			// sipgo's default logs them at Info through the global logger.
			gosip.WithTransactionLayerUnhandledResponseHandler(func(r *gosip.Response) {
				s.log.Debug("sip response without transaction", "call_id", callID(r), "status", r.StatusCode)
			}),
		),
	)
	if err != nil {
		return fmt.Errorf("sip: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipgoLog))
	if err != nil {
		_ = ua.Close()
		return fmt.Errorf("sip: server: %w", err)
	}
	s.ua, s.srv = ua, srv
	s.methods = s.methodTable()
	for m := range s.methods {
		srv.OnRequest(m, s.serveRequest)
	}
	srv.OnAck(s.serveAck)
	srv.OnNoRoute(s.serveRequest) // unknown methods: 405
	return nil
}

// Run binds all listeners, serves until ctx is cancelled, then shuts down and
// returns nil. It returns an error naming the transport and address if a
// listener cannot be bound (port in use, address not on this host), and the
// error of a listener that fails while serving. When Run returns, every
// socket is closed and no goroutine of the server is left.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("sip: server already started")
	}
	// Normally shutdown closes the user agent; this covers the early returns.
	closeUA := sync.OnceValue(s.ua.Close)
	defer closeUA()
	if ctx.Err() != nil {
		return nil // cancelled before it started: nothing to serve
	}

	bound, err := s.bindAll(ctx)
	if err != nil {
		return err
	}
	if err := s.newClients(bound); err != nil {
		closeAll(bound)
		return err
	}

	// Calls outlive the context that stops serving: on cancel, new calls
	// get 503 while those in progress run on for the drain timeout.
	parent := ctx
	var wgBackground sync.WaitGroup
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	s.flight.open(ctx)
	if b := s.opts.backend; b != nil {
		s.recoverRecords(ctx)
		wgBackground.Go(func() { s.keepalives(ctx) })
	}

	errc := make(chan error, len(bound))
	var wg sync.WaitGroup
	for _, b := range bound {
		wg.Go(func() {
			err := b.serve(s.srv)
			if ctx.Err() != nil {
				return // we closed it
			}
			// sipgo's UDP serve returns nil on a read error: any return
			// before shutdown is a dead listener.
			if err == nil {
				err = errors.New("serve returned")
			}
			errc <- fmt.Errorf("sip: %s listener %s stopped: %w", b.Transport, b.Address, err)
		})
	}
	runErr := s.awaitServing(parent, bound, errc)
	if runErr == nil && parent.Err() == nil {
		if s.opts.backend != nil {
			s.registerTrunks(ctx, wgBackground.Go)
		}
		close(s.ready)
		select {
		case <-parent.Done():
		case runErr = <-errc:
		}
	}
	s.drainCalls()
	cancel()
	wgBackground.Wait()
	s.shutdown(bound, closeUA)
	wg.Wait()
	s.log.Info("sip stopped")
	return runErr
}

// drainSettle is how long shutdown lets sipgo's last goroutines run after
// input stopped. They are already runnable and do microseconds of work.
const drainSettle = 50 * time.Millisecond

// shutdown stops serving, in an order forced by sipgo v1.7: it hands every
// message to a goroutine of its own that nobody can wait for. One that runs
// after the user agent closed finds its connection gone and opens a new
// socket, which then outlives Run (and over TCP would dial the peer). So
// input stops first, those goroutines get time to finish, and only then does
// sipgo close:
//
//  1. TCP/TLS listeners close: no new connections.
//  2. The gate closes: new requests get 503; requests in progress finish,
//     their responses still go out on the open sockets.
//  3. draining: the read filter drops everything read from now on, so no
//     new sipgo goroutine starts.
//  4. drainSettle: the goroutines started before run out, onto existing
//     transactions or the closed gate.
//  5. The user agent closes: transactions end, TCP/TLS connections close.
//  6. UDP sockets close, which ends their readers (serve goroutines).
func (s *Server) shutdown(bound []*boundListener, closeUA func() error) {
	for _, b := range bound {
		if b.stream != nil {
			_ = b.close()
		}
	}
	s.flight.closeAndWait()
	s.draining.Store(true)
	time.Sleep(drainSettle)
	if err := closeUA(); err != nil {
		s.log.Debug("sip user agent closed with error", "error", err)
	}
	for _, b := range bound {
		if b.packet != nil {
			_ = b.close()
		}
	}
}

// readFilter sees every datagram and TCP read before sipgo parses it; once
// the server drains, it drops them. What listeners read has passed the
// intake already (edge.go); reads of connections the gateway opened itself
// (to a trunk over TCP or TLS) pass it here.
func (s *Server) readFilter(p gosip.TransportReadProps, data []byte) ([]byte, error) {
	if s.draining.Load() {
		return nil, nil
	}
	if p.Transport == "UDP" || s.isListener(p.LocalAddr) {
		return data, nil
	}
	return s.edge.dialed(p, data), nil
}

// isListener reports whether addr is one of the bound stream listeners:
// the local end of every connection they accepted. It runs on every TCP
// read, so it compares against the addresses bindAll noted once.
func (s *Server) isListener(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	ap := ta.AddrPort()
	for _, lp := range *s.streamAddrs.Load() {
		if lp.Port() == ap.Port() && (lp.Addr().IsUnspecified() || lp.Addr() == ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

// awaitServing waits until sipgo serves every listener, so that Ready means
// requests can be sent as well as received. It returns early on a listener
// error or when ctx is done.
func (s *Server) awaitServing(ctx context.Context, bound []*boundListener, errc <-chan error) error {
	for _, b := range bound {
		select {
		case <-b.serving:
			s.log.Info("sip listening", "transport", b.Transport, "address", b.Address, "advertise", s.opts.advertise)
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// bindAll binds every listener or none.
func (s *Server) bindAll(ctx context.Context) ([]*boundListener, error) {
	bound := make([]*boundListener, 0, len(s.listeners))
	addrs := make([]Listener, 0, len(s.listeners))
	for _, l := range s.listeners {
		b, err := bind(ctx, l, s.tlsConf, s.edge)
		if err != nil {
			closeAll(bound)
			return nil, err
		}
		bound = append(bound, b)
		addrs = append(addrs, b.Listener)
	}
	s.mu.Lock()
	s.addrs = addrs
	s.mu.Unlock()
	var streams []netip.AddrPort
	for _, l := range addrs {
		if ap, err := netip.ParseAddrPort(l.Address); err == nil && l.Transport != "udp" {
			streams = append(streams, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
		}
	}
	s.streamAddrs.Store(&streams)
	return bound, nil
}

func closeAll(bound []*boundListener) {
	for _, b := range bound {
		_ = b.close()
	}
}

// newClients creates the sipgo client for each transport, bound to the
// first listener of that transport.
func (s *Server) newClients(bound []*boundListener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bound {
		if _, ok := s.clients[b.Transport]; ok {
			continue
		}
		opts, err := b.clientOptions(s.opts.advertise)
		if err != nil {
			return fmt.Errorf("sip: client for %s: %w", b.Listener, err)
		}
		opts = append(opts, sipgo.WithClientLogger(newSipgoLogger(s.log)))
		c, err := sipgo.NewClient(s.ua, opts...)
		if err != nil {
			return fmt.Errorf("sip: client for %s: %w", b.Listener, err)
		}
		s.clients[b.Transport] = c
	}
	return nil
}

// client returns the client that sends requests over transport ("udp",
// "tcp", "tls"), or nil before Run or without such a listener. The B2BUA's
// outgoing legs will use it.
func (s *Server) client(transport string) *sipgo.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients[transport]
}

// Ready is closed once Run has bound every listener and sipgo serves them:
// requests can then be received and sent.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addrs returns the bound listeners, with port 0 resolved to the real port;
// nil before Run has bound them.
func (s *Server) Addrs() []Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.addrs)
}

// Addr returns the first bound address of transport ("udp", "tcp", "tls"),
// or "" if there is none (yet).
func (s *Server) Addr(transport string) string {
	for _, l := range s.Addrs() {
		if l.Transport == transport {
			return l.Address
		}
	}
	return ""
}
