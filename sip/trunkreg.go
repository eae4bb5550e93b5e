package sip

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// Registration with carriers that want it (trunks with Register): the
// gateway REGISTERs its contact with the carrier, answers the digest
// challenge, refreshes the binding before it expires and retries with
// backoff when the carrier refuses or does not answer. On shutdown it
// removes the binding (Expires: 0).

// Retry backoff after a failed registration.
var (
	trunkRetryMin = 30 * time.Second
	trunkRetryMax = 5 * time.Minute
)

// registerTrunks runs one registration loop per trunk that registers, until
// ctx is done.
func (s *Server) registerTrunks(ctx context.Context, run func(func())) {
	b := s.opts.backend
	for i := range b.Trunks {
		t := &b.Trunks[i]
		if t.Register {
			run(func() { s.trunkRegistration(ctx, t) })
		}
	}
}

func (s *Server) trunkRegistration(ctx context.Context, t *Trunk) {
	log := s.log.With("trunk", t.Name)
	gauge := s.metrics.trunkRegistered.WithLabelValues(t.Name)
	retry := trunkRetryMin
	registered := false
	for {
		expires, err := s.registerTrunk(ctx, t, t.RegisterExpires)
		wait := retry
		switch {
		case ctx.Err() != nil:
		case err != nil:
			gauge.Set(0)
			log.Warn("trunk registration failed; retrying", "error", err, "retry_in", retry.String())
			registered = false
			retry = min(2*retry, trunkRetryMax)
		default:
			gauge.Set(1)
			if !registered {
				log.Info("trunk registered", "expires", expires.String())
			}
			registered = true
			retry = trunkRetryMin
			// Refresh well before expiry (RFC 3261 10.2.4 leaves the
			// margin to the UA).
			wait = max(expires*8/10, time.Second)
		}
		select {
		case <-ctx.Done():
			gauge.Set(0)
			if registered {
				uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if _, err := s.registerTrunk(uctx, t, 0); err != nil {
					log.Debug("trunk un-registration failed", "error", err)
				}
				cancel()
			}
			return
		case <-time.After(wait):
		}
	}
}

// errTrunkRefused carries the carrier's final answer to a REGISTER.
type errTrunkRefused struct{ res *gosip.Response }

func (e *errTrunkRefused) Error() string {
	return "carrier answered " + strconv.Itoa(e.res.StatusCode) + " " + e.res.Reason
}

// registerTrunk sends one REGISTER (with digest if challenged) and returns
// the expiry the carrier granted.
func (s *Server) registerTrunk(ctx context.Context, t *Trunk, expires time.Duration) (time.Duration, error) {
	cl := s.client(t.Transport)
	if cl == nil {
		return 0, &reply{code: 500, reason: "no " + t.Transport + " listener for trunk " + t.Name}
	}
	req := s.trunkRegisterRequest(t, expires)
	ctx, cancel := context.WithTimeout(ctx, 32*time.Second)
	defer cancel()
	res, err := cl.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	if (res.StatusCode == 401 || res.StatusCode == 407) && t.Password != "" {
		res, err = cl.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: t.Username, Password: t.Password})
		if err != nil {
			return 0, err
		}
	}
	if !res.IsSuccess() {
		return 0, &errTrunkRefused{res: res}
	}
	return grantedExpiry(res, expires), nil
}

func (s *Server) trunkRegisterRequest(t *Trunk, expires time.Duration) *gosip.Request {
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: t.host, Port: t.port})
	aor := gosip.Uri{Scheme: "sip", User: t.Username, Host: t.FromDomain}
	from := &gosip.FromHeader{Address: aor, Params: gosip.NewParams()}
	from.Params.Add("tag", gosip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: aor})
	host := s.contactHost(t.Transport)
	port := portOfAddr(s.Addr(t.Transport))
	contact := gosip.Uri{Scheme: "sip", User: t.Username, Host: host, Port: port}
	if t.Transport != "udp" {
		contact.UriParams = gosip.NewParams()
		contact.UriParams.Add("transport", t.Transport)
	}
	req.AppendHeader(&gosip.ContactHeader{Address: contact})
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.SetTransport(strings.ToUpper(t.Transport))
	return req
}

// grantedExpiry reads the expiry the registrar granted: our Contact's
// expires parameter, else Expires, else what we asked for.
func grantedExpiry(res *gosip.Response, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		if c, ok := h.(*gosip.ContactHeader); ok {
			if v, ok := c.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

func portOfAddr(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0
	}
	p, _ := strconv.Atoi(addr[i+1:])
	return p
}
