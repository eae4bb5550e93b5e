package media

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQuarantine is how long a released port pair stays unused when
// Config.Quarantine is 0.
const DefaultQuarantine = 3 * time.Second

// Config is what the Engine needs to know about the host.
type Config struct {
	BindIP       netip.Addr    // IP the RTP/RTCP sockets bind to (unspecified or zero = all interfaces)
	PortMin      int           // first RTP port, e.g. 20000 (rounded up to even)
	PortMax      int           // last port of the range
	Quarantine   time.Duration // a released port pair is not reused for this long (DefaultQuarantine when 0)
	MediaTimeout time.Duration // no RTP from either side for this long while neither side is on hold -> the bridge's timeout func (0 = off)

	// GoroutineRelay relays with a goroutine per socket (four per bridge)
	// instead of the epoll workers. It is the only relay off Linux.
	GoroutineRelay bool
	// RelayWorkers is the number of epoll workers (GOMAXPROCS when 0).
	RelayWorkers int
}

// Engine owns the RTP port range, every Bridge, the relay workers and the
// goroutine that watches bridges for media timeouts.
type Engine struct {
	log *slog.Logger
	cfg Config

	mu      sync.Mutex
	pool    *portPool
	bridges map[*Bridge]struct{}
	retired totals // counters of closed bridges, so metrics stay monotonic
	closed  bool

	portsInUse atomic.Int64

	poll *poller // the epoll relay's workers; nil with the goroutine relay

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewEngine checks cfg and starts the media timeout watchdog. No port is
// bound until NewBridge.
func NewEngine(log *slog.Logger, cfg Config) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Quarantine == 0 {
		cfg.Quarantine = DefaultQuarantine
	}
	if cfg.Quarantine < 0 || cfg.MediaTimeout < 0 || cfg.RelayWorkers < 0 {
		return nil, fmt.Errorf("media: negative quarantine, media timeout or relay workers")
	}
	pool, err := newPortPool(cfg.BindIP, cfg.PortMin, cfg.PortMax, cfg.Quarantine)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		log:     log,
		cfg:     cfg,
		pool:    pool,
		bridges: make(map[*Bridge]struct{}),
		stop:    make(chan struct{}),
	}
	if !cfg.GoroutineRelay && epollRelay {
		n := cfg.RelayWorkers
		if n == 0 {
			n = runtime.GOMAXPROCS(0)
		}
		if e.poll, err = newPoller(log, n); err != nil {
			return nil, err
		}
		pool.raw = true
	}
	if cfg.MediaTimeout > 0 {
		e.wg.Add(1)
		go e.watch()
	}
	return e, nil
}

// Close closes every bridge and stops the engine's goroutines. It must not
// be called from a timeout func.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	bs := make([]*Bridge, 0, len(e.bridges))
	for b := range e.bridges {
		bs = append(bs, b)
	}
	e.mu.Unlock()
	for _, b := range bs {
		b.Close()
	}
	close(e.stop)
	e.wg.Wait()
	if e.poll != nil {
		e.poll.close()
	}
	return nil
}

// PortsInUse is the number of ports (RTP and RTCP) bound right now.
// Quarantined pairs are not bound and not counted.
func (e *Engine) PortsInUse() int {
	return int(e.portsInUse.Load())
}

// addBridge binds a port pair for each leg of b and registers b (and its
// sockets with a relay worker).
func (e *Engine) addBridge(b *Bridge) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	now := time.Now()
	for s := range b.legs {
		rtp, rtcp, err := e.pool.alloc(now)
		if err != nil {
			for _, l := range b.legs[:s] {
				l.rtp.Close()
				l.rtcp.Close()
				_ = e.pool.release(int(l.local.Port()), now)
				e.portsInUse.Add(-2)
			}
			return err
		}
		e.portsInUse.Add(2)
		b.legs[s].setConns(rtp, rtcp)
	}
	e.bridges[b] = struct{}{}
	if e.poll != nil {
		e.poll.add(b)
	}
	return nil
}

// removeBridge returns b's ports to quarantine once its goroutines are done.
func (e *Engine) removeBridge(b *Bridge) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	for _, l := range b.legs {
		if err := e.pool.release(int(l.local.Port()), now); err != nil {
			e.log.Error("media: releasing ports", "port", l.local.Port(), "err", err)
		}
		e.portsInUse.Add(-2)
	}
	b.addTotals(&e.retired)
	delete(e.bridges, b)
}

// watch is the media timeout watchdog. It checks often enough that a
// timeout fires within a quarter of MediaTimeout of being due (at most every
// second).
func (e *Engine) watch() {
	defer e.wg.Done()
	every := min(max(e.cfg.MediaTimeout/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	var bs []*Bridge
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			bs = bs[:0]
			e.mu.Lock()
			for b := range e.bridges {
				bs = append(bs, b)
			}
			e.mu.Unlock()
			for _, b := range bs {
				if f := b.checkTimeout(now, e.cfg.MediaTimeout); f != nil {
					b.log.Info("media timeout", "after", e.cfg.MediaTimeout)
					f()
				}
			}
			clear(bs)
		}
	}
}
