//go:build !linux

package media

import (
	"errors"
	"log/slog"
	"net/netip"
)

// epollRelay says whether this platform has the epoll relay: not here, so
// every Engine relays with a goroutine per socket.
const epollRelay = false

var errNoEpoll = errors.New("media: the epoll relay needs Linux")

type poller struct{}

type pollBridge struct{}

func newPoller(*slog.Logger, int) (*poller, error) { return nil, errNoEpoll }

func (*poller) add(b *Bridge)    { b.poll = &pollBridge{} }
func (*poller) remove(b *Bridge) { b.poll = nil }
func (*poller) close()           {}

func listenRaw(netip.Addr, int) (udpConn, error) { return nil, errNoEpoll }
